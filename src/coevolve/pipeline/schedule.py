"""Per-iteration DPO settings and load-time checks of the `sft` / `dpo` config sections.

Project code. ETO trains iteration 1 with beta 0.1, lr 1e-6 and every later iteration with beta 0.5,
lr 5e-7 (`training.settings.ETO_SCHEDULE`). The `dpo` section of a run config:

    dpo:
      epochs: 3                  # plain keys: every iteration, both agents
      schedule: eto              # eto (default) | constant
      by_iteration:              # per-iteration keys, on top of the schedule (any DPO setting)
        1: {beta: 0.2}
        3: {learning_rate: 3.0e-7}

With `schedule: eto` a plain `beta` / `learning_rate` is refused at load time: it would flatten ETO's
schedule into one value for every iteration, silently. `schedule: constant` asks for exactly that: the
plain values (default: ETO's iteration-1 values) in every iteration. Unknown keys are refused with the
closest valid name.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from coevolve.configtree import did_you_mean, field_names

SCHEDULES = ("eto", "constant")
SCHEDULED = ("beta", "learning_rate")
SECTION_KEYS = ("schedule", "by_iteration")


class ScheduleError(ValueError):
    pass


def _unknown(key: str, valid: list[str], where: str) -> ScheduleError:
    return ScheduleError(f"{where}: unknown setting '{key}'{did_you_mean(key, valid)}")


def check_settings(values: Any, cls: type, where: str, extra: tuple[str, ...] = ()) -> None:
    """Every key names a field of `cls` (or `lora.<field>`, or one of `extra`)."""
    from coevolve.training.settings import LoraSettings

    if not isinstance(values, dict):
        raise ScheduleError(f"{where}: expected a mapping, got {type(values).__name__}")
    valid = [*field_names(cls), *extra]
    lora_fields = field_names(LoraSettings)
    for key, value in values.items():
        key = str(key)
        if key.startswith("lora."):
            if key.removeprefix("lora.") not in lora_fields:
                raise _unknown(key, [f"lora.{f}" for f in lora_fields], where)
        elif key not in valid:
            raise _unknown(key, valid, where)
        elif key == "lora" and isinstance(value, dict):
            for sub in value:
                if sub not in lora_fields:
                    raise _unknown(str(sub), lora_fields, f"{where}.lora")


def normalise_dpo(dpo: dict[str, Any], where: str = "dpo") -> dict[str, Any]:
    """`by_iteration` keys as ints (YAML gives 1, `--set dpo.by_iteration.1.beta=..` gives "1"), merged."""
    if "by_iteration" not in dpo:
        return dpo
    table = dpo["by_iteration"]
    if not isinstance(table, dict):
        raise ScheduleError(f"{where}.by_iteration: expected a mapping of iteration -> settings")
    merged: dict[int, dict[str, Any]] = {}
    for key, values in table.items():
        try:
            k = int(key)
        except (TypeError, ValueError):
            raise ScheduleError(f"{where}.by_iteration: '{key}' is not an iteration number") from None
        if k < 1:
            raise ScheduleError(f"{where}.by_iteration: iterations start at 1, got {k}")
        if not isinstance(values, dict):
            raise ScheduleError(f"{where}.by_iteration.{k}: expected a mapping of settings")
        merged.setdefault(k, {}).update(values)
    return {**dpo, "by_iteration": dict(sorted(merged.items()))}


def check_dpo(dpo: dict[str, Any], where: str = "dpo") -> None:
    from coevolve.training.settings import DPOSettings

    check_settings(dpo, DPOSettings, where, SECTION_KEYS)
    schedule = dpo.get("schedule", "eto")
    if schedule not in SCHEDULES:
        raise ScheduleError(f"{where}.schedule: must be one of {SCHEDULES}, got {schedule!r}")
    flat = [key for key in SCHEDULED if key in dpo]
    if flat and schedule == "eto":
        raise ScheduleError(
            f"{where}.{flat[0]}: would replace ETO's per-iteration schedule (iteration 1: beta 0.1, lr 1e-6; "
            f"later: beta 0.5, lr 5e-7) in every iteration. Set it for one iteration with "
            f"'{where}.by_iteration.<k>.{flat[0]}', or add '{where}.schedule: constant' to use one value in "
            "every iteration"
        )
    for k, values in normalise_dpo(dpo, where).get("by_iteration", {}).items():
        check_settings(values, DPOSettings, f"{where}.by_iteration.{k}")


def dpo_overrides(dpo: Mapping[str, Any], k: int) -> dict[str, Any]:
    """The DPO setting overrides of iteration k: plain keys, the schedule's beta/lr, then by_iteration[k]."""
    from coevolve.training.settings import eto_schedule

    dpo = normalise_dpo(dict(dpo))  # a run config's typed `dpo` section reads as the mapping of what it sets
    plain = {key: v for key, v in dpo.items() if key not in SECTION_KEYS}
    if dpo.get("schedule", "eto") == "constant":
        scheduled = {**eto_schedule(1), **{key: plain[key] for key in SCHEDULED if key in plain}}
    else:
        scheduled = eto_schedule(k)
    return {**plain, **scheduled, **dpo.get("by_iteration", {}).get(k, {})}
