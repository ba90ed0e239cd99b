"""Model loading: name resolution (incl. the offline `smollm2-135m` alias), assistant masks for any
chat template, and a tiny random model for tests."""

from coevolve.models.chat_templates import TemplateError, assistant_tokens, check_template
from coevolve.models.loading import as_dtype, load_causal_lm, load_tokenizer, resolve_model_path
from coevolve.models.smollm2 import ALIAS as SMOLLM2_ALIAS
from coevolve.models.smollm2 import smollm2_dir
from coevolve.models.tiny import make_tiny_model

__all__ = [
    "SMOLLM2_ALIAS",
    "TemplateError",
    "as_dtype",
    "assistant_tokens",
    "check_template",
    "load_causal_lm",
    "load_tokenizer",
    "make_tiny_model",
    "resolve_model_path",
    "smollm2_dir",
]
