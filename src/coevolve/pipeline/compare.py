"""One comparison, one SFT: every method of a config from the same experts and the same SFT model.

`sft` always runs first, in OUT/sft: it builds the expert set, trains the SFT model and evaluates it.
Every other method runs in OUT/<method> from that checkpoint and that expert file (`sft_checkpoint`,
`envs[].experts`), with the config's tasks, seed and evaluation, so the methods differ only in what they
do after SFT (on GPUs with ZeRO-3, two SFT runs of one config need not give the same model). The demo
shares its SFT the same way (pipeline/demo.py). Each run directory resumes on its own, so rerunning
the comparison continues where it stopped; every method's config is validated before anything runs.

When `eto` runs before a method with the same greedy target, that method starts from eto's iteration-1
target rollouts (same model, tasks, seed and decoding give the same episodes) instead of generating them.
"""

from __future__ import annotations

import copy
import logging
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from coevolve.pipeline.config import ConfigError, RunConfig, from_dict
from coevolve.pipeline.layout import RunLayout
from coevolve.pipeline.recipes import method_names
from coevolve.pipeline.runner import Pipeline

log = logging.getLogger(__name__)

PAPER_METHODS = ("sft", "eto", "coevolve", "frozen-failure", "positive-agent")


def method_order(methods: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """`sft` first (it trains the shared model), then the others in the order given, each once."""
    valid = method_names()  # every registered recipe (pipeline/recipes.py), rft and best-of-n included
    unknown = [m for m in methods if m not in valid]
    if unknown:
        raise ConfigError(f"unknown method(s) {unknown}; valid: {sorted(valid)}")
    rest = [m for i, m in enumerate(methods) if m != "sft" and m not in methods[:i]]
    return ("sft", *rest)


def shared_sft(data: dict[str, Any], method: str, out: str | Path) -> dict[str, Any]:
    """The config dict of `method` in a comparison under `out`: methods other than `sft` start from
    OUT/sft's SFT checkpoint and expert files (unless the config names its own `sft_checkpoint`)."""
    data = copy.deepcopy(data)
    data["method"] = method
    if method == "sft":
        return data
    shared = RunLayout(Path(out) / "sft")
    data["eval_sft"] = False  # the sft run evaluates the shared model once
    data["sft_checkpoint"] = data.get("sft_checkpoint") or str(shared.sft_checkpoint)
    for env in data.get("envs", []):
        env["experts"] = str(shared.experts(env["name"]))
    return data


def comparison_configs(
    data: dict[str, Any], out: str | Path, methods: list[str] | tuple[str, ...], where: str = "config"
) -> dict[str, RunConfig]:
    """Every method's validated config, before any stage runs (a bad key fails here, not after SFT)."""
    return {m: from_dict(shared_sft(data, m, out), f"{where} [method {m}]") for m in method_order(methods)}


def preflight_comparison(configs: dict[str, RunConfig], out: str | Path, where: str = "config") -> list[str]:
    """`coevolve run`'s preflight (pipeline/validate.py) for every method, before anything runs.

    The other methods' inputs that OUT/sft has not written yet (its SFT checkpoint, its expert files)
    are checked as what the sft run starts from: the base model and the configured experts; token caps
    are checked against OUT/sft's expert files once they exist, for every method's caps."""
    from coevolve.pipeline.validate import preflight

    shared = RunLayout(Path(out) / "sft")
    notes: list[str] = []
    for method, config in configs.items():
        pending, label = _before_shared_sft(config, configs.get("sft"), shared), f"{where} [method {method}]"
        try:
            notes += preflight(pending, shared.root, label)
        except ConfigError as exc:  # the token-cap check names no file: say which method's caps
            raise ConfigError(str(exc) if label in str(exc) else f"{label}: {exc}") from None
    return list(dict.fromkeys(notes))


def _before_shared_sft(config: RunConfig, sft: RunConfig | None, shared: RunLayout) -> RunConfig:
    """`config` with the shared run's not-yet-written outputs replaced by the sft run's own inputs."""
    config = copy.deepcopy(config)
    if config.sft_checkpoint == str(shared.sft_checkpoint) and not shared.sft_checkpoint.exists():
        config.sft_checkpoint = sft.sft_checkpoint if sft is not None else None
    own = {e.name: e.experts for e in sft.envs} if sft is not None else {}
    for env in config.envs:
        if env.experts == str(shared.experts(env.name)) and not shared.experts(env.name).exists():
            env.experts = own.get(env.name, "gold")
    return config


def run_comparison(
    data: dict[str, Any],
    out: str | Path,
    methods: list[str] | tuple[str, ...] = PAPER_METHODS,
    where: str = "config",
    on_method: Callable[[str, Path], None] | None = None,
) -> list[Path]:
    """Run every method from one SFT; returns the run directories (OUT/<method>), sft first.
    `on_method(method, run_dir)` is called before each method runs (progress of a study)."""
    out = Path(out)
    configs = comparison_configs(data, out, methods, where)
    order = list(configs)
    run_dirs = []
    for method, config in configs.items():
        run_dir = out / method
        log.info("compare: method %s in %s", method, run_dir)
        if on_method is not None:
            on_method(method, run_dir)
        if method != "sft" and "eto" in order[: order.index(method)]:
            share_first_rollouts(out / "eto", run_dir, config)
        Pipeline(config, run_dir).run()
        run_dirs.append(run_dir)
    return run_dirs


def share_first_rollouts(source: Path, run_dir: Path, config: RunConfig) -> None:
    """Reuse eto's iteration-1 target rollouts: the same SFT model, tasks, seed and greedy decoding
    produce the same episodes, which the rollout engine then skips instead of generating again."""
    if config.target_sampling.temperature != 0:
        return
    for spec in config.envs:
        src = RunLayout(source).rollouts(1, spec.name, "target")
        dst = RunLayout(run_dir).rollouts(1, spec.name, "target")
        if src.exists() and not dst.exists():
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dst)
