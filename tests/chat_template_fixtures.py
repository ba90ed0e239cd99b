"""Chat templates written for the tests (project text, no upstream copy)."""

from __future__ import annotations

# A template that renders exactly what Llama-2-7b-chat's official template renders (and what LLAMA2_CHAT
# renders) but is written differently: the failure mode of a lookup by template string.
LLAMA2_REWRITTEN = (
    "{%- set ns = namespace(sys='') -%}"
    "{%- if messages and messages[0].role == 'system' -%}{%- set ns.sys = messages[0].content -%}"
    "{%- set rest = messages[1:] -%}{%- else -%}{%- set rest = messages -%}{%- endif -%}"
    "{%- for m in rest -%}"
    "{%- if (m.role == 'user') != loop.index0 is even -%}{{ raise_exception('alternate roles') }}{%- endif -%}"
    "{%- set body = m.content -%}"
    "{%- if loop.first and ns.sys -%}{%- set body = '<<SYS>>\\n' ~ ns.sys ~ '\\n<</SYS>>\\n\\n' ~ body -%}"
    "{%- endif -%}"
    "{%- if m.role == 'user' -%}{{ bos_token }}[INST] {{ body | trim }} [/INST]"
    "{%- else -%}{{ ' ' ~ body | trim ~ ' ' ~ eos_token }}{%- endif -%}"
    "{%- endfor -%}"
)
