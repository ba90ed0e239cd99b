from __future__ import annotations

import pytest
import torch
from transformers import AutoTokenizer

from coevolve.models import (
    TemplateError,
    assistant_tokens,
    check_template,
    load_causal_lm,
    load_tokenizer,
    make_tiny_model,
    resolve_model_path,
)
from coevolve.models.chat_templates import CHATML_SMOLLM2, LLAMA2_CHAT

EPISODE = [
    {"role": "user", "content": "Instruction: buy a red shirt."},
    {"role": "assistant", "content": "OK"},
    {"role": "user", "content": "Observation: a search page."},
    {"role": "assistant", "content": "Thought: search first.\nAction: search[red shirt]"},
    {"role": "user", "content": "Observation: results B01, B02."},
    {"role": "assistant", "content": "Action: click[B01]"},
]


def _assistant_text(tokenizer, messages):
    ids, mask = assistant_tokens(tokenizer, messages)
    return tokenizer.decode([i for i, m in zip(ids, mask, strict=True) if m])


def test_load_tokenizer_keeps_the_models_own_template(tiny_model_dir):
    tok = load_tokenizer(str(tiny_model_dir))
    assert tok.chat_template == LLAMA2_CHAT
    assert tok.apply_chat_template(EPISODE, tokenize=False).startswith("<s>[INST] ")
    check_template(tok)


def test_tiny_assistant_mask_covers_assistant_turns_and_eos(tiny_model_dir):
    tok = load_tokenizer(str(tiny_model_dir))
    scored = _assistant_text(tok, EPISODE)
    expected = " ".join(f"{m['content']} </s>" for m in EPISODE if m["role"] == "assistant")
    assert scored.strip() == expected
    assert "Observation" not in scored


def test_tiny_model_loads_with_explicit_dtype(tiny_model_dir):
    model = load_causal_lm(str(tiny_model_dir), dtype="bfloat16")
    assert model.dtype == torch.bfloat16
    assert model.config.hidden_size == 64 and model.config.num_hidden_layers == 2
    assert load_causal_lm(str(tiny_model_dir), device="cpu").dtype == torch.float32


def test_tiny_tokenizer_is_lossless(tiny_model_dir):
    tok = load_tokenizer(str(tiny_model_dir))
    text = "Thought: ünïcode & symbols {x}\n\tAction: search[42]"
    assert tok.decode(tok.encode(text, add_special_tokens=False)) == text
    assert len(tok) <= 512


def test_make_tiny_model_is_deterministic(tmp_path, tiny_model_dir):
    other = make_tiny_model(tmp_path / "again")
    a = load_causal_lm(str(tiny_model_dir))
    b = load_causal_lm(str(other))
    for (name, pa), (_, pb) in zip(a.named_parameters(), b.named_parameters(), strict=True):
        assert torch.equal(pa, pb), name


def test_any_template_is_accepted_and_a_useless_one_is_a_clear_error(tiny_model_dir):
    tok = AutoTokenizer.from_pretrained(tiny_model_dir)
    tok.chat_template = "{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}"
    check_template(tok)  # unknown to any table, still usable
    # no generation prompt: after the prompt the model writes the role header too
    assert _assistant_text(tok, EPISODE[:2]) == "assistant: OK"
    tok.chat_template = "{% for m in messages %}{{ m['role'] }}\n{% endfor %}"  # drops the contents
    with pytest.raises(TemplateError, match="content"):
        check_template(tok)


def test_bad_dtype_and_paths(tiny_model_dir):
    with pytest.raises(ValueError, match="dtype"):
        load_causal_lm(str(tiny_model_dir), dtype="int3")
    assert resolve_model_path(str(tiny_model_dir)) == str(tiny_model_dir)
    assert resolve_model_path("org/some-model") == "org/some-model"


@pytest.mark.slow
def test_smollm2_alias_resolves_offline(smollm2_dir, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert resolve_model_path("smollm2-135m") == str(smollm2_dir)
    tok = load_tokenizer("smollm2-135m")
    raw = AutoTokenizer.from_pretrained(smollm2_dir)
    assert raw.chat_template == CHATML_SMOLLM2
    assert tok.apply_chat_template(EPISODE, tokenize=False) == raw.apply_chat_template(
        EPISODE, tokenize=False
    )
    scored = _assistant_text(tok, EPISODE)
    assert scored == "".join(m["content"] + "<|im_end|>" for m in EPISODE if m["role"] == "assistant")
    model = load_causal_lm("smollm2-135m")
    assert model.dtype == torch.float32
    assert not getattr(model.config, "quantization_config", None)
    assert model.num_parameters() > 100_000_000
