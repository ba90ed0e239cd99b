"""Which tokens of a rendered conversation are assistant tokens, for any chat template.

Project code. Training scores assistant tokens only. A template with `{% generation %}` markers
says which they are (transformers' `return_assistant_tokens_mask`); most shipped templates have no
markers, and a table of known template strings misses every template not in it (Llama-2-chat's
official template renders the same text as ours but is a different string). So for a template
without markers the spans are derived from how the template itself renders:

1. `T` = the rendered conversation.
2. Content of message i: render again with that content replaced by a sentinel; the text before the
   sentinel is a prefix of `T` and the text after it a suffix, so the (possibly trimmed) content is
   what lies between. One render with every content replaced serves all messages when the template
   copies contents verbatim.
3. Start of assistant turn i: where `T` departs from the generation prompt
   `render(messages[:i], add_generation_prompt=True)` (the model writes from there; a prefilled
   `<think></think>` block that is not in the prompt is therefore scored), never before the end of
   message i-1's content, never after turn i's content. When the template copies contents verbatim
   (step 2's one render), these prefix renders (and step 4's) are sentinel renders cached by the
   roles of the prefix, with the contents substituted back (`Prefixes`): a conversation costs two
   renders instead of two per assistant turn.
4. End: the content plus the closing text the template writes after an assistant message that ends
   the conversation (`<|im_end|>`, ` </s>`, `<end_of_turn>` ...), as far as `T` repeats it and up to
   its first whitespace after text (the newline between turns, or an eos after it that only the last
   turn gets, is not something the model generates: it stops at the end-of-turn token).

A token is an assistant token when its characters overlap a span (transformers' rule for marked
spans). Templates with markers keep their own spans unchanged.
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Callable, Sequence

from transformers import PreTrainedTokenizerBase

SMOLLM2_SYSTEM = "You are a helpful AI assistant named SmolLM, trained by Hugging Face"

# SmolLM2-Instruct's own template, byte for byte as stored in its GGUF (real newlines in literals).
CHATML_SMOLLM2 = (
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\n" + SMOLLM2_SYSTEM + "<|im_end|>\n' }}{% endif %}"
    "{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)

# Llama-2-chat layout: `<s>[INST] <<SYS>>\n{system}\n<</SYS>>\n\n{user} [/INST] {assistant} </s>`.
# The generation prompt is empty: a prompt already ends with ` [/INST]`.
LLAMA2_CHAT = (
    "{% if messages[0]['role'] == 'system' %}{% set turns = messages[1:] %}"
    "{% set system = messages[0]['content'] %}{% else %}{% set turns = messages %}"
    "{% set system = none %}{% endif %}"
    "{% for message in turns %}"
    "{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
    "{{ raise_exception('Llama-2 chat needs alternating user/assistant turns') }}{% endif %}"
    "{% if loop.index0 == 0 and system is not none %}"
    "{% set text = '<<SYS>>\\n' + system + '\\n<</SYS>>\\n\\n' + message['content'] %}"
    "{% else %}{% set text = message['content'] %}{% endif %}"
    "{% if message['role'] == 'user' %}{{ bos_token + '[INST] ' + text.strip() + ' [/INST]' }}"
    "{% else %}{{ ' ' + text.strip() + ' ' + eos_token }}{% endif %}{% endfor %}"
)

Chat = Sequence[dict[str, str]]
Render = Callable[[list[dict[str, str]], bool], str]
Span = tuple[int, int]


class TemplateError(ValueError):
    """The chat template cannot say which tokens are the assistant's."""


def has_generation_markers(template: str) -> bool:
    return "generation %}" in template and "endgeneration" in template


def chat_template(tokenizer: PreTrainedTokenizerBase) -> str:
    """The tokenizer's default chat template (the `default` one of a named set)."""
    template = tokenizer.chat_template
    if isinstance(template, dict):
        template = template.get("default")
    if not template:
        raise TemplateError(f"tokenizer {tokenizer.name_or_path!r} has no chat template")
    return template


class Renderer:
    """`render(messages, add_generation_prompt)` with the tokenizer's template, plus a cache of renders of
    sentinel-content conversations keyed by their roles (`structure`), shared by every conversation."""

    def __init__(self, tokenizer: PreTrainedTokenizerBase, template: str):
        self.tokenizer, self.template = tokenizer, template
        self.structure: dict[tuple[tuple[str, ...], bool], str] = {}

    def __call__(self, messages: list[dict[str, str]], add_generation_prompt: bool = False) -> str:
        return self.tokenizer.apply_chat_template(
            messages, chat_template=self.template, tokenize=False, add_generation_prompt=add_generation_prompt
        )


_RENDERERS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def renderer(tokenizer: PreTrainedTokenizerBase, template: str | None = None) -> Render:
    """The tokenizer's renderer for `template`, reused across calls (its structure cache with it)."""
    template = template or chat_template(tokenizer)
    try:
        per_tokenizer = _RENDERERS.setdefault(tokenizer, {})
    except TypeError:  # not weak-referenceable: a fresh renderer each time
        return Renderer(tokenizer, template)
    if template not in per_tokenizer:
        per_tokenizer[template] = Renderer(tokenizer, template)
    return per_tokenizer[template]


# ---------------------------------------------------------------- spans (pure string functions)


def _sentinel(i: int) -> str:
    return f"QxSentinel{i:05d}xQ"  # letters/digits only: survives strip/trim, no template syntax


def common_prefix_len(a: str, b: str) -> int:
    n = min(len(a), len(b))
    if a[:n] == b[:n]:
        return n
    lo, hi = 0, n  # a[:lo] == b[:lo], a[:hi] != b[:hi] (slice compares run in C)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if a[:mid] == b[:mid]:
            lo = mid
        else:
            hi = mid
    return lo


def _with_content(messages: Chat, i: int, content: str) -> list[dict[str, str]]:
    out = [dict(m) for m in messages]
    out[i]["content"] = content
    return out


def sentinel_chat(messages: Chat) -> list[dict[str, str]]:
    return [{"role": m["role"], "content": _sentinel(i)} for i, m in enumerate(messages)]


def content_spans(render: Render, messages: Chat, text: str) -> list[Span]:
    """Where each message's content (as the template writes it) lies in `text`."""
    spans = _verbatim_spans(render, messages, text)
    if spans is not None:
        return spans  # the template copies contents verbatim: one render serves every message
    return [_content_span(render, messages, text, i) for i in range(len(messages))]


def _verbatim_spans(render: Render, messages: Chat, text: str) -> list[Span] | None:
    """Content spans from one render with every content replaced by a sentinel, when substituting the
    contents back gives `text` exactly (the template copies contents verbatim); else None."""
    marked = render(sentinel_chat(messages), False)
    spans, pieces, pos, shift = [], [], 0, 0
    for i, m in enumerate(messages):
        at = marked.find(_sentinel(i), pos)
        if at < 0:
            break
        start = at + shift
        spans.append((start, start + len(m["content"])))
        pieces += [marked[pos:at], m["content"]]
        shift += len(m["content"]) - len(_sentinel(i))
        pos = at + len(_sentinel(i))
    if len(spans) == len(messages) and "".join(pieces) + marked[pos:] == text:
        return spans
    return None


def _content_span(render: Render, messages: Chat, text: str, i: int) -> Span:
    """Message i's content span from one render with only that content replaced (trim-proof)."""
    marked = render(_with_content(messages, i, _sentinel(i)), False)
    at = marked.find(_sentinel(i))
    if at < 0:
        raise TemplateError(
            f"the chat template does not write the content of message {i} ({messages[i]['role']})"
        )
    before, after = marked[:at], marked[at + len(_sentinel(i)) :]
    if not (text.startswith(before) and text.endswith(after) and len(before) + len(after) <= len(text)):
        raise TemplateError(
            f"the chat template renders message {i} ({messages[i]['role']}) with a layout that depends on its "
            "content; add {% generation %} markers to the template"
        )
    return len(before), len(text) - len(after)


_SENTINEL = re.compile(r"QxSentinel(\d{5})xQ")


class Prefixes:
    """Renders of `messages[:n]` for a template that copies contents verbatim (`_verbatim_spans`).

    Such a render is the render of the same roles with sentinel contents, the contents substituted back;
    the sentinel render depends on the roles only, so it is cached by them (in the renderer's `structure`
    cache when it has one) and conversations of the same shape render each prefix once in all. Without
    this, every assistant turn costs two renders of a growing prefix (quadratic in the turns).
    """

    def __init__(self, render: Render, messages: Chat):
        cache = getattr(render, "structure", None)
        self.cache: dict = cache if cache is not None else {}
        self.render, self.messages = render, messages

    def __call__(self, n: int, add_generation_prompt: bool, substitute: int | None = None) -> str:
        """render(messages[:n]) with contents 0..substitute-1 substituted (default: all n)."""
        key = (tuple(m["role"] for m in self.messages[:n]), add_generation_prompt)
        if key not in self.cache:
            try:
                self.cache[key] = self.render(sentinel_chat(self.messages[:n]), add_generation_prompt)
            except Exception:  # remembered: every conversation of this shape is refused alike
                self.cache[key] = None
        marked = self.cache[key]
        if marked is None:
            raise TemplateError(f"the chat template refuses to render a conversation with roles {key[0]}")
        upto = n if substitute is None else substitute
        return _SENTINEL.sub(lambda m: self._content(int(m.group(1)), upto, m.group(0)), marked)

    def _content(self, j: int, upto: int, sentinel: str) -> str:
        return self.messages[j]["content"] if j < upto else sentinel


def _closing(render: Render, messages: Chat, i: int, prefixes: Prefixes | None = None) -> str:
    """What the template writes after assistant message i's content when the conversation ends there."""
    if prefixes is not None:
        marked = prefixes(i + 1, False, substitute=i)
    else:
        marked = render([*[dict(m) for m in messages[:i]], {**messages[i], "content": _sentinel(i)}], False)
    at = marked.find(_sentinel(i))
    return "" if at < 0 else marked[at + len(_sentinel(i)) :]


def _prompt_end(render: Render, messages: Chat, i: int, text: str, prefixes: Prefixes | None = None) -> int:
    try:
        prompt = prefixes(i, True) if prefixes is not None else render([dict(m) for m in messages[:i]], True)
    except Exception:  # a template may refuse a prompt that does not end where it expects
        return -1
    return common_prefix_len(prompt, text)


def matched_closing(close: str, following: str, specials: Sequence[str] = ()) -> str:
    """The part of `close` that `following` repeats, up to its first whitespace after text.

    Whitespace ends the end-of-turn text: `<|end|>\n</s>` (a conversation-final eos) scores `<|end|>`,
    as in every other turn. Where close and `following` diverge (the conversation-final close adds an eos, or a different end token), the match
    is cut back to its last whitespace or complete special token, never into the next turn's header.
    """
    body = len(close) - len(close.lstrip())
    cut = next((k for k in range(body, len(close)) if close[k].isspace()), len(close))
    close = close[:cut]  # the end-of-turn text stops at its first line break (before a final eos)
    n = common_prefix_len(close, following)
    if n < len(close):
        ends = [k + 1 for k in range(n) if close[k].isspace()]
        ends += [k for k in range(1, n + 1) for s in specials if s and close[:k].endswith(s)]
        n = max(ends, default=0)
    return close[:n].rstrip()


def assistant_spans(render: Render, messages: Chat, specials: Sequence[str] = ()) -> tuple[str, list[Span]]:
    """The rendered conversation and the character spans the model generates (see the module docstring)."""
    text = render([dict(m) for m in messages], False)
    spans_c = _verbatim_spans(render, messages, text)
    prefixes = Prefixes(render, messages) if spans_c is not None else None
    if spans_c is None:
        spans_c = [_content_span(render, messages, text, i) for i in range(len(messages))]
    out = []
    for i, m in enumerate(messages):
        if m["role"] != "assistant":
            continue
        c_start, c_end = spans_c[i]
        floor = spans_c[i - 1][1] if i else 0
        start = _prompt_end(render, messages, i, text, prefixes)
        start = c_start if start < floor else min(start, c_start)
        ceiling = spans_c[i + 1][0] if i + 1 < len(messages) else len(text)
        close = matched_closing(_closing(render, messages, i, prefixes), text[c_end:ceiling], specials)
        out.append((start, c_end + len(close)))
    return text, out


def token_mask(offsets: Sequence[tuple[int, int]], spans: Sequence[Span]) -> list[int]:
    """1 for each token whose characters overlap a span."""
    mask = []
    for a, b in offsets:
        b = max(b, a + 1)  # zero-width tokens count by their position
        mask.append(int(any(a < e and s < b for s, e in spans)))
    return mask


# ---------------------------------------------------------------- tokenizer entry points


def assistant_tokens(
    tokenizer: PreTrainedTokenizerBase, messages: Chat, template: str | None = None
) -> tuple[list[int], list[int]]:
    """(input_ids, assistant mask) of a conversation rendered with the tokenizer's chat template.

    The ids are exactly `apply_chat_template(messages, tokenize=True)`'s.
    """
    template = template or chat_template(tokenizer)
    messages = [{"role": m["role"], "content": m["content"]} for m in messages]
    if has_generation_markers(template):
        out = tokenizer.apply_chat_template(
            messages,
            chat_template=template,
            tokenize=True,
            return_dict=True,
            return_assistant_tokens_mask=True,
        )
        return list(out["input_ids"]), [int(x) for x in out["assistant_masks"]]
    if not tokenizer.is_fast:
        raise TemplateError(f"tokenizer {tokenizer.name_or_path!r}: assistant masks need a fast tokenizer")
    specials = [str(t) for t in tokenizer.all_special_tokens]
    text, spans = assistant_spans(renderer(tokenizer, template), messages, specials)
    enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    return list(enc["input_ids"]), token_mask(enc["offset_mapping"], spans)


PROBE = [
    {"role": "user", "content": "Instruction: probe the chat template."},
    {"role": "assistant", "content": "OK"},
    {"role": "user", "content": "Observation: a probe page."},
    {"role": "assistant", "content": "Thought: check.\nAction: probe[1]"},
]


def check_template(tokenizer: PreTrainedTokenizerBase) -> None:
    """Fail early (before any compute) when the template yields no usable assistant mask."""
    ids, mask = assistant_tokens(tokenizer, PROBE)
    scored = tokenizer.decode([t for t, m in zip(ids, mask, strict=True) if m])
    for m in PROBE:
        inside = m["content"].strip() in scored
        if inside != (m["role"] == "assistant"):
            raise TemplateError(
                f"tokenizer {tokenizer.name_or_path!r}: the derived assistant mask "
                f"{'misses' if not inside else 'includes'} a {m['role']} message; add {{% generation %}} markers"
            )
