from __future__ import annotations

import pytest
import torch
from transformers import AutoTokenizer

from coevolve.models import load_causal_lm, load_tokenizer, make_tiny_model, resolve_model_path
from coevolve.models.chat_templates import (
    CHATML_SMOLLM2,
    LLAMA2_CHAT,
    has_generation_markers,
    training_template,
)

EPISODE = [
    {"role": "user", "content": "Instruction: buy a red shirt."},
    {"role": "assistant", "content": "OK"},
    {"role": "user", "content": "Observation: a search page."},
    {"role": "assistant", "content": "Thought: search first.\nAction: search[red shirt]"},
    {"role": "user", "content": "Observation: results B01, B02."},
    {"role": "assistant", "content": "Action: click[B01]"},
]


def _assistant_text(tokenizer, messages):
    out = tokenizer.apply_chat_template(
        messages, tokenize=True, return_dict=True, return_assistant_tokens_mask=True
    )
    ids = [i for i, m in zip(out["input_ids"], out["assistant_masks"], strict=True) if m]
    return tokenizer.decode(ids)


@pytest.mark.parametrize("with_system", [False, True])
def test_tiny_marked_template_renders_like_original(tiny_model_dir, with_system):
    tok = load_tokenizer(str(tiny_model_dir))
    assert has_generation_markers(tok.chat_template)
    msgs = ([{"role": "system", "content": "Be brief."}] if with_system else []) + EPISODE
    marked = tok.apply_chat_template(msgs, tokenize=False)
    original = tok.apply_chat_template(msgs, tokenize=False, chat_template=LLAMA2_CHAT)
    assert marked == original
    assert original.startswith("<s>[INST] ")


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


def test_unknown_template_without_markers_is_a_clear_error(tiny_model_dir):
    tok = AutoTokenizer.from_pretrained(tiny_model_dir)
    tok.chat_template = "{% for m in messages %}{{ m['content'] }}{% endfor %}"
    with pytest.raises(ValueError, match="generation"):
        training_template(tok)


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
