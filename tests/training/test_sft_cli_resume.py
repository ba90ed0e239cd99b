from __future__ import annotations

import json
import logging

import pytest
import torch
from train_records import PROMPT, make_pair, make_trajectory

from coevolve.cli import main
from coevolve.data.formats import trajectory_to_eto
from coevolve.data.jsonl import JsonlWriter
from coevolve.data.records import RecordError, to_dict
from coevolve.models import load_causal_lm, load_tokenizer
from coevolve.training import DPOSettings, SFTSettings, train_dpo, train_sft
from coevolve.training.common import DONE_FILE, is_done, last_checkpoint
from coevolve.training.data import load_pair_files, sft_rows

TINY = dict(epochs=1, batch_size=2, micro_batch_size=2, max_length=512, logging_steps=1)


def write_jsonl(path, records):
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def test_sft_rows_map_roles_and_keep_instruction():
    row = sft_rows([make_trajectory(0)])[0]["messages"]
    assert [m["role"] for m in row[:3]] == ["user", "assistant", "user"]
    assert row[0]["content"] == PROMPT[0].content and row[1]["content"] == "OK"
    assert row[-1]["role"] == "assistant"


def test_sft_trains_assistant_tokens_and_saves_loadable_model(tiny_model_dir, tmp_path):
    trajs = [make_trajectory(i) for i in range(4)]
    settings = SFTSettings(**TINY, learning_rate=1e-3, warmup=0.0, min_reward=0.7)
    out = train_sft(str(tiny_model_dir), trajs, tmp_path / "sft", settings)
    done = json.loads((out / DONE_FILE).read_text())
    assert done["trajectories"] == 2  # rewards 1.0, 0.5, 1.0, 0.5 with min_reward 0.7
    model = load_causal_lm(str(out))
    before = load_causal_lm(str(tiny_model_dir))
    assert any(not torch.equal(a, b) for a, b in zip(model.parameters(), before.parameters(), strict=True))
    tok = load_tokenizer(str(out))
    assert tok.apply_chat_template(sft_rows(trajs)[0]["messages"], tokenize=False).startswith("<s>[INST]")


def test_dpo_checkpoint_reloads_and_continues(tiny_model_dir, tmp_path, caplog):
    out = tmp_path / "dpo"
    first = [make_pair(i) for i in range(4)]
    s = DPOSettings.preset("target", 1, **TINY, max_steps=2, save_steps=1, save_total_limit=None,
                           keep_checkpoints=True)  # fmt: skip
    train_dpo(str(tiny_model_dir), first, out, s)
    assert last_checkpoint(out).name == "checkpoint-2"
    history1 = json.loads((out / DONE_FILE).read_text())["log_history"]
    (out / DONE_FILE).unlink()  # as if the run had been interrupted after checkpoint-2
    # different pairs: a restart from scratch would log a different step-1 loss
    second = [make_pair(i + 10) for i in range(4)]
    with caplog.at_level(logging.INFO, logger="coevolve.training.dpo"):
        train_dpo(str(tiny_model_dir), second, out, DPOSettings.preset("target", 1, **TINY, max_steps=3))
    assert "resuming DPO from" in caplog.text
    done = json.loads((out / DONE_FILE).read_text())
    assert done["global_step"] == 3
    steps = [e for e in done["log_history"] if "loss" in e]
    assert [e["step"] for e in steps] == [1, 2, 3]
    assert steps[0]["loss"] == history1[0]["loss"]
    assert load_causal_lm(str(out)).config.hidden_size == 64


def test_finished_run_is_not_retrained(tiny_model_dir, tmp_path):
    out = tmp_path / "done"
    s = DPOSettings.preset("eto", 2, **TINY, max_steps=1)
    train_dpo(str(tiny_model_dir), [make_pair(0), make_pair(1)], out, s)
    stamp = (out / DONE_FILE).stat().st_mtime_ns
    train_dpo(str(tiny_model_dir), [make_pair(0), make_pair(1)], out, s)
    assert (out / DONE_FILE).stat().st_mtime_ns == stamp


def test_malformed_pair_file_names_the_record(tmp_path):
    good = to_dict(make_pair(0))
    bad = to_dict(make_pair(1))
    del bad["chosen"]
    path = write_jsonl(tmp_path / "pairs.jsonl", [good, bad])
    with pytest.raises(RecordError, match=r"pairs.jsonl: record 1.*chosen"):
        load_pair_files([path])
    eto = tmp_path / "eto.json"
    eto.write_text(json.dumps([{"id": "a", "prompt": [], "chosen": [], "rejected": []}]))
    with pytest.raises(RecordError, match=r"eto.json: record 0"):
        load_pair_files([eto], "webshop")


def test_cli_reports_bad_pairs_with_exit_2(tiny_model_dir, tmp_path, capsys):
    bad = to_dict(make_pair(0))
    bad["rejected"][-1]["role"] = "user"
    path = write_jsonl(tmp_path / "p.jsonl", [bad])
    code = main(
        ["train", "dpo", "--model", str(tiny_model_dir), "--pairs", str(path), "--out", str(tmp_path)]
    )
    assert code == 2
    assert "record 0" in capsys.readouterr().err


def test_cli_sft_then_dpo_with_lora(tiny_model_dir, tmp_path):
    sft_file = write_jsonl(
        tmp_path / "expert.jsonl", [trajectory_to_eto(make_trajectory(i)) for i in range(4)]
    )
    with JsonlWriter(tmp_path / "pairs.jsonl") as w:
        for i in range(2):
            w.write(to_dict(make_pair(i, sft_weight=float(i))))
    common = ["--batch-size", "2", "--micro-batch-size", "2", "--max-steps", "1", "--set", "logging_steps=1"]
    sft_out, dpo_out = tmp_path / "sft", tmp_path / "dpo"
    assert main(["train", "sft", "--model", str(tiny_model_dir), "--data", str(sft_file), "--out", str(sft_out),
                 "--min-reward", "0.7", *common]) == 0  # fmt: skip
    assert json.loads((sft_out / DONE_FILE).read_text())["trajectories"] == 2
    assert main(["train", "dpo", "--model", str(sft_out), "--pairs", str(tmp_path / "pairs.jsonl"),
                 "--out", str(dpo_out), "--preset", "target", "--iteration", "2", "--lora",
                 "--set", "lora.r=4", *common]) == 0  # fmt: skip
    done = json.loads((dpo_out / DONE_FILE).read_text())
    assert done["settings"]["beta"] == 0.5 and done["settings"]["lora"]["r"] == 4
    assert not (dpo_out / "adapter_config.json").exists()  # merged by default
    merged = load_causal_lm(str(dpo_out))
    assert type(merged).__name__ == "LlamaForCausalLM"


def test_cli_unknown_setting_is_a_user_error(tiny_model_dir, tmp_path, capsys):
    sft_file = write_jsonl(tmp_path / "e.jsonl", [trajectory_to_eto(make_trajectory(0))])
    code = main(["train", "sft", "--model", str(tiny_model_dir), "--data", str(sft_file), "--out",
                 str(tmp_path / "o"), "--set", "epoch=1"])  # fmt: skip
    assert code == 2 and "unknown setting 'epoch'" in capsys.readouterr().err


def test_finished_run_removes_its_resume_checkpoints(tiny_model_dir, tmp_path):
    out = tmp_path / "dpo"
    s = DPOSettings.preset("target", 1, **TINY, max_steps=2, save_steps=1, save_total_limit=None)
    train_dpo(str(tiny_model_dir), [make_pair(i) for i in range(4)], out, s)
    assert is_done(out) and not list(out.glob("checkpoint-*"))  # kept only with keep_checkpoints
    assert load_causal_lm(str(out)).config.hidden_size == 64
