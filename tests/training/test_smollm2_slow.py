from __future__ import annotations

import json

import pytest
from train_records import make_pair, make_trajectory

from coevolve.cli import main
from coevolve.data.formats import trajectory_to_eto
from coevolve.data.records import to_dict
from coevolve.models import load_causal_lm, load_tokenizer
from coevolve.training.common import DONE_FILE


@pytest.mark.slow
def test_smollm2_sft_then_dpo_from_the_cli(smollm2_dir, tmp_path):
    expert = tmp_path / "expert.jsonl"
    expert.write_text("".join(json.dumps(trajectory_to_eto(make_trajectory(i))) + "\n" for i in (0, 2)))
    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text("".join(json.dumps(to_dict(make_pair(i))) + "\n" for i in range(2)))
    common = ["--batch-size", "2", "--micro-batch-size", "1", "--max-steps", "1", "--max-length", "512"]
    sft, dpo = tmp_path / "sft", tmp_path / "dpo"
    assert (
        main(["train", "sft", "--model", "smollm2-135m", "--data", str(expert), "--out", str(sft), *common])
        == 0
    )
    assert main(["train", "dpo", "--model", str(sft), "--pairs", str(pairs), "--out", str(dpo),
                 "--preset", "target", *common]) == 0  # fmt: skip
    for out in (sft, dpo):
        done = json.loads((out / DONE_FILE).read_text())
        assert done["global_step"] == 1
        model = load_causal_lm(str(out))
        assert model.num_parameters() > 100_000_000
        tok = load_tokenizer(str(out))
        assert tok.eos_token == "<|im_end|>"
