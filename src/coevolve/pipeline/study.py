"""A multi-seed study: one comparison (pipeline/compare.py) per seed, resumable as a whole.

Project code (issue 13, "a CPU study"). A study file is a run config plus a `study:` section
(`StudyConfig`: seeds, methods, which paired differences to report). Every other key is the base
config that every seed and method share; its `method` key is ignored and its `seed` is replaced by
the study's seed. OUT/seed{N}/ is one `run_comparison` with that seed: its own expert set, its own
shared SFT model (OUT/seed{N}/sft) and every method from it. Seeds run one after the other, each run
directory resumes on its own, so rerunning the same command continues an interrupted study: finished
stages are skipped, a finished seed costs only the time to read its manifests.

Every (seed, method) config is built and validated before anything runs. OUT/study.yaml records the
study and the base config; OUT/report/ holds the study report (evaluation/study.py), rewritten after
every seed so a running study can be read.
"""

from __future__ import annotations

import copy
import itertools
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from coevolve.configtree import ConfigError, build, did_you_mean, plain
from coevolve.pipeline.compare import comparison_configs, method_order, run_comparison
from coevolve.pipeline.config import RunConfig, load_config_dict
from coevolve.pipeline.layout import RunLayout
from coevolve.pipeline.manifest import Manifest
from coevolve.rollout.progress import clock_text

log = logging.getLogger(__name__)

STUDY_KEY = "study"
STUDY_METHODS = ["sft", "eto", "coevolve"]


@dataclass
class StudyConfig:
    """The `study:` section of a study file: which seeds and methods run, which differences are reported."""

    # one comparison per seed (the run config's `seed`: sampling, SFT data order, DPO shuffles)
    seeds: list[int] = field(default_factory=lambda: [0, 1, 2])
    # methods of every seed, all from that seed's shared SFT model (`sft` always runs, first)
    methods: list[str] = field(default_factory=lambda: list(STUDY_METHODS))
    # paired differences [A, B] (A - B on the same evaluation episodes); null: every later method minus
    # every earlier one in `methods` order (sft, eto, coevolve: eto - sft, coevolve - sft, coevolve - eto)
    differences: list[list[str]] | None = None
    # fewer seeds is refused: a confidence interval across two seeds says almost nothing
    min_seeds: int = 3

    def order(self) -> list[str]:
        return list(method_order(self.methods))

    def pairs(self) -> list[tuple[str, str]]:
        """The differences to report, as (A, B) for A - B."""
        if self.differences is not None:
            return [(a, b) for a, b in self.differences]
        order = self.order()
        return [(later, earlier) for j, later in enumerate(order) for earlier in order[:j]]


def check_study(study: StudyConfig, where: str) -> None:
    """Seeds distinct and enough, methods known, differences between methods of the study."""
    if len(study.seeds) != len(set(study.seeds)):
        raise ConfigError(f"{where}.seeds: each seed once, got {study.seeds}")
    if study.min_seeds < 1:
        raise ConfigError(f"{where}.min_seeds: must be >= 1, got {study.min_seeds}")
    if len(study.seeds) < study.min_seeds:
        raise ConfigError(
            f"{where}.seeds: {len(study.seeds)} seed(s) {study.seeds}, a study needs >= {study.min_seeds} "
            f"(set {where}.min_seeds to run fewer)"
        )
    if not study.methods:
        raise ConfigError(f"{where}.methods: list at least one method")
    try:
        order = study.order()
    except ConfigError as exc:
        raise ConfigError(f"{where}.methods: {exc}") from None
    for i, pair in enumerate(study.differences or []):
        if len(pair) != 2:
            raise ConfigError(f"{where}.differences[{i}]: expected [A, B] (A - B), got {pair}")
        for name in pair:
            if name not in order:
                raise ConfigError(
                    f"{where}.differences[{i}]: {name!r} is not a method of this study{did_you_mean(name, order)}"
                )


# ------------------------------------------------------------------ loading


def is_study_file(path: str | Path) -> bool:
    """A YAML file with a top-level `study:` section."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return False
    return isinstance(data, dict) and STUDY_KEY in data


def split_study(data: dict[str, Any], where: str) -> tuple[StudyConfig, dict[str, Any]]:
    """(the typed `study:` section, the base run config without `study` and `method`)."""
    data = copy.deepcopy(data)
    section = data.pop(STUDY_KEY, None)
    study = build(StudyConfig, {} if section is None else section, f"{where}: {STUDY_KEY}")
    check_study(study, f"{where}: {STUDY_KEY}")
    data.pop("method", None)
    return study, data


def load_study(
    path: str | Path, overrides: list[str] = (), seeds: list[int] | None = None
) -> tuple[StudyConfig, dict[str, Any]]:
    """The study section and base config of a study file, `key.sub=value` overrides applied (they reach
    the study section too: `study.methods=[sft,eto]`); `seeds` replaces the file's seeds."""
    data = load_config_dict(path, list(overrides))
    if seeds is not None:
        data.setdefault(STUDY_KEY, {})
        data[STUDY_KEY] = {**(data[STUDY_KEY] or {}), "seeds": list(seeds)}
    return split_study(data, str(path))


def parse_seeds(text: str) -> list[int]:
    """`0,1,2` -> [0, 1, 2] (a clear error for anything else)."""
    try:
        return [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise ConfigError(f"--seeds: expected comma-separated integers such as 0,1,2, got {text!r}") from None


# ------------------------------------------------------------------ layout and configs


@dataclass(frozen=True)
class StudyLayout:
    """The paths of a study folder: OUT/study.yaml, OUT/seed{N}/{method}/ (run dirs), OUT/report/."""

    root: Path

    @property
    def record(self) -> Path:
        return self.root / "study.yaml"

    def seed_dir(self, seed: int) -> Path:
        return self.root / f"seed{seed}"

    def run(self, seed: int, method: str) -> RunLayout:
        return RunLayout(self.seed_dir(seed) / method)

    @property
    def report_dir(self) -> Path:
        return self.root / "report"


def seed_data(base: dict[str, Any], seed: int) -> dict[str, Any]:
    data = copy.deepcopy(base)
    data["seed"] = seed
    return data


def study_configs(
    study: StudyConfig, base: dict[str, Any], out: str | Path, where: str = "study"
) -> dict[int, dict[str, RunConfig]]:
    """Every (seed, method) config, validated: seed -> method -> RunConfig (nothing runs)."""
    layout = StudyLayout(Path(out))
    return {
        seed: comparison_configs(
            seed_data(base, seed), layout.seed_dir(seed), study.methods, f"{where} [seed {seed}]"
        )
        for seed in study.seeds
    }


# ------------------------------------------------------------------ progress


def run_finished(run_dir: Path, config: RunConfig) -> bool:
    """The run's last evaluation (eval/iter{K}) is done and no stage is pending or running."""
    layout = RunLayout(run_dir)
    if not layout.manifest.exists():
        return False
    stages = Manifest(layout.manifest).stages
    final = f"eval/iter{config.iterations}"
    return final in stages and all(rec.status == "done" for rec in stages.values())


def seed_finished(out: Path, seed: int, configs: dict[str, RunConfig]) -> bool:
    layout = StudyLayout(out)
    return all(run_finished(layout.run(seed, m).root, c) for m, c in configs.items())


def recorded_seconds(out: Path, seed: int, methods: list[str]) -> float:
    """Compute time recorded in the seed's costs.json files (every attempt of every stage)."""
    from coevolve.evaluation.report import load_costs

    layout = StudyLayout(out)
    return sum(c["seconds"] for m in methods for c in load_costs(layout.run(seed, m).costs))


def eta_seconds(out: Path, configs: dict[int, dict[str, RunConfig]]) -> float | None:
    """Time left: the mean recorded time of finished seeds for each unfinished seed, less what that seed
    already recorded; None before a seed has finished."""
    done = [s for s, c in configs.items() if seed_finished(out, s, c)]
    if not done:
        return None
    per_seed = sum(recorded_seconds(out, s, list(configs[s])) for s in done) / len(done)
    left = [s for s in configs if s not in done]
    return sum(max(0.0, per_seed - recorded_seconds(out, s, list(configs[s]))) for s in left)


# ------------------------------------------------------------------ running


def write_record(study: StudyConfig, base: dict[str, Any], out: Path) -> Path:
    path = StudyLayout(out).record
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump({STUDY_KEY: plain(study), **base}, sort_keys=False), encoding="utf-8")
    return path


def run_study(
    study: StudyConfig,
    base: dict[str, Any],
    out: str | Path,
    where: str = "study",
    report: Any = None,
) -> dict[int, list[Path]]:
    """Run every seed's comparison in OUT/seed{N} (validated first); returns seed -> run dirs.

    `report(out)` is called after every seed (the study report, so a running study can be read).
    """
    out = Path(out)
    configs = study_configs(study, base, out, where)
    write_record(study, base, out)
    layout, started, runs = StudyLayout(out), time.monotonic(), {}
    order = study.order()
    for i, seed in enumerate(study.seeds, start=1):
        counter = itertools.count(1)

        def announce(method: str, run_dir: Path, seed: int = seed, i: int = i, counter=counter) -> None:
            eta = eta_seconds(out, configs)
            log.info(
                "study: seed %s (%d/%d), method %s (%d/%d) in %s; study elapsed %s%s", seed, i,
                len(study.seeds), method, next(counter), len(order), run_dir,
                clock_text(time.monotonic() - started), "" if eta is None else f", ETA {clock_text(eta)}",
            )  # fmt: skip

        runs[seed] = run_comparison(
            seed_data(base, seed), layout.seed_dir(seed), study.methods, f"{where} [seed {seed}]", announce
        )
        eta = eta_seconds(out, configs)
        log.info(
            "study: seed %s done (%d/%d); study elapsed %s%s", seed, i, len(study.seeds),
            clock_text(time.monotonic() - started), "" if eta is None else f", ETA {clock_text(eta)}",
        )  # fmt: skip
        if report is not None and i < len(study.seeds):
            try:
                report(out)
            except Exception:  # a report problem must not stop the study; the final report raises
                log.exception("study: the intermediate report failed; the study continues")
    if report is not None:
        report(out)
    return runs
