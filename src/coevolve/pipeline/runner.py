"""The co-evolution loop as a sequence of resumable stages.

    experts -> sft -> eval/iter0 -> for k in 1..K:
        iter{k}/explore -> iter{k}/aux_pairs -> iter{k}/train_aux [-> iter{k}/reexplore_aux]
        -> iter{k}/target_pairs -> iter{k}/train_target -> eval/iter{k}

Each stage writes only under its own paths in the run directory and is marked done in the manifest
when it returns. Rollout stages resume from the episodes already in their JSONL files and training
stages from their last checkpoint, so a kill redoes at most the episode or the training step in flight.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from coevolve.data.formats import filter_by_reward, load_eto_sft, trajectory_to_eto
from coevolve.data.jsonl import JsonlWriter, pair_file, read_json, trajectory_file, write_json_atomic
from coevolve.data.records import PreferencePair, Task, Trajectory
from coevolve.data.resources import RESOURCES, resolve
from coevolve.envs.base import UnknownName
from coevolve.envs.benchmark import get_benchmark
from coevolve.envs.registry import make_env
from coevolve.pipeline.config import ConfigError, RunConfig, SamplingSpec, flatten, to_yaml
from coevolve.pipeline.layout import RunLayout
from coevolve.pipeline.lock import RunLock
from coevolve.pipeline.manifest import Manifest
from coevolve.pipeline.recipes import STAGES, get_method, register_stage
from coevolve.pipeline.scalars import log_stage_scalars
from coevolve.pipeline.schedule import dpo_overrides
from coevolve.procs import run_group
from coevolve.rollout.progress import clear_stage, clock_text, set_stage

log = logging.getLogger(__name__)


@dataclass
class Stage:
    name: str
    run: Callable[[], dict[str, Any] | None]
    outputs: list[Path]  # removed before a redo


class Pipeline:
    def __init__(self, config: RunConfig, run_dir: str | Path) -> None:
        self.config = config
        self.run_dir = Path(run_dir)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.layout = RunLayout(self.run_dir)  # every path of the run directory
        self.manifest = Manifest(self.layout.manifest)
        self.lock = RunLock(self.run_dir)  # held while stages run (and by launched training jobs)
        self._tasks: dict[tuple[str, str], list[Task]] = {}

    # ------------------------------------------------------------------ layout

    @property
    def aux_name(self) -> str:
        return self.config.aux_agent  # "failure" | "positive"

    def expert_path(self, env: str) -> Path:
        return self.layout.experts(env)

    def checkpoint(self, agent: str, k: int) -> str:
        """The model an agent acts with after iteration k (k = 0: the SFT model).

        A checkpoint whose training stage finished but whose folder is gone is an error, never
        mistaken for an iteration without pairs.
        """
        if k == 0:
            if self.config.sft_checkpoint:
                return self.config.sft_checkpoint
            return self._trained(self.layout.sft_checkpoint, "sft") or ""
        if (
            agent != "target"
            and self.config.aux_frozen_after is not None
            and k > self.config.aux_frozen_after
        ):
            return self.checkpoint(agent, self.config.aux_frozen_after)
        from coevolve.training.common import is_done

        path = self.layout.checkpoint(k, agent)
        stage = f"iter{k}/train_{'target' if agent == 'target' else 'aux'}"
        # an agent that had no pairs in iteration k keeps its previous model
        return str(path) if is_done(path) else self._trained(path, stage) or self.checkpoint(agent, k - 1)

    def _trained(self, path: Path, stage: str) -> str | None:
        """`path` if its stage trained a model there; None if the stage trained nothing (no pairs)."""
        from coevolve.training.common import is_done

        if is_done(path):
            return str(path)
        record = self.manifest.stages.get(stage)
        if record is None or record.status != "done":  # not trained yet
            return str(path) if stage == "sft" else None
        if (record.outputs or {}).get("trained", True):
            raise FileNotFoundError(
                f"{path}: checkpoint missing (or incomplete: no {path.name}/training_done.json) although stage "
                f"{stage!r} finished; restore it or rerun with --redo-from {stage}"
            )
        return None

    def rollout_path(self, k: int, env: str, agent: str) -> Path:
        return self.layout.rollouts(k, env, agent)

    def pairs_path(self, k: int, which: str) -> Path:
        return self.layout.pairs(k, which)

    def eval_dir(self, k: int, env: str, split: str) -> Path:
        return self.layout.eval_dir(k, env, split)

    def log_dir(self, *parts: str) -> Path:
        """TensorBoard event files: logs/sft, logs/iter{k}/{agent} (training), logs/pipeline (per iteration)."""
        return self.layout.logs(*parts)

    # ------------------------------------------------------------------ plan

    def stages(self) -> list[Stage]:
        """The method's declared plan (pipeline/recipes.py), each stage kind bound to iteration k."""
        stages = []
        for planned in get_method(self.config.method).plan(self.config):
            kind = STAGES.get(planned.kind)
            run = lambda kind=kind, k=planned.iteration: kind.run(self, k)  # noqa: E731
            stages.append(Stage(planned.name, run, kind.outputs(self, planned.iteration)))
        return stages

    def run(self, accept_config_change: bool = False, redo_from: str | None = None) -> dict[str, Any]:
        """Run every stage not done yet; refused (RunLocked) while another process holds the run dir."""
        self.check_inputs()
        with self.lock:
            return self._run_stages(accept_config_change, redo_from)

    def check_inputs(self) -> None:
        """Before any compute: env_kwargs keys the env accepts, an `sft_checkpoint` that exists."""
        from coevolve.envs.registry import check_kwargs, get_env_class

        for i, spec in enumerate(self.config.envs):
            try:
                check_kwargs(get_env_class(spec.name), {"data_dir": None, **spec.env_kwargs})
            except UnknownName as exc:
                raise ConfigError(f"config envs[{i}]: {exc}") from exc
        ckpt = self.config.sft_checkpoint
        if ckpt and ckpt.startswith(("/", "./", "../", "~")) and not Path(ckpt).expanduser().exists():
            raise ConfigError(f"config sft_checkpoint: {ckpt}: no such checkpoint directory")

    def _run_stages(self, accept_config_change: bool, redo_from: str | None) -> dict[str, Any]:
        # --redo-from recomputes from a stage under the new config; earlier stages stay as they are
        self.manifest.check_config(self.config.fingerprint(), accept_config_change or redo_from is not None)
        (self.run_dir / "config.yaml").write_text(to_yaml(self.config), encoding="utf-8")
        plan = self.stages()
        if redo_from:
            self._redo_from(plan, redo_from)
        started = time.monotonic()
        for i, stage in enumerate(plan, start=1):
            if self.manifest.done(stage.name):
                log.info("stage %d/%d %s: done, skipped", i, len(plan), stage.name)
                continue
            set_stage(stage.name, i, len(plan), started)
            log.info("stage %d/%d %s: starting (run elapsed %s)", i, len(plan), stage.name,
                     clock_text(time.monotonic() - started))  # fmt: skip
            t0 = self.manifest.start(stage.name)
            try:
                outputs = stage.run() or {}
            except BaseException:
                self.manifest.interrupt(stage.name, t0)
                raise
            self.manifest.finish(stage.name, t0, outputs)
            self._record_cost(stage.name, outputs)
            log_stage_scalars(self.run_dir, stage.name)
            log.info("stage %d/%d %s: finished in %s (run elapsed %s)", i, len(plan), stage.name,
                     clock_text(self.manifest.stages[stage.name].seconds), clock_text(time.monotonic() - started))  # fmt: skip
        clear_stage()
        return self.results()

    def _redo_from(self, plan: list[Stage], stage: str) -> None:
        names = [s.name for s in plan]
        for name in self.manifest.reset_from(names, stage):
            for path in plan[names.index(name)].outputs:
                if path.is_dir():
                    shutil.rmtree(path)
                else:
                    path.unlink(missing_ok=True)

    # ------------------------------------------------------------------ tasks and experts

    def tasks(self, env: str, split: str) -> list[Task]:
        if (env, split) not in self._tasks:
            spec = self.env_spec(env)
            # from the benchmark's description: no simulator or database connection is started
            tasks = get_benchmark(env).tasks(split, self.config.data_dir, spec.env_kwargs)
            for key, values in spec.task_filter.items():
                tasks = [t for t in tasks if t.meta.get(key) in values]
            self._tasks[(env, split)] = tasks
        return self._tasks[(env, split)]

    def env_spec(self, env: str):
        return next(s for s in self.config.envs if s.name == env)

    def train_tasks(self, env: str) -> list[Task]:
        """Training tasks that have an expert (ETO explores exactly those), cut to the config's
        exploration slice (`explore_per_type`, `explore_limit`; all of them by default)."""
        from coevolve.experts import select_tasks

        experts = self.experts(env)
        spec = self.env_spec(env)
        tasks = [t for t in self.tasks(env, spec.train_split) if t.id in experts]
        return select_tasks(tasks, spec.explore_limit, spec.explore_per_type)

    def eval_tasks(self, env: str, split: str) -> list[Task]:
        spec = self.env_spec(env)
        tasks = self.tasks(env, split)
        if spec.eval_ids and split in spec.eval_ids:
            wanted = [str(i) for i in spec.eval_ids[split]]
            by_id = {t.id: t for t in tasks}
            missing = [i for i in wanted if i not in by_id]
            if missing:
                raise ConfigError(f"envs '{env}' eval_ids.{split}: ids not in the split: {missing[:10]}")
            return [by_id[i] for i in wanted]
        return tasks[: spec.eval_limit] if spec.eval_limit else tasks

    def experts(self, env: str) -> dict[str, Trajectory]:
        spec = self.env_spec(env)
        trajs = load_eto_sft(self.expert_path(env), env, spec.train_split)
        return {t.task.id: t for t in trajs}

    def make_experts(self) -> dict[str, Any]:
        from coevolve.experts import ExpertConfig, ExpertGenerator

        counts, dropped = {}, {}
        for spec in self.config.envs:
            out = self.expert_path(spec.name)
            tasks = self.tasks(spec.name, spec.train_split)
            if spec.train_ids:
                wanted = set(map(str, spec.train_ids))
                tasks = [t for t in tasks if t.id in wanted]
            if spec.experts == "gold":
                # the first `train_limit` tasks of the slice; those whose gold path fails are skipped
                config = ExpertConfig(
                    spec.name, spec.train_split, out, limit=spec.train_limit, per_type=spec.train_per_type
                )
                config.data_dir, config.task_ids = self.config.data_dir, [t.id for t in tasks]
                config.drop_noops = spec.drop_noops
                env = make_env(spec.name, data_dir=self.config.data_dir, **spec.env_kwargs)
                generator = ExpertGenerator(config, env)
                try:
                    generator.run()
                finally:
                    generator.close()
            else:
                source = (
                    resolve(spec.experts, self.config.data_dir)
                    if spec.experts in RESOURCES
                    else Path(spec.experts)
                )
                loaded = load_eto_sft(source, spec.name, spec.train_split)
                floor = spec.min_expert_reward  # unset: the benchmark's rule (Benchmark.min_expert_reward)
                floor = get_benchmark(spec.name).min_expert_reward if floor is None else floor
                kept = filter_by_reward(loaded, floor)
                ids = {t.id for t in tasks}
                outside = [t.task.id for t in kept if t.task.id not in ids]
                kept = [t for t in kept if t.task.id in ids]
                drops = {
                    "below_min_reward": len(loaded) - len(kept) - len(outside),
                    "not_in_split": len(outside),
                }
                drops["over_train_limit"] = max(0, len(kept) - spec.train_limit) if spec.train_limit else 0
                kept = kept[: spec.train_limit] if spec.train_limit else kept
                dropped[spec.name] = drops
                if any(drops.values()):
                    log.warning("%s: %d of %d expert records kept; dropped %s%s", source, len(kept), len(loaded),
                                drops, f" (ids not in split {spec.train_split!r}: {outside[:5]}...)" if outside else "")  # fmt: skip
                out.parent.mkdir(parents=True, exist_ok=True)
                out.unlink(missing_ok=True)  # a copy, rebuilt whole (a rerun must not append twice)
                with JsonlWriter(out) as writer:
                    writer.write_all(trajectory_to_eto(t) for t in kept)
            counts[spec.name] = len(self.experts(spec.name))
        if self.config.check_token_caps:
            self.check_token_caps()
        return {"experts": counts, "dropped": dropped} if dropped else {"experts": counts}

    def check_token_caps(self) -> None:
        """Raise ConfigError when a generation cap or SFT/DPO max_length is below what an expert needs."""
        from coevolve.models.loading import load_tokenizer
        from coevolve.pipeline.checks import cap_errors, longest_episode, longest_turn, token_counters
        from coevolve.training import DPOSettings, SFTSettings

        cfg = self.config
        generation = {"eval_sampling.max_new_tokens": cfg.eval_sampling.max_new_tokens}
        lengths = {}
        if not cfg.sft_checkpoint:
            lengths["sft.max_length"] = cfg.sft.get("max_length", SFTSettings().max_length)
        if cfg.iterations > 0:
            generation["target_sampling.max_new_tokens"] = cfg.target_sampling.max_new_tokens
            if cfg.aux_agent != "none":
                generation["aux_sampling.max_new_tokens"] = cfg.aux_sampling.max_new_tokens
            lengths["dpo.max_length"] = cfg.dpo.get("max_length", DPOSettings().max_length)
        turn, episode = token_counters(load_tokenizer(cfg.sft_checkpoint or cfg.base_model))
        errors = []
        for spec in cfg.envs:
            trajs = list(self.experts(spec.name).values())
            errors += cap_errors(
                spec.name, longest_turn(trajs, turn), longest_episode(trajs, episode), generation, lengths
            )
        if errors:
            raise ConfigError(
                "token caps do not cover the experts (or set check_token_caps: false):\n  " + "\n  ".join(errors)
            )

    # ------------------------------------------------------------------ training

    def train_sft(self) -> dict[str, Any]:
        from coevolve.training import SFTSettings, apply_overrides, train_sft

        trajs = [t for spec in self.config.envs for t in self.experts(spec.name).values()]
        out = self.run_dir / "checkpoints" / "sft"
        overrides = {"seed": self.config.seed, "logging_dir": str(self.log_dir("sft"))}
        overrides.update(self.config.sft.overrides())  # the keys the run config sets
        if self.config.launcher.kind == "accelerate":
            files = [str(self.expert_path(spec.name)) for spec in self.config.envs]
            self._launch(["sft", "--model", self.config.base_model, "--data", *files], out, overrides)
        else:
            train_sft(self.config.base_model, trajs, out, apply_overrides(SFTSettings(), overrides))
        return {"examples": len(trajs), "trained_tokens": self._trained_tokens(out)}

    def _launch(self, args: list[str], out: Path, overrides: dict[str, Any]) -> None:
        """Run a training stage as `accelerate launch ... -m coevolve.cli train ...` (one process per GPU),
        with the packaged accelerate config the launcher names (training/launch.py)."""
        from coevolve.training.launch import accelerate_command, launched_env

        launcher = self.config.launcher
        cli = ["train", *args, "--out", str(out)]
        for key, value in flatten(overrides).items():
            cli += ["--set", f"{key}={value}"]
        cmd = accelerate_command(launcher.config, launcher.num_processes, cli)
        log.info("launching: %s", " ".join(cmd))
        # its own process group, killed with us; it inherits the run lock so a resume cannot race it
        code = run_group(cmd, env=launched_env(), pass_fds=[self.lock.fd] if self.lock.fd is not None else [])
        if code:
            raise subprocess.CalledProcessError(code, cmd)

    def _train_dpo(self, agent: str, preset: str, k: int, pairs_path: Path) -> dict[str, Any]:
        from coevolve.training import DPOSettings, train_dpo

        if not pairs_path.exists():
            pairs_stage = f"iter{k}/{'target' if agent == 'target' else 'aux'}_pairs"
            raise FileNotFoundError(f"{pairs_path}: pairs file missing; rerun with --redo-from {pairs_stage}")
        pairs = pair_file(pairs_path).read()
        # this iteration's settings: plain dpo keys, ETO's (or a constant) beta/lr, then dpo.by_iteration[k]
        overrides = {
            "seed": self.config.seed,
            "logging_dir": str(self.log_dir(f"iter{k}", agent)),
            **dpo_overrides(self.config.dpo, k),
        }
        settings = DPOSettings.preset(preset, k, **overrides)
        resolved = {"beta": settings.beta, "learning_rate": settings.learning_rate,
                    "schedule": self.config.dpo.schedule or "eto"}  # fmt: skip
        if not pairs:
            log.warning("iteration %d: no pairs for the %s agent; it keeps its previous model", k, agent)
            return {"pairs": 0, "trained": False, **resolved}
        log.info("iteration %d, %s agent: DPO with beta %g, learning rate %g", k, agent, settings.beta,
                 settings.learning_rate)  # fmt: skip
        ref = self.checkpoint(agent, 0) if self.config.reference == "sft" else None
        out = self.run_dir / "checkpoints" / f"iter{k}" / agent
        start = self.checkpoint(agent, k - 1)
        if self.config.launcher.kind == "accelerate":
            args = [
                "dpo",
                "--model",
                start,
                "--pairs",
                str(pairs_path),
                "--preset",
                preset,
                "--iteration",
                str(k),
            ]
            self._launch(args + (["--ref-model", ref] if ref else []), out, overrides)
        else:
            train_dpo(start, pairs, out, settings, ref_model=ref)
        return {"pairs": len(pairs), "trained": True, "trained_tokens": self._trained_tokens(out), **resolved}

    def train_aux(self, k: int) -> dict[str, Any]:
        frozen = self.config.aux_frozen_after
        if frozen is not None and k > frozen:
            return {"pairs": 0, "trained": False, "frozen": True}
        return self._train_dpo(self.aux_name, self.config.aux_preset, k, self.pairs_path(k, "aux"))

    def train_target(self, k: int) -> dict[str, Any]:
        return self._train_dpo("target", self.config.target_preset, k, self.pairs_path(k, "target"))

    def _trained_tokens(self, out: Path) -> int:
        from coevolve.pipeline.baselines import trained_tokens
        from coevolve.training.common import DONE_FILE

        return trained_tokens(read_json(out / DONE_FILE, default={}))

    # ------------------------------------------------------------------ exploration and pairs

    def _rollout(self, agent: str, model: str, k: int, sampling, path_for: Callable[[str], Path]) -> dict:
        from coevolve.agents import make_policy
        from coevolve.rollout import run_rollouts

        cfg = self.config
        params = self._params(sampling, k, agent)
        policy = make_policy(cfg.rollout.backend, model, **cfg.rollout.backend_kwargs)
        tokens = rollouts = generated = 0
        try:
            for spec in cfg.envs:
                trajs = run_rollouts(
                    spec.name,
                    self.train_tasks(spec.name),
                    policy,
                    path_for(spec.name),
                    agent=agent,
                    params=params,
                    samples_per_task=sampling.samples_per_task,
                    **self._episode_kwargs(spec, k),
                )
                tokens += sum(t.prompt_tokens + t.completion_tokens for t in trajs)
                generated += sum(t.completion_tokens for t in trajs)
                rollouts += len(trajs)
        finally:
            policy.close()
        return {"tokens": tokens, "rollouts": rollouts, "generated_tokens": generated}

    def _episode_kwargs(self, spec, k: int) -> dict[str, Any]:
        """How episodes of one benchmark run, the same for exploration and evaluation."""
        cfg = self.config
        return {
            "max_concurrent": cfg.rollout.max_concurrent,
            "num_workers": cfg.rollout.num_workers,
            "iteration": k,
            "env_kwargs": spec.env_kwargs,
            "data_dir": cfg.data_dir,
            "with_examples": cfg.rollout.with_examples,
            "step_timeout": spec.step_timeout,
        }

    def _params(self, sampling: SamplingSpec, k: int, agent: str = "target"):
        from coevolve.agents import SamplingParams

        return SamplingParams(
            temperature=sampling.temperature,
            top_p=sampling.top_p,
            max_new_tokens=sampling.max_new_tokens,
            seed=self.config.seed + 1000 * k + (0 if agent == "target" else 500),  # agents draw apart
        )

    def explore(self, k: int) -> dict[str, Any]:
        cfg = self.config
        out = self._rollout(
            "target",
            self.checkpoint("target", k - 1),
            k,
            cfg.target_sampling,
            lambda e: self.rollout_path(k, e, "target"),
        )
        if cfg.aux_agent != "none":
            aux = self._rollout(
                self.aux_name,
                self.checkpoint(self.aux_name, k - 1),
                k,
                cfg.aux_sampling,
                lambda e: self.rollout_path(k, e, self.aux_name),
            )
            out = {key: out[key] + aux[key] for key in out}
        return out

    def reexplore_aux(self, k: int) -> dict[str, Any]:
        path = lambda e: self.layout.rollouts(k, e, self.aux_name, fresh=True)  # noqa: E731
        return self._rollout(
            self.aux_name, self.checkpoint(self.aux_name, k), k, self.config.aux_sampling, path
        )

    def rollouts(self, k: int, env: str, agent: str, fresh: bool = False) -> list[Trajectory]:
        path = self.layout.rollouts(k, env, agent, fresh=fresh)
        # in task order, not finish order: pairs (and DPO batches) must not depend on a resume
        order = {t.id: i for i, t in enumerate(self.train_tasks(env))}
        trajs = trajectory_file(path).read()
        return sorted(trajs, key=lambda t: (order.get(t.task.id, len(order)), t.task.id, t.sample_index))

    def _write_pairs(
        self, path: Path, pairs: list[PreferencePair], checks: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """The pair file and its stats; `checks` (per env) compare rollout and expert task turns."""
        from coevolve.pairs import pair_stats

        path.parent.mkdir(parents=True, exist_ok=True)
        path.unlink(missing_ok=True)  # pairs are a pure function of the rollouts: rebuild whole
        with JsonlWriter(path) as writer:
            writer.write_all(pairs)
        stats = pair_stats(pairs)
        if checks:
            stats["prompt_check"] = checks
            for env, c in checks.items():
                if c["mismatched"]:
                    counts = f"{c['mismatched']} of {c['checked']} rollouts"
                    log.warning("%s: %s differ from their expert's task turn %s", env, counts, c["by_reason"])
        stats_path = path.parent / "stats.json"
        all_stats = read_json(stats_path, default={})
        all_stats[path.stem] = stats
        write_json_atomic(stats_path, all_stats)
        return {"pairs": len(pairs)}

    def _pair_settings(self):
        from coevolve.pairs import PairSettings

        try:
            return PairSettings(**self.config.pairs.overrides())
        except TypeError as exc:
            raise ConfigError(f"config 'pairs': {exc}") from exc

    def make_aux_pairs(self, k: int) -> dict[str, Any]:
        """The second agent's pairs: the pair builder named by `aux_agent` (pairs/builders.py)."""
        return self._make_pairs(k, "aux", self.config.aux_agent, fresh=False)

    def make_target_pairs(self, k: int) -> dict[str, Any]:
        """The target's pairs: the pair builder named by `target_pairs` (pairs/builders.py)."""
        fresh = self.config.update_order == "failure_first"
        return self._make_pairs(k, "target", self.config.target_pairs, fresh=fresh)

    def _make_pairs(self, k: int, which: str, builder_name: str, fresh: bool) -> dict[str, Any]:
        from coevolve.pairs import prompt_check
        from coevolve.pairs.builders import PAIR_BUILDERS

        builder = PAIR_BUILDERS.get(builder_name)
        settings, pairs, checks = self._pair_settings(), [], {}
        for spec in self.config.envs:
            experts = self.experts(spec.name) if builder.checks_prompts or builder.role == "target" else {}
            target = self.rollouts(k, spec.name, "target")
            aux: list[Trajectory] = []
            if builder.uses_aux and self.config.aux_agent != "none":
                aux = self.rollouts(k, spec.name, self.aux_name, fresh=fresh and which == "target")
            pairs += builder.build(experts, target, aux, settings)
            if builder.checks_prompts:
                checks[spec.name] = prompt_check(experts, [*target, *aux])
        return self._write_pairs(self.pairs_path(k, which), pairs, checks)

    # ------------------------------------------------------------------ evaluation and results

    def evaluate(self, k: int) -> dict[str, Any]:
        from coevolve.evaluation.runner import evaluate_splits

        cfg, s = self.config, self.config.eval_sampling
        if cfg.eval_select == "best":  # best-of-n: N sampled episodes per task (pipeline/baselines.py)
            best = cfg.best_of_n
            s = dataclasses.replace(s, temperature=best.temperature, samples_per_task=best.samples)
        summaries = {}
        for spec in cfg.envs:  # the splits of one benchmark share one pool of live episodes
            splits = evaluate_splits(
                self.checkpoint("target", k),
                spec.name,
                {split: self.eval_dir(k, spec.name, split) for split in spec.eval_splits},
                tasks={split: self.eval_tasks(spec.name, split) for split in spec.eval_splits},
                backend=cfg.rollout.backend,
                policy_kwargs=cfg.rollout.backend_kwargs,
                params=self._params(s, k),
                samples_per_task=s.samples_per_task,
                **self._episode_kwargs(spec, k),
                select=cfg.eval_select,
            )
            summaries.update({f"{spec.name}_{split}": summary for split, summary in splits.items()})
        generated = sum(v["generated_tokens"] for v in summaries.values())
        return {
            "avg_reward": {key: v["avg_reward"] for key, v in summaries.items()},
            "rollouts": sum(v["episodes"] for v in summaries.values()),
            "generated_tokens": generated,
            "tokens": generated + sum(v["prompt_tokens"] for v in summaries.values()),
        }

    def _record_cost(self, stage: str, outputs: dict[str, Any]) -> None:
        import torch

        path = self.run_dir / "costs.json"
        costs = read_json(path, default=[])
        costs = [c for c in costs if c["stage"] != stage]
        cuda = torch.cuda.is_available()
        costs.append(
            {
                "stage": stage,
                "seconds": round(self.manifest.stages[stage].seconds, 2),
                "tokens": int(outputs.get("tokens", 0)),  # rollout prompt + generated tokens
                "rollouts": int(outputs.get("rollouts", 0)),  # episodes (evaluation stages: eval episodes)
                "generated_tokens": int(outputs.get("generated_tokens", 0)),
                "trained_tokens": int(outputs.get("trained_tokens", 0)),  # non-padding, all epochs
                "device": "cuda" if cuda else "cpu",
                "gpus": torch.cuda.device_count() if cuda else 0,
                "finished": time.strftime("%Y-%m-%d %H:%M:%S"),
            }
        )
        write_json_atomic(path, costs)

    def results(self) -> dict[str, Any]:
        """The target's final evaluation summaries, by "{env}_{split}"."""
        last = max(
            (k for k in range(self.config.iterations + 1) if (self.run_dir / "eval" / f"iter{k}").exists()),
            default=None,
        )
        if last is None:
            return {}
        out = {}
        for summary in sorted((self.run_dir / "eval" / f"iter{last}").glob("*/summary.json")):
            out[summary.parent.name] = json.loads(summary.read_text())
        return {"iteration": last, "method": self.config.method, "summaries": out}


# ------------------------------------------------------------------ the stage kinds methods declare
# Each runs a Pipeline method looked up at call time (so a subclass or a test may replace it).


def _ck(pipe: Pipeline, k: int, agent: str) -> list[Path]:
    return [pipe.layout.checkpoint(k, agent), pipe.layout.logs(f"iter{k}", agent)]


register_stage("experts", outputs=lambda p, k: [p.layout.experts_dir])(lambda p, k: p.make_experts())
register_stage("sft", outputs=lambda p, k: [p.layout.sft_checkpoint, p.layout.logs("sft")])(
    lambda p, k: p.train_sft()
)
register_stage("eval", outputs=lambda p, k: [p.layout.eval_iteration(k)])(lambda p, k: p.evaluate(k))
register_stage("explore", outputs=lambda p, k: [p.layout.rollouts_dir(k)])(lambda p, k: p.explore(k))
register_stage("aux_pairs", outputs=lambda p, k: [p.layout.pairs(k, "aux")])(lambda p, k: p.make_aux_pairs(k))
register_stage("train_aux", outputs=lambda p, k: _ck(p, k, p.aux_name))(lambda p, k: p.train_aux(k))
register_stage("reexplore_aux", outputs=lambda p, k: [p.layout.rollouts_dir(k, fresh=True)])(
    lambda p, k: p.reexplore_aux(k)
)
register_stage("target_pairs", outputs=lambda p, k: [p.layout.pairs(k, "target")])(
    lambda p, k: p.make_target_pairs(k)
)
register_stage("train_target", outputs=lambda p, k: _ck(p, k, "target"))(lambda p, k: p.train_target(k))
