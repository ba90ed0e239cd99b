"""Pair builders as registered recipes: the config names them (`target_pairs`, `aux_agent`).

A builder turns one benchmark's experts and one iteration's rollouts into preference pairs:
`build(experts, target, aux, settings)`. Its `role` says which agent it trains ("target": the config's
`target_pairs`; "aux": the second agent named by `aux_agent`); `uses_aux` whether it reads the second
agent's rollouts; `checks_prompts` whether its pair stats compare rollout and expert task turns.

| name     | role   | pairs (pairs/build.py)                                   |
|----------|--------|----------------------------------------------------------|
| eto      | target | ETO: expert vs the target's own rollout                  |
| coevolve | target | expert vs every failure of either agent (+ options)      |
| failure  | aux    | failure agent: between failures both agents made         |
| positive | aux    | positive-agent ablation: trained toward success          |
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from coevolve.data.records import PreferencePair, Trajectory
from coevolve.pairs.build import eto_pairs, failure_pairs, positive_pairs, target_pairs
from coevolve.pairs.settings import PairSettings
from coevolve.registry import Registry

BuildFn = Callable[
    [dict[str, Trajectory], list[Trajectory], list[Trajectory], PairSettings], list[PreferencePair]
]


@dataclass(frozen=True)
class PairBuilder:
    name: str
    build: BuildFn  # (experts by task id, target rollouts, aux rollouts, settings) -> pairs
    role: str = "target"  # target | aux
    uses_aux: bool = True
    checks_prompts: bool = True


PAIR_BUILDERS: Registry[PairBuilder] = Registry("pair builder")


def register_pairs(name: str, role: str = "target", uses_aux: bool = True, checks_prompts: bool = True):
    """`@register_pairs("mine", role="target")` on `build(experts, target, aux, settings)`."""
    if role not in ("target", "aux"):
        raise ValueError(f"pair builder {name!r}: role must be 'target' or 'aux', got {role!r}")

    def decorate(build: BuildFn) -> BuildFn:
        PAIR_BUILDERS.register(name, PairBuilder(name, build, role, uses_aux, checks_prompts))
        return build

    return decorate


def builder_names(role: str) -> list[str]:
    return [n for n, b in PAIR_BUILDERS.loaded().items() if b.role == role]


register_pairs("eto", uses_aux=False)(lambda experts, target, aux, s: eto_pairs(experts, target, s))
register_pairs("coevolve")(target_pairs)
register_pairs("failure", role="aux", checks_prompts=False)(
    lambda experts, target, aux, s: failure_pairs(target, aux, s)
)
register_pairs("positive", role="aux")(positive_pairs)
