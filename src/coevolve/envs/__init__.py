from coevolve.envs.base import Env, EnvError, ExpertStep, StepResult, UnknownName
from coevolve.envs.prompts import PromptTemplate
from coevolve.envs.registry import env_names, get_env_class, make_env, register_env

__all__ = [
    "Env",
    "EnvError",
    "ExpertStep",
    "PromptTemplate",
    "StepResult",
    "UnknownName",
    "env_names",
    "get_env_class",
    "make_env",
    "register_env",
]
