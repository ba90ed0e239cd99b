"""Assistant masks derived from how a chat template renders, checked token by token against reference
masks built independently (character offsets of each assistant turn located by the template family's
own header and end-of-turn strings).

Real templates come from installed packages (TRL's bundled chat_templates/*.jinja, SmolLM2's GGUF in the
slow test); none is copied into this repository.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from chat_template_fixtures import LLAMA2_REWRITTEN
from transformers import AutoTokenizer

from coevolve.models.chat_templates import (
    CHATML_SMOLLM2,
    LLAMA2_CHAT,
    Prefixes,
    TemplateError,
    _closing,
    _prompt_end,
    _verbatim_spans,
    assistant_tokens,
    check_template,
    common_prefix_len,
    has_generation_markers,
    matched_closing,
    renderer,
)

TRL_TEMPLATES = Path(pytest.importorskip("trl").__file__).parent / "chat_templates"

EPISODE = [
    {"role": "user", "content": "Instruction: buy a red shirt under 30 dollars."},
    {"role": "assistant", "content": "OK"},
    {"role": "user", "content": "Observation: a search page with a box."},
    {"role": "assistant", "content": "Thought: search first.\nAction: search[red shirt]"},
    {"role": "user", "content": "Observation: results B01, B02.\n[Back to Search]"},
    {"role": "assistant", "content": "Action: click[B01]"},
]
SYSTEM = [{"role": "system", "content": "You are a shopping agent."}]
# contents with surrounding whitespace: templates that trim them must still be located
PADDED = [{**m, "content": f" {m['content']} \n"} if m["role"] == "assistant" else m for m in EPISODE]

# family -> (text just before an assistant turn's generated part, end-of-turn string, special tokens)
CHATML = ("<|im_start|>assistant\n", "<|im_end|>", ["<|im_start|>", "<|im_end|>"])
FAMILIES = {
    "llama2": ("[/INST]", "</s>", []),
    "chatml": CHATML,
    "gemma": ("<start_of_turn>model\n", "<end_of_turn>", ["<start_of_turn>", "<end_of_turn>"]),
    "llama3": (
        "<|end_header_id|>\n\n",
        "<|eot_id|>",
        ["<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"],
    ),
    "phi3": ("<|assistant|>\n", "<|end|>", ["<|assistant|>", "<|user|>", "<|end|>", "<|system|>"]),
}


def _trl(name: str) -> str:
    path = TRL_TEMPLATES / f"{name}.jinja"
    if not path.exists():
        pytest.skip(f"{path.name} is not bundled with this TRL version")
    return path.read_text(encoding="utf-8")


# (template id, template source, family, supports a system message)
TEMPLATES = {
    "llama2-ours": (lambda: LLAMA2_CHAT, "llama2", True),
    "llama2-rewritten": (lambda: LLAMA2_REWRITTEN, "llama2", True),
    "smollm2": (lambda: CHATML_SMOLLM2, "chatml", True),
    "qwen3-instruct-2507": (lambda: _trl("qwen3_instruct_2507"), "chatml", True),
    "qwen3": (lambda: _trl("qwen3"), "chatml", True),
    "qwen2.5": (lambda: _trl("qwen2_5"), "chatml", True),
    "gemma": (lambda: _trl("gemma"), "gemma", False),
    "gemma3": (lambda: _trl("gemma3"), "gemma", True),
    "llama3.1": (lambda: _trl("llama3_1"), "llama3", True),
    "phi3": (lambda: _trl("phi3"), "phi3", False),
}


@pytest.fixture(scope="module")
def base_tokenizer(tiny_model_dir):
    return AutoTokenizer.from_pretrained(tiny_model_dir)


def _tokenizer(base, specials: list[str]):
    tok = AutoTokenizer.from_pretrained(base.name_or_path)
    if specials:
        tok.add_special_tokens({"additional_special_tokens": specials})
    return tok


def reference_spans(text: str, messages, header: str, end: str) -> list[tuple[int, int]]:
    """Each assistant turn: from the family header before its content to its end-of-turn string."""
    spans, pos = [], 0
    for m in messages:
        at = text.index(m["content"].strip(), pos)
        stop = at + len(m["content"].strip())
        if m["role"] == "assistant":
            spans.append((text.rindex(header, pos, at) + len(header), text.index(end, stop) + len(end)))
        pos = stop
    return spans


def reference_mask(tokenizer, text: str, spans) -> list[int]:
    chars = bytearray(len(text))
    for s, e in spans:
        chars[s:e] = b"\x01" * (e - s)
    enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    return [int(any(chars[a : max(b, a + 1)])) for a, b in enc["offset_mapping"]]


def _check(tokenizer, template: str, messages, family: str) -> list[int]:
    header, end, _ = FAMILIES[family]
    ids, mask = assistant_tokens(tokenizer, messages, template)
    text = tokenizer.apply_chat_template(messages, chat_template=template, tokenize=False)
    out = tokenizer.apply_chat_template(messages, chat_template=template, tokenize=True, return_dict=True)
    assert ids == list(out["input_ids"])
    expected = reference_mask(tokenizer, text, reference_spans(text, messages, header, end))
    assert mask == expected, [
        (tokenizer.decode([t]), m, r) for t, m, r in zip(ids, mask, expected, strict=True) if m != r
    ]
    return mask


@pytest.mark.parametrize("name", sorted(TEMPLATES))
@pytest.mark.parametrize("variant", ["plain", "system", "padded"])
def test_derived_mask_matches_reference(base_tokenizer, name, variant):
    source, family, system_ok = TEMPLATES[name]
    template = source()
    assert not has_generation_markers(template)
    if variant == "system" and not system_ok:
        pytest.skip("the template refuses system messages")
    messages = {"plain": EPISODE, "system": SYSTEM + EPISODE, "padded": PADDED}[variant]
    tok = _tokenizer(base_tokenizer, FAMILIES[family][2])
    mask = _check(tok, template, messages, family)
    assert sum(mask) > 0


def test_rewritten_llama2_renders_the_same_text_as_ours(base_tokenizer):
    assert LLAMA2_REWRITTEN != LLAMA2_CHAT
    for messages in (EPISODE, SYSTEM + EPISODE, PADDED):
        ours = base_tokenizer.apply_chat_template(messages, chat_template=LLAMA2_CHAT, tokenize=False)
        other = base_tokenizer.apply_chat_template(messages, chat_template=LLAMA2_REWRITTEN, tokenize=False)
        assert ours == other
    for template in (LLAMA2_CHAT, LLAMA2_REWRITTEN):
        prompt = base_tokenizer.apply_chat_template(
            EPISODE[:3], chat_template=template, tokenize=False, add_generation_prompt=True
        )
        assert prompt.endswith(" [/INST]")


# TRL ships marked twins of these templates that render the same text: the marker masks must agree with
# the derived ones except for whitespace that TRL's markers put after the end-of-turn token (and the eos
# after it that Phi-3 appends to the conversation's last turn).
TWINS = ["qwen3_instruct_2507", "qwen2_5", "gemma", "gemma3", "llama3", "phi3", "phi3_5", "cohere", "lfm2"]


@pytest.mark.parametrize("name", TWINS)
def test_derived_mask_agrees_with_trl_marked_twin(base_tokenizer, name):
    original, marked = _trl(name), _trl(f"{name}_training")
    assert has_generation_markers(marked) and not has_generation_markers(original)
    messages = EPISODE
    text = base_tokenizer.apply_chat_template(messages, chat_template=original, tokenize=False)
    assert text == base_tokenizer.apply_chat_template(messages, chat_template=marked, tokenize=False)
    ids, derived = assistant_tokens(base_tokenizer, messages, original)
    ids_m, by_markers = assistant_tokens(base_tokenizer, messages, marked)  # the marker path
    assert ids == ids_m
    extra = [(i, t) for i, (t, d, m) in enumerate(zip(ids, derived, by_markers, strict=True)) if d != m]
    assert all(m >= d for d, m in zip(derived, by_markers, strict=True))
    final_eos = (len(ids) - 1, base_tokenizer.eos_token_id)
    assert all(base_tokenizer.decode([t]).isspace() or (i, t) == final_eos for i, t in extra)
    assert sum(derived) > len(extra)


def test_qwen3_scores_the_prefilled_empty_think_block_of_the_last_turn(base_tokenizer):
    tok = _tokenizer(base_tokenizer, CHATML[2])
    ids, mask = assistant_tokens(tok, EPISODE, _trl("qwen3"))
    scored = tok.decode([t for t, m in zip(ids, mask, strict=True) if m])
    assert scored.count("<think>") == 1  # only the final turn renders one (a layout that depends on position)
    assert scored.endswith("</think>\n\nAction: click[B01]<|im_end|>")


@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_cached_prefix_renders_equal_real_renders(base_tokenizer, name):
    """Prompt ends and closings from role-keyed sentinel renders equal those of rendering each prefix."""
    source, family, system_ok = TEMPLATES[name]
    tok, template = _tokenizer(base_tokenizer, FAMILIES[family][2]), source()
    render = renderer(tok, template)
    checked = 0
    for messages in (EPISODE, SYSTEM + EPISODE, PADDED) if system_ok else (EPISODE, PADDED):
        text = render(messages, False)
        if _verbatim_spans(render, messages, text) is None:
            continue  # contents not copied verbatim (trimmed): the uncached path is used
        prefixes = Prefixes(render, messages)
        for i, m in enumerate(messages):
            if m["role"] == "assistant":
                cached = _prompt_end(render, messages, i, text, prefixes)
                assert cached == _prompt_end(render, messages, i, text)
                assert _closing(render, messages, i, prefixes) == _closing(render, messages, i)
                checked += 1
    assert checked >= 3


def test_structure_cache_is_shared_by_conversations_of_one_shape(base_tokenizer):
    tok = _tokenizer(base_tokenizer, CHATML[2])
    render = renderer(tok, CHATML_SMOLLM2)
    assert renderer(tok, CHATML_SMOLLM2) is render
    assistant_tokens(tok, EPISODE, CHATML_SMOLLM2)
    size = len(render.structure)
    other = [{**m, "content": m["content"][::-1]} for m in EPISODE]  # same roles, other contents
    _, mask = assistant_tokens(tok, other, CHATML_SMOLLM2)
    assert len(render.structure) == size > 0
    assert _check(tok, CHATML_SMOLLM2, other, "chatml") == mask  # ids and mask against the reference


def test_common_prefix_len():
    for a, b, n in [("", "x", 0), ("abc", "abc", 3), ("abcd", "abxd", 2), ("ab", "abc", 2), ("x", "y", 0)]:
        assert common_prefix_len(a, b) == common_prefix_len(b, a) == n


def test_matched_closing_stops_before_the_next_turn():
    assert matched_closing("<|im_end|>\n", "<|im_end|>\n<|im_start|>user") == "<|im_end|>"
    # the conversation-final close adds an eos that a middle turn does not have
    assert matched_closing("<|end|>\n</s>", "<|end|>\n<|user|>\nObs") == "<|end|>"
    assert matched_closing("<|end|>\n</s>", "<|end|>\n</s>") == "<|end|>"
    assert matched_closing("<|return|>", "<|end|><|start|>", ["<|return|>", "<|end|>"]) == ""
    assert matched_closing(" </s>", " </s><s>[INST] next") == " </s>"


def test_content_dependent_layout_is_refused(base_tokenizer):
    # renders a different header when the content is long: cannot be derived, must say so
    template = (
        "{% for m in messages %}{% if m.content | length > 20 %}<long>{% else %}<short>{% endif %}"
        "{{ m.role }}: {{ m.content }}\n{% endfor %}"
    )
    with pytest.raises(TemplateError, match="generation"):
        assistant_tokens(base_tokenizer, EPISODE, template)


def test_template_without_content_or_template_is_refused(base_tokenizer):
    tok = _tokenizer(base_tokenizer, [])
    tok.chat_template = "{% for m in messages %}{{ m.role }}\n{% endfor %}"
    with pytest.raises(TemplateError):
        check_template(tok)
    tok.chat_template = None
    with pytest.raises(TemplateError, match="no chat template"):
        assistant_tokens(tok, EPISODE)


@pytest.mark.slow
def test_smollm2_real_tokenizer_and_template(smollm2_dir):
    tok = AutoTokenizer.from_pretrained(smollm2_dir)
    assert tok.chat_template == CHATML_SMOLLM2
    for messages in (EPISODE, SYSTEM + EPISODE):
        _check(tok, tok.chat_template, messages, "chatml")
    ids, mask = assistant_tokens(tok, EPISODE)
    im_end = tok.convert_tokens_to_ids("<|im_end|>")
    assert sum(1 for t, m in zip(ids, mask, strict=True) if m and t == im_end) == 3
    # Qwen's ChatML templates on SmolLM2's real tokenizer (same special tokens)
    for name in ("qwen3_instruct_2507", "qwen2_5"):
        _check(tok, _trl(name), EPISODE, "chatml")
