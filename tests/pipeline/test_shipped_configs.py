"""Dry run of every shipped config (configs/paper/*.yaml, configs/examples/*.yaml) on CPU.

Each config is loaded and validated as shipped, then run through every stage of its method (experts,
SFT, eval/iter0, explore, both pair sets, both DPO updates, eval) with only what a CPU and the offline
data need swapped, each swap listed in `DRY_RUN`:
- `base_model`: the tiny random model carrying the backbone's chat template family (Llama-2-chat,
  SmolLM2's ChatML; the template decides the assistant masks of SFT and DPO);
- expert files that must be downloaded (ETO's) become the ETO-format fixtures of tests/fixtures;
  WebShop's official catalogue becomes the generated one the WebShop fixture was written for;
- 2 training tasks and 1 evaluation task per split (ScienceWorld: its 15-step "find" task types), K = 1,
  one epoch, 24-token generations, no in-context example (the tiny model has 2,048 positions), the SFT
  model not evaluated separately, hf rollouts in-process, no accelerate launcher.
A random model fails every task with reward 0, so the failure agent's pair set is empty (ties) and the
pipeline keeps its model; the test then trains the failure agent's DPO preset once on the target's pairs,
so both DPO updates run with the config's settings.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
from pathlib import Path

import pytest

from coevolve.models.chat_templates import CHATML_SMOLLM2, LLAMA2_CHAT
from coevolve.pipeline.config import RunConfig, from_dict, load_config, load_config_dict
from coevolve.pipeline.runner import Pipeline

ROOT = Path(__file__).parents[2]
SHIPPED = sorted((ROOT / "configs" / "paper").glob("*.yaml")) + sorted(
    (ROOT / "configs" / "examples").glob("*.yaml")
)
FIXTURES = ROOT / "tests" / "fixtures" / "expert_files"
# backbone name fragment -> the chat template its tokenizer ships (family)
TEMPLATES = {"llama-2": LLAMA2_CHAT, "smollm2": CHATML_SMOLLM2}
SMALL = {"epochs": 1, "batch_size": 2, "micro_batch_size": 1, "max_length": 2048}
DRY_RUN = {
    "iterations": 1,
    "sft": SMALL,
    "dpo": SMALL,
    "eval_sft": False,  # evaluation runs once, after the iteration
    "target_sampling": {"max_new_tokens": 24},
    "aux_sampling": {"max_new_tokens": 24, "temperature": 1.0},
    "eval_sampling": {"max_new_tokens": 24},
    "rollout": {"backend": "hf", "max_concurrent": 4, "num_workers": 0, "with_examples": False},
    "launcher": {"kind": "none"},
}
# the tiny tokenizer splits expert turns into more tokens than a real one; short caps keep the run short
if "check_token_caps" in {f.name for f in dataclasses.fields(RunConfig)}:
    DRY_RUN["check_token_caps"] = False
SHORT_SCIWORLD = [
    "task-3-find-animal",
    "task-3-find-plant",
    "task-3-find-living-thing",
    "task-3-find-non-living-thing",
]
NEEDS = {"intercode_sql": "mysql", "sciworld": "java"}

pytestmark = [
    pytest.mark.skipif(not os.environ.get("COEVOLVE_DATA_DIR"), reason="needs COEVOLVE_DATA_DIR"),
    pytest.mark.slow,
]


def template_for(base_model: str) -> str:
    for fragment, template in TEMPLATES.items():
        if fragment in base_model.lower():
            return template
    raise AssertionError(f"no chat template family known for {base_model!r}; add it to TEMPLATES")


def dry_run_env(env: dict) -> dict:
    env = {**env, "train_limit": 2, "eval_limit": 1, "train_ids": None, "eval_ids": None}
    if env.get("experts", "gold") != "gold":  # an upstream expert file: its ETO-format stand-in
        env["experts"] = str(FIXTURES / f"{env['name']}_sft.json")
    if env["name"] == "sciworld" and not env.get("task_filter"):  # 15-step task types, incl. the fixture's
        env["task_filter"] = {"task_name": SHORT_SCIWORLD}
    if env["name"] == "webshop":  # the catalogue the WebShop fixture's goals come from
        env["env_kwargs"] = {**env.get("env_kwargs", {}), "catalogue": "generated", "num_products": 600}
    return env


def dry_run_config(path: Path, model_dir: Path) -> dict:
    data = load_config_dict(path)
    return {**data, **DRY_RUN, "base_model": str(model_dir), "envs": [dry_run_env(e) for e in data["envs"]]}


@pytest.fixture(scope="module")
def mysql_ready() -> None:
    """The project's MariaDB server (as tests/envs/intercode/conftest.py starts it)."""
    from coevolve.envs.intercode_sql import MariaDBServer
    from coevolve.envs.intercode_sql.server import DB_URL_ENV, DbUrl, ServerError

    if os.environ.get(DB_URL_ENV):
        return
    try:
        MariaDBServer().start()
    except ServerError:  # port taken, e.g. by the server another cache dir started: use it if it serves
        DbUrl.default().connect(timeout=5).close()


@pytest.fixture(scope="module")
def java_ready() -> None:
    if shutil.which("java") is None:
        pytest.skip("needs Java for ScienceWorld")


@pytest.fixture(scope="module")
def tiny_models(tmp_path_factory) -> dict[str, Path]:
    """One tiny model per template family."""
    from transformers import AutoTokenizer

    from coevolve.models import make_tiny_model

    base = make_tiny_model(tmp_path_factory.mktemp("tiny"))
    models = {}
    for fragment, template in TEMPLATES.items():
        out = tmp_path_factory.mktemp(f"tiny-{fragment}")
        shutil.copytree(base, out, dirs_exist_ok=True)
        tokenizer = AutoTokenizer.from_pretrained(out)
        tokenizer.chat_template = template
        tokenizer.save_pretrained(out)
        models[fragment] = out
    return models


def test_every_shipped_config_is_covered_and_valid():
    assert {p.parent.name for p in SHIPPED} == {"paper", "examples"} and len(SHIPPED) >= 4
    for path in SHIPPED:
        config = load_config(path)  # as shipped: presets applied, choices validated
        template_for(config.base_model)
        for env in config.envs:
            assert env.experts == "gold" or (FIXTURES / f"{env.name}_sft.json").exists(), (path, env.name)


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_dry_run_through_every_stage(path, tmp_path, tiny_models, request):
    family = next(f for f in TEMPLATES if f in load_config(path).base_model.lower())
    data = dry_run_config(path, tiny_models[family])
    for env in data["envs"]:
        if env["name"] in NEEDS:
            request.getfixturevalue(f"{NEEDS[env['name']]}_ready")
    config = from_dict(data, str(path))
    run = tmp_path / "run"
    pipeline = Pipeline(config, run)
    names = [s.name for s in pipeline.stages()]
    for stage in (
        "experts",
        "sft",
        "iter1/explore",
        "iter1/target_pairs",
        "iter1/train_target",
        "eval/iter1",
    ):
        assert stage in names
    results = pipeline.run()
    manifest = json.loads((run / "manifest.json").read_text())["stages"]
    assert [n for n, rec in manifest.items() if rec["status"] == "done"] == names
    assert results["iteration"] == 1
    expected = {f"{e.name}_{s}" for e in config.envs for s in e.eval_splits}
    assert set(results["summaries"]) == expected
    stats = json.loads((run / "iter1/pairs/stats.json").read_text())
    assert "target" in stats and set(stats["target"]["prompt_check"]) == {e.name for e in config.envs}
    if config.aux_agent != "none":
        assert "aux" in stats and (run / "iter1/rollouts").exists()
    for env in config.envs:
        assert (run / "experts" / f"{env.name}.jsonl").stat().st_size > 0
    assert json.loads((run / "checkpoints/iter1/target/training_done.json").read_text())
    if config.aux_agent != "none" and not manifest["iter1/train_aux"]["outputs"]["trained"]:
        trained = pipeline._train_dpo(
            pipeline.aux_name, config.aux_preset, 1, pipeline.pairs_path(1, "target")
        )
        assert (
            trained["trained"]
            and (run / "checkpoints/iter1" / pipeline.aux_name / "training_done.json").exists()
        )
