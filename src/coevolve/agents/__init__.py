"""Policies: the model side of an agent, behind one interface with several generation backends."""

from coevolve.agents.base import (
    FINISH_REASONS,
    Generation,
    Policy,
    SamplingConfig,
    SamplingParams,
    backend_names,
    derive_seed,
    make_policy,
    register_policy,
    to_chat,
)

__all__ = [
    "FINISH_REASONS",
    "Generation",
    "Policy",
    "SamplingConfig",
    "SamplingParams",
    "backend_names",
    "derive_seed",
    "make_policy",
    "register_policy",
    "to_chat",
]
