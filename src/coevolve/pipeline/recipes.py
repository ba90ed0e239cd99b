"""Methods as registered recipes: a method is a config preset plus the stages it declares.

The lm-evaluation-harness / verl `@register` pattern. A `Method` names the config keys it presets
(`preset`, overridable by the run config) and fixes (`forced`), and declares the stage kinds each
iteration runs (`iteration(config) -> [kind, ...]`). A stage kind (`register_stage`) is a function
`run(pipeline, k) -> outputs dict` and the paths it writes (`outputs(pipeline, k)`, removed before a redo).
`Pipeline` runs the declared plan; it never branches on a method's name.

    experts -> [sft] -> [eval/iter0] -> for k in 1..K: iter{k}/<kind> for each declared kind -> [eval/iter{k}]

Adding a method (README, "Extending"):

    from coevolve.pipeline.recipes import register_method, register_stage

    @register_stage("self_sft", outputs=lambda pipe, k: [pipe.layout.checkpoint(k, "target")])
    def self_sft(pipe, k): ...  # train iteration k's target model into pipe.layout.checkpoint(k, "target")

    register_method("my-method", preset={"aux_agent": "none"}, iteration=lambda cfg: ["explore", "self_sft"])
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from coevolve.registry import Registry

if TYPE_CHECKING:
    from coevolve.pipeline.config import RunConfig
    from coevolve.pipeline.runner import Pipeline


@dataclass(frozen=True)
class StageKind:
    """One kind of stage: `run(pipeline, k)` returns the outputs recorded in the manifest (may be None);
    `outputs(pipeline, k)` lists the paths it writes, removed before it is redone."""

    name: str
    run: Callable[[Pipeline, int], dict[str, Any] | None]
    outputs: Callable[[Pipeline, int], list[Path]]


STAGES: Registry[StageKind] = Registry("stage kind")


def register_stage(name: str, outputs: Callable[[Pipeline, int], list[Path]]):
    """`@register_stage("explore", outputs=...)` on `run(pipeline, k)`; returns `run` unchanged."""

    def decorate(run: Callable[[Pipeline, int], dict[str, Any] | None]):
        STAGES.register(name, StageKind(name, run, outputs))
        return run

    return decorate


def loop_iteration(config: RunConfig) -> list[str]:
    """The stage kinds of one ETO/co-evolution iteration, from the config's method keys."""
    kinds = ["explore"]
    if config.aux_agent != "none":
        kinds += ["aux_pairs", "train_aux"]
        if config.update_order == "failure_first":
            kinds.append("reexplore_aux")
    return [*kinds, "target_pairs", "train_target"]


@dataclass(frozen=True)
class Method:
    """A named recipe: config keys preset (the run config wins) and fixed (they win), and its stages."""

    name: str
    preset: dict[str, Any] = field(default_factory=dict)
    forced: dict[str, Any] = field(default_factory=dict)
    iteration: Callable[[RunConfig], list[str]] = loop_iteration
    help: str = ""

    def apply(self, data: dict[str, Any]) -> dict[str, Any]:
        """The preset, the config's own keys on top, then the keys the method fixes."""
        return {**self.preset, **data, **self.forced}

    def plan(self, config: RunConfig) -> list[PlannedStage]:
        """Every stage of a run, in order: (stage name, kind, iteration)."""
        plan = [PlannedStage("experts", "experts", 0)]
        if not config.sft_checkpoint:
            plan.append(PlannedStage("sft", "sft", 0))
        if config.eval_sft or config.iterations == 0:
            plan.append(PlannedStage("eval/iter0", "eval", 0))
        for k in range(1, config.iterations + 1):
            plan += [PlannedStage(f"iter{k}/{kind}", kind, k) for kind in self.iteration(config)]
            if config.eval_every_iteration or k == config.iterations:
                plan.append(PlannedStage(f"eval/iter{k}", "eval", k))
        return plan


class PlannedStage(NamedTuple):
    name: str  # the manifest's stage name, e.g. "iter2/train_target"
    kind: str  # a registered stage kind
    iteration: int


METHODS: Registry[Method] = Registry("method")


def register_method(
    name: str,
    preset: dict[str, Any] | None = None,
    forced: dict[str, Any] | None = None,
    iteration: Callable[[RunConfig], list[str]] = loop_iteration,
    help: str = "",
) -> Method:
    """Register (or replace) a method; `coevolve run --set method=NAME` and `coevolve ls methods` see it."""
    method = Method(name, dict(preset or {}), dict(forced or {}), iteration, help)
    METHODS.register(name, method)
    return method


def get_method(name: str) -> Method:
    _load_builtin()
    return METHODS.get(name)


def method_names() -> list[str]:
    _load_builtin()
    return METHODS.names()


def _load_builtin() -> None:
    import coevolve.pipeline.methods  # noqa: F401 - registers the built-in methods
