"""Prompt sets: the embedded defaults (offline) and the upstream files (fixtures in their schema)."""

import json
import os
from pathlib import Path

import pytest

from coevolve.data.resources import ResourceMissing
from coevolve.envs.base import ACTION_RE
from coevolve.envs.intercode_sql import actions as sql_actions
from coevolve.envs.prompts import (
    EMBEDDED_DIR,
    UPSTREAM_PROMPTS,
    choose_prompt_set,
    load_prompts,
    prompt_sets,
)

ENVS = ("sciworld", "webshop", "intercode_sql")
USER_DATA_DIR = os.environ.get("COEVOLVE_DATA_DIR")  # read before fixtures unset it


@pytest.fixture
def offline(tmp_path, monkeypatch):
    monkeypatch.setenv("COEVOLVE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("COEVOLVE_DATA_DIR", raising=False)
    monkeypatch.setenv("COEVOLVE_OFFLINE", "1")
    return tmp_path


def _parse(env: str, text: str) -> str | None:
    if env == "intercode_sql":
        return sql_actions.parse_action(text)
    match = ACTION_RE.search(text)
    return match.group(1).strip() if match else None


@pytest.mark.parametrize("env", ENVS)
def test_embedded_set_loads_offline_in_react_format(offline, env):
    template = load_prompts(env, "embedded")
    assert template.prompt_set == "embedded" and "Thought:" in template.instruction
    assert len(template.examples) == 1
    example = template.examples[0]
    roles = [m.role for m in example]
    # user/assistant alternation, starting with the task and ending on the agent's turn, so the episode's
    # first user turn follows it in any chat template
    assert roles == ["user", "assistant"] * (len(roles) // 2) and len(roles) >= 6
    for turn in example[1::2]:
        assert turn.content.startswith("Thought: ") and _parse(env, turn.content), turn.content
    assert load_prompts(env, "embedded", num_examples=0).examples == []


def test_embedded_sql_example_ends_with_submit(offline):
    last = load_prompts("intercode_sql", "embedded").examples[0][-1]
    assert sql_actions.parse_action(last.content) == sql_actions.SUBMIT


def test_every_env_has_its_embedded_files():
    for env in ENVS:
        assert (EMBEDDED_DIR / f"{env}_inst.txt").is_file() and (EMBEDDED_DIR / f"{env}_icl.json").is_file()


def test_unknown_prompt_set_lists_valid():
    with pytest.raises(ValueError, match="valid: embedded, auto, ipr"):
        choose_prompt_set("intercode_sql", "eto")
    assert prompt_sets("sciworld") == ["embedded", "auto", "eto"]


def _upstream_fixture(root, env: str, name: str) -> str:
    """Upstream-schema files: an instruction text and a JSON list of message lists."""
    inst, icl = UPSTREAM_PROMPTS[env][name]
    (root / inst).parent.mkdir(parents=True, exist_ok=True)
    (root / icl).parent.mkdir(parents=True, exist_ok=True)
    (root / inst).write_text("UPSTREAM INSTRUCTION")
    turns = [
        {"role": "user", "content": "task"},
        {"role": "assistant", "content": "Thought: t\nAction: look"},
    ]
    (root / icl).write_text(json.dumps([turns, turns]))
    return inst


def test_auto_prefers_local_upstream_files_and_never_downloads(offline, monkeypatch):
    assert choose_prompt_set("sciworld", "auto") == "embedded"
    data = offline / "data"
    _upstream_fixture(data, "sciworld", "eto")
    assert choose_prompt_set("sciworld", "auto", data) == "eto"
    template = load_prompts("sciworld", "auto", 2, data)
    assert template.prompt_set == "eto" and template.instruction == "UPSTREAM INSTRUCTION"
    assert len(template.examples) == 2
    monkeypatch.setenv("COEVOLVE_DATA_DIR", str(data))
    assert load_prompts("sciworld", "auto").prompt_set == "eto"


def test_upstream_set_missing_offline_names_the_file(offline):
    with pytest.raises(ResourceMissing, match="ipr/prompts/intercode_sql_inst.txt"):
        load_prompts("intercode_sql", "ipr")


def test_too_many_examples_is_a_clear_error(offline):
    with pytest.raises(Exception, match="asked for 2 examples, file has 1"):
        load_prompts("webshop", "embedded", num_examples=2)


@pytest.mark.parametrize("env", ENVS)
def test_embedded_text_is_not_the_upstream_text(offline, env):
    """The project's own wording: no instruction line and no example turn equals the upstream one
    (checked against the upstream files when a data dir has them; skipped otherwise)."""
    name = next(iter(UPSTREAM_PROMPTS[env]))
    inst, _ = UPSTREAM_PROMPTS[env][name]
    data_dir = USER_DATA_DIR
    if not data_dir or not (Path(data_dir) / inst).is_file():
        pytest.skip(f"{inst} is not local")
    ours = load_prompts(env, "embedded")
    theirs = load_prompts(env, name, 1, data_dir)
    their_lines = {line.strip() for line in theirs.instruction.splitlines() if len(line.strip()) > 30}
    assert not their_lines & {line.strip() for line in ours.instruction.splitlines()}
    their_turns = {m.content for m in theirs.examples[0]}
    assert not their_turns & {m.content for m in ours.examples[0]}
