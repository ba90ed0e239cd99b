"""`coevolve train sft` on the tiny model under Llama-2-style, Qwen3-style and SmolLM2 chat templates:
the trainer's labels are exactly the assistant turns (+ their end-of-turn text), whatever the template."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from chat_template_fixtures import LLAMA2_REWRITTEN
from train_records import make_trajectory
from transformers import AutoTokenizer

import coevolve.training.sft as sft_module
from coevolve.cli import main
from coevolve.data.formats import trajectory_to_eto
from coevolve.models.chat_templates import CHATML_SMOLLM2
from coevolve.training.common import DONE_FILE
from coevolve.training.data import sft_rows

TRL_TEMPLATES = Path(pytest.importorskip("trl").__file__).parent / "chat_templates"

TEMPLATES = {
    # (template, end-of-turn text after each assistant turn)
    "llama2-official-layout": (lambda: LLAMA2_REWRITTEN, "</s>"),
    "qwen3-instruct-2507": (lambda: (TRL_TEMPLATES / "qwen3_instruct_2507.jinja").read_text(), "<|im_end|>"),
    "smollm2": (lambda: CHATML_SMOLLM2, "<|im_end|>"),
}


@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_cli_sft_scores_assistant_turns_under_each_template(tiny_model_dir, tmp_path, monkeypatch, name):
    source, end = TEMPLATES[name]
    model = tmp_path / "model"
    shutil.copytree(tiny_model_dir, model)
    tok = AutoTokenizer.from_pretrained(model)
    tok.chat_template = source()
    tok.save_pretrained(model)
    trajs = [make_trajectory(i) for i in (0, 2)]
    data = tmp_path / "expert.jsonl"
    data.write_text("".join(json.dumps(trajectory_to_eto(t)) + "\n" for t in trajs))

    seen = {}

    trainer_name = "FastSFTTrainer" if hasattr(sft_module, "FastSFTTrainer") else "SFTTrainer"

    class Spy(getattr(sft_module, trainer_name)):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            seen["dataset"] = self.train_dataset

    monkeypatch.setattr(sft_module, trainer_name, Spy)
    out = tmp_path / "sft"
    argv = ["train", "sft", "--model", str(model), "--data", str(data), "--out", str(out),
            "--batch-size", "2", "--micro-batch-size", "2", "--max-steps", "1", "--set", "logging_steps=1",
            "--set", "report_to=none"]  # fmt: skip
    assert main(argv) == 0
    assert json.loads((out / DONE_FILE).read_text())["trajectories"] == 2
    assert AutoTokenizer.from_pretrained(out).chat_template == source()  # saved unchanged

    for row, messages in zip(seen["dataset"], (r["messages"] for r in sft_rows(trajs)), strict=True):
        scored = tok.decode(
            [t for t, label in zip(row["input_ids"], row["labels"], strict=True) if label != -100]
        )
        assistant = [m["content"] for m in messages if m["role"] == "assistant"]
        for content in assistant:
            assert content in scored
        for m in messages:
            if m["role"] == "user":
                assert m["content"] not in scored
        assert scored.count(end) == len(assistant)
        assert scored.replace(end, " ").split() == " ".join(assistant).split()


@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_dpo_pair_tokens_score_assistant_turns_under_each_template(tiny_model_dir, name):
    from train_records import make_pair

    from coevolve.training.data import dpo_rows
    from coevolve.training.masked_dpo import tokenize_pair

    source, end = TEMPLATES[name]
    tok = AutoTokenizer.from_pretrained(tiny_model_dir)
    tok.chat_template = source()
    row = dpo_rows([make_pair(3)])[0]
    out = tokenize_pair(row, tok)
    for side in ("chosen", "rejected"):
        ids, mask = out[f"{side}_ids"], out[f"{side}_mask"]
        scored = tok.decode([t for t, m in zip(ids, mask, strict=True) if m])
        turns = [m["content"] for m in row[side] if m["role"] == "assistant"]
        assert scored.count(end) == len(turns)
        assert scored.replace(end, " ").split() == " ".join(turns).split()
        for m in row[side]:
            if m["role"] == "user":
                assert m["content"] not in scored
