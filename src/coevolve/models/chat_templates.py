"""Chat templates with `{% generation %}` markers, so training can score assistant tokens only.

TRL patches many templates itself (`trl.chat_template_utils.get_training_chat_template`) but not
SmolLM2's ChatML nor Llama-2-chat; we ship marked versions of those two. A marked template renders
exactly the same text as its original (tested); the markers only drive
`return_assistant_tokens_mask`. Each marked span covers the assistant content plus its end-of-turn
token, which is what the model must learn to emit; role headers and observations stay unscored.
"""

from __future__ import annotations

from transformers import PreTrainedTokenizerBase

SMOLLM2_SYSTEM = "You are a helpful AI assistant named SmolLM, trained by Hugging Face"

# SmolLM2-Instruct's own template, byte for byte as stored in its GGUF (real newlines in literals).
CHATML_SMOLLM2 = (
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\n" + SMOLLM2_SYSTEM + "<|im_end|>\n' }}{% endif %}"
    "{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)

CHATML_SMOLLM2_MARKED = (
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\n" + SMOLLM2_SYSTEM + "<|im_end|>\n' }}{% endif %}"
    "{% if message['role'] == 'assistant' %}{{ '<|im_start|>assistant\n' }}"
    "{% generation %}{{ message['content'] + '<|im_end|>' }}{% endgeneration %}{{ '\n' }}"
    "{% else %}{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>\n' }}"
    "{% endif %}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)

# Llama-2-chat layout: `<s>[INST] <<SYS>>\n{system}\n<</SYS>>\n\n{user} [/INST] {assistant} </s>`.
# The generation prompt is empty: a prompt already ends with ` [/INST]`.
_LLAMA2_HEAD = (
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
)
LLAMA2_CHAT = _LLAMA2_HEAD + "{% else %}{{ ' ' + text.strip() + ' ' + eos_token }}{% endif %}{% endfor %}"
LLAMA2_CHAT_MARKED = (
    _LLAMA2_HEAD
    + "{% else %}{{ ' ' }}{% generation %}{{ text.strip() + ' ' + eos_token }}{% endgeneration %}"
    + "{% endif %}{% endfor %}"
)

MARKED: dict[str, str] = {CHATML_SMOLLM2: CHATML_SMOLLM2_MARKED, LLAMA2_CHAT: LLAMA2_CHAT_MARKED}


def has_generation_markers(template: str) -> bool:
    return "{% generation %}" in template or "{%- generation -%}" in template


def training_template(tokenizer: PreTrainedTokenizerBase) -> str:
    """The tokenizer's template with generation markers (ours, TRL's patch, or unchanged)."""
    template = tokenizer.chat_template
    if isinstance(template, dict):
        template = template["default"]
    if template is None:
        raise ValueError(f"tokenizer {tokenizer.name_or_path!r} has no chat template")
    if has_generation_markers(template):
        return template
    if template in MARKED:
        return MARKED[template]
    from trl.chat_template_utils import get_training_chat_template

    try:
        patched = get_training_chat_template(tokenizer)
    except ValueError as exc:
        raise ValueError(
            f"tokenizer {tokenizer.name_or_path!r}: its chat template has no {{% generation %}} markers and "
            "neither coevolve nor TRL knows how to add them; add them to the template by hand"
        ) from exc
    return patched or template


def install_training_template(tokenizer: PreTrainedTokenizerBase) -> PreTrainedTokenizerBase:
    """Replace the template by its marked version in place; rendering stays identical."""
    tokenizer.chat_template = training_template(tokenizer)
    return tokenizer
