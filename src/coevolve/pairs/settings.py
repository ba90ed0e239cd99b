"""Settings of preference-pair construction (method.md §2-5 and the open choices of §7)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Truncation = Literal["cut", "drop", "keep"]
MultiSample = Literal["all", "best_worst"]
EtoSamples = Literal["first", "all", "best_worst"]
SubSuccessExpert = Literal["reverse", "skip", "keep"]
PromptMismatch = Literal["keep", "skip", "error"]

TRUNCATIONS: tuple[str, ...] = ("cut", "drop", "keep")
MULTI_SAMPLES: tuple[str, ...] = ("all", "best_worst")
SUB_SUCCESS_EXPERTS: tuple[str, ...] = ("reverse", "skip", "keep")
PROMPT_MISMATCHES: tuple[str, ...] = ("keep", "skip", "error")


@dataclass
class PairConfig:
    """How rollouts become DPO pairs (the run config's `pairs` section). Defaults follow ETO and the paper where they say something.

    Rejected-side length (expert vs rollout pairs only; failure-failure pairs are never cut):

        truncation (`str`, defaults to `"cut"`):
            What to do with a rejected rollout longer than the expert + `max_extra_messages` messages.
            `"cut"` keeps its first messages, ending on an assistant turn; `"drop"` drops the pair;
            `"keep"` keeps the whole rollout. `"cut"` is ETO's rule: `construct_preference.py` keeps
            `pred[:len(golden) + 10][1:]`, which ends on a model turn, so ETO cuts an over-long reject to
            the expert's length + 5 turns and keeps the pair; it does not drop it.
        max_extra_messages (`int`, defaults to `10`):
            Messages allowed beyond the expert's episode (ETO: 10 messages = 5 turns).

    ETO pairs:

        reverse_when_better (`bool`, defaults to `True`):
            A rollout that beats a sub-1.0 expert becomes the chosen side (ETO's rule),
            with `sft_weight` 0. When False such rollouts give no pair.
        expert_reward_one_envs (`tuple[str, ...]` or `None`, defaults to `None`):
            Environments whose expert counts as reward 1.0 whatever its record says. `None` asks each
            benchmark's description (`Benchmark.expert_reward_one`, ETO's rule for one benchmark).

    Several samples per task and agent:

        multi_sample (`str`, defaults to `"all"`):
            Failure-failure and success-failure pairs of one task: `"all"` pairs every eligible
            combination; `"best_worst"` keeps only the combination with the largest reward gap.

        eto_samples (`str`, defaults to `"first"`):
            ETO pairs of a task explored with several samples (`samples_per_task` > 1, e.g. a
            compute-matched eto): `"first"` pairs only the lowest-index scored sample (ETO explores
            once per task), `"all"` pairs every scored sample with the expert, `"best_worst"` only
            the sample farthest from the expert's reward (the largest gap) that gives a pair.

    Target-agent set `D_tgt`:

        expert_vs_target / expert_vs_failure_agent / failure_failure (`bool`):
            Which pair kinds to build. Failure-failure pairs (paper v1) default to off.
        sub_success_expert (`str`, defaults to `"reverse"`):
            An expert with reward < 1 against a failure that scores higher: `"reverse"`
            (ETO-style; the failure is chosen, `sft_weight` 0, ties skipped), `"skip"` (no pairs
            from that expert at all) or `"keep"` (the expert stays chosen, even on ties).
        failure_agent_successes (`str`, defaults to `"drop"`):
            `"positive"` also pairs each failure-agent success (r = 1) against the target's failures
            of the same task (kind `success_vs_failure`); `"drop"` ignores them (the paper).
        success_sft_weight (`float`, defaults to `0.0`):
            `sft_weight` of `success_vs_failure` pairs; 0 keeps the SFT term on expert data only.

    Consistency:

        prompt_mismatch (`str`, defaults to `"keep"`):
            A pair's prompt is its chosen side's instruction and task turn (the expert's for expert-chosen
            pairs, as ETO). The other side's task turn is compared with the environment's rule
            (`Benchmark.task_turn_difference`: presentation details the env names, such as a prefix or
            a header, do not count). A remaining difference (e.g. a goal text that an expert file words
            otherwise) is recorded in the pair's meta and counted in the statistics;
            `"keep"` keeps the pair (ETO never checks), `"skip"` drops it, `"error"` raises naming the task.
    """

    truncation: Truncation = "cut"
    max_extra_messages: int = 10
    reverse_when_better: bool = True
    expert_reward_one_envs: tuple[str, ...] | None = None
    multi_sample: MultiSample = "all"
    eto_samples: EtoSamples = "first"
    expert_vs_target: bool = True
    expert_vs_failure_agent: bool = True
    failure_failure: bool = False
    sub_success_expert: SubSuccessExpert = "reverse"
    failure_agent_successes: Literal["drop", "positive"] = "drop"
    success_sft_weight: float = 0.0
    prompt_mismatch: PromptMismatch = "keep"

    def __post_init__(self) -> None:
        for name, valid in (
            ("truncation", TRUNCATIONS),
            ("multi_sample", MULTI_SAMPLES),
            ("eto_samples", ("first", *MULTI_SAMPLES)),
            ("sub_success_expert", SUB_SUCCESS_EXPERTS),
            ("failure_agent_successes", ("drop", "positive")),
            ("prompt_mismatch", PROMPT_MISMATCHES),
        ):
            if getattr(self, name) not in valid:
                raise ValueError(f"PairSettings.{name} must be one of {valid}, got {getattr(self, name)!r}")
        if self.max_extra_messages < 0:
            raise ValueError(f"PairSettings.max_extra_messages must be >= 0, got {self.max_extra_messages}")
        if self.expert_reward_one_envs is not None:
            self.expert_reward_one_envs = tuple(self.expert_reward_one_envs)


PairSettings = PairConfig  # the former name
