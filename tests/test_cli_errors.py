"""User mistakes end in one `error:` line naming the file, key or value: never a traceback, never a
silently wrong number."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from coevolve.cli import main
from coevolve.pipeline.config import ConfigError, from_dict

sys.path.insert(0, str(Path(__file__).parent / "pipeline"))
import ladder_env  # noqa: E402,F401  registers the "ladder" environment

BASE = "base_model: unused\nenvs:\n  - name: ladder\n"


def _cli(capsys, *argv: str) -> str:
    code = main(list(argv))
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: ") and "Traceback" not in err, err
    return err


def _run_config(tmp_path, text: str) -> str:
    path = tmp_path / "run.yaml"
    path.write_text(text)
    return str(path)


def test_unknown_data_resource_is_named(capsys):
    assert "'nope'" in _cli(capsys, "data", "verify", "nope")


@pytest.mark.parametrize(
    "extra, names",
    [
        ("iterations: two\n", "run.yaml.iterations: expected an integer, got 'two'"),
        ("aux_frozen_after: -1\n", "'aux_frozen_after' must be >= 0, got -1"),
        ("envs:\n  - name: ladder\n    eval_limit: -1\n", "'envs[0].eval_limit' must be >= 1, got -1"),
        (
            "envs:\n  - name: ladder\n    env_kwargs: {dataa_dir: x}\n",
            "unknown env_kwargs key 'dataa_dir' (did you mean 'data_dir'?)",
        ),
        ("sft_checkpoint: ./no/such/dir\n", "sft_checkpoint: ./no/such/dir: no such checkpoint"),
    ],
)
def test_bad_run_config_is_named_before_any_work(tmp_path, capsys, extra, names):
    config = _run_config(tmp_path, "method: frozen-failure\n" + BASE + extra)
    err = _cli(capsys, "run", config, "--out", str(tmp_path / "run"))
    assert names in err
    assert not (tmp_path / "run" / "manifest.json").exists()


def test_frozen_after_minus_one_cannot_recurse():
    with pytest.raises(ConfigError, match="aux_frozen_after"):
        from_dict(
            {
                "method": "frozen-failure",
                "base_model": "x",
                "envs": [{"name": "ladder"}],
                "aux_frozen_after": -1,
            }
        )


def test_missing_model_directory_is_named(capsys, tmp_path):
    err = _cli(
        capsys,
        "eval",
        "--model",
        "./no/model",
        "--env",
        "sciworld",
        "--split",
        "test",
        "--out",
        str(tmp_path),
    )
    assert "./no/model: no such checkpoint" in err


def test_evaluation_of_zero_tasks_is_an_error_not_zero(tmp_path):
    from coevolve.evaluation.runner import evaluate

    with pytest.raises(ValueError, match="ladder test: no task to evaluate"):
        evaluate("unused", "ladder", "test", tmp_path, tasks=[])
    assert not (tmp_path / "summary.json").exists()


def test_eval_ids_not_in_the_split_are_named(tmp_path):
    from coevolve.pipeline.runner import Pipeline

    config = from_dict(
        {"method": "sft", "base_model": "x", "envs": [{"name": "ladder", "eval_ids": {"test": ["11", "99"]}}]}
    )
    with pytest.raises(ConfigError, match=r"eval_ids.test: ids not in the split: \['99'\]"):
        Pipeline(config, tmp_path).eval_tasks("ladder", "test")


def test_a_finished_training_stage_without_its_checkpoint_is_an_error(tmp_path):
    from coevolve.pipeline.runner import Pipeline

    config = from_dict({"method": "coevolve", "base_model": "x", "envs": [{"name": "ladder"}]})
    pipeline = Pipeline(config, tmp_path)
    t0 = pipeline.manifest.start("iter1/train_target")
    pipeline.manifest.finish("iter1/train_target", t0, {"pairs": 3, "trained": True})
    with pytest.raises(
        FileNotFoundError, match=r"iter1/target: checkpoint missing .* --redo-from iter1/train_target"
    ):
        pipeline.checkpoint("target", 1)
    t0 = pipeline.manifest.start("iter1/train_aux")  # no pairs: the agent keeps its model, no error
    pipeline.manifest.finish("iter1/train_aux", t0, {"pairs": 0, "trained": False})
    (tmp_path / "checkpoints/sft").mkdir(parents=True)
    (tmp_path / "checkpoints/sft/training_done.json").write_text(json.dumps({}))
    assert pipeline.checkpoint("failure", 1) == str(tmp_path / "checkpoints/sft")


def test_database_down_or_wrong_password_is_one_line(tmp_path, capsys, monkeypatch):
    pytest.importorskip("pymysql")
    from coevolve.envs.intercode_sql.server import DbUrl

    with pytest.raises(Exception) as info:  # a closed port: nothing listens there
        DbUrl.parse("mysql://root:wrong@127.0.0.1:1").connect(timeout=2)
    from coevolve.cli import is_user_error

    assert is_user_error(info.value), repr(info.value)
    assert "127.0.0.1" in str(info.value)


def test_validate_checks_a_study_file_as_study_check_does(tmp_path, capsys):
    path = tmp_path / "study.yaml"
    path.write_text("study: {seeds: [0, 1, 2]}\n" + BASE)
    assert main(["validate", str(path)]) == 0
    assert "3 seeds [0, 1, 2]" in capsys.readouterr().out.replace("\n", " ")
    path.write_text("study: {seds: [0, 1, 2]}\n" + BASE)
    err = _cli(capsys, "validate", str(path))
    assert "seds" in err and "did you mean 'seeds'" in err
