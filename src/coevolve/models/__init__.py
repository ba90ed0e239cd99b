"""Model loading: name resolution (incl. the offline `smollm2-135m` alias), marked chat templates,
and a tiny random model for tests."""

from coevolve.models.chat_templates import install_training_template, training_template
from coevolve.models.loading import as_dtype, load_causal_lm, load_tokenizer, resolve_model_path
from coevolve.models.smollm2 import ALIAS as SMOLLM2_ALIAS
from coevolve.models.smollm2 import smollm2_dir
from coevolve.models.tiny import make_tiny_model

__all__ = [
    "SMOLLM2_ALIAS",
    "as_dtype",
    "install_training_template",
    "load_causal_lm",
    "load_tokenizer",
    "make_tiny_model",
    "resolve_model_path",
    "smollm2_dir",
    "training_template",
]
