"""A WebShop run whose experts come from an ETO-format file: every failed rollout gets a target pair.

The fixture's task turns are ETO's raw start pages; task 201's price cap text differs from our seeded
goal's, which the run keeps and reports (pairs/stats.json) instead of dropping the task.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from coevolve.data.jsonl import pair_file, trajectory_file
from coevolve.pipeline.config import from_dict
from coevolve.pipeline.runner import Pipeline

pytestmark = pytest.mark.skipif(not os.environ.get("COEVOLVE_DATA_DIR"), reason="needs COEVOLVE_DATA_DIR")
FIXTURE = Path(__file__).parents[1] / "fixtures" / "expert_files" / "webshop_sft.json"
SMALL = {"epochs": 1, "batch_size": 2, "micro_batch_size": 1, "max_length": 1024}


def test_webshop_run_with_eto_expert_file_pairs_every_failed_task(tmp_path, tiny_model_dir):
    config = from_dict(
        {
            "method": "coevolve",
            "base_model": str(tiny_model_dir),
            "iterations": 1,
            "eval_sft": False,
            "envs": [
                {
                    "name": "webshop",
                    "experts": str(FIXTURE),
                    "min_expert_reward": 0.7,
                    "eval_limit": 1,
                    "env_kwargs": {"catalogue": "generated", "num_products": 600},
                }
            ],
            "sft": SMALL,
            "dpo": SMALL,
            "target_sampling": {"max_new_tokens": 64},
            "aux_sampling": {"max_new_tokens": 64, "temperature": 1.0},
            "eval_sampling": {"max_new_tokens": 64},
            "rollout": {"backend": "hf", "max_concurrent": 4, "num_workers": 0, "with_examples": False},
        }
    )
    run = tmp_path / "run"
    Pipeline(config, run).run()
    experts = {r["id"]: r for r in map(json.loads, (run / "experts/webshop.jsonl").read_text().splitlines())}
    assert sorted(experts) == ["200", "201"]  # 202 is below the 0.7 reward filter
    rollouts = trajectory_file(run / "iter1/rollouts/webshop/target.jsonl").read()
    failed = {t.task.id for t in rollouts if t.reward < 1.0}
    assert failed, "the random tiny model should fail"
    pairs = pair_file(run / "iter1/pairs/target.jsonl").read()
    target = [p for p in pairs if p.kind == "expert_vs_target"]
    assert {p.meta["task_id"] for p in target} == failed
    for pair in target:  # the expert's own task turn, as ETO builds its prompts
        assert pair.prompt[2].content == experts[pair.meta["task_id"]]["conversations"][2]["value"]
    stats = json.loads((run / "iter1/pairs/stats.json").read_text())["target"]
    check = stats["prompt_check"]["webshop"]
    assert (
        check["checked"] == 4
        and check["by_reason"] == {"price_cap": 2}
        and check["tasks"] == {"price_cap": ["201"]}
    )
    assert stats["prompt_mismatch"].get("price_cap", 0) == sum(p.meta["task_id"] == "201" for p in pairs)
