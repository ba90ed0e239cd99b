"""Methods as configuration presets. A run config names a method; its keys override the preset.

| method          | second agent | target pairs          | target loss        |
|-----------------|--------------|-----------------------|--------------------|
| sft             | -            | - (no iterations)     | -                  |
| eto             | -            | expert vs own rollout | DPO                |
| coevolve        | failure      | expert vs failures    | 0.5 DPO + 0.5 SFT  |
| frozen-failure  | failure, not updated after iteration 1                          |
| positive-agent  | trained toward success instead of toward near-success failures  |
| rft             | -            | - (own successes)     | SFT on experts + successes |
| best-of-n       | -            | - (no iterations)     | -; SFT model, best of N samples by reward (oracle) |

rft and best-of-n are registered recipes of pipeline/baselines.py (imported at the end of this module).
"""

from __future__ import annotations

from typing import Any

from coevolve.pipeline.recipes import METHODS as RECIPES
from coevolve.pipeline.recipes import get_method, register_method

METHODS: dict[str, dict[str, Any]] = {
    "sft": {"iterations": 0, "aux_agent": "none", "target_pairs": "eto", "target_preset": "eto"},
    "eto": {"aux_agent": "none", "target_pairs": "eto", "target_preset": "eto"},
    "coevolve": {"aux_agent": "failure", "target_pairs": "coevolve", "target_preset": "target"},
    "frozen-failure": {
        "aux_agent": "failure",
        "aux_frozen_after": 1,
        "target_pairs": "coevolve",
        "target_preset": "target",
    },
    "positive-agent": {
        "aux_agent": "positive",
        "aux_preset": "target",
        "target_pairs": "coevolve",
        "target_preset": "target",
    },
}


# Keys a method fixes whatever the config says (an `sft` run has no iterations, so that
# `coevolve run configs/paper/<benchmark>.yaml --set method=sft` is the SFT baseline of that config).
FORCED: dict[str, dict[str, Any]] = {"sft": {"iterations": 0, "aux_agent": "none"}}


# The built-in methods as registered recipes (pipeline/recipes.py): each runs the loop's stages
# (`loop_iteration`: explore, [aux_pairs, train_aux, [reexplore_aux]], target_pairs, train_target).
for _name, _preset in METHODS.items():
    if _name not in RECIPES.loaded():  # a module that registered its own recipe for the name keeps it
        register_method(_name, _preset, FORCED.get(_name))


def apply_method(data: dict[str, Any], where: str = "config") -> dict[str, Any]:
    """The method's preset, the config's own keys on top, then the keys the method fixes."""
    from coevolve.envs.base import UnknownName
    from coevolve.pipeline.config import ConfigError

    try:
        method = get_method(data.get("method", "coevolve"))
    except UnknownName as exc:
        raise ConfigError(f"{where}: {exc}") from None
    return method.apply(data)


import coevolve.pipeline.baselines  # noqa: E402,F401  registers rft and best-of-n
