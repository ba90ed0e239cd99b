"""Training throughput: the plain PyTorch loop (the bound), TRL's path and our fast path, SFT and DPO.

All runs train on the same tokens: expert trajectories from a JSONL file (`coevolve expert sciworld ...`),
cut at `--max-length` tokens (keep_start, as the trainers cut). DPO pairs are built from the same
experts: chosen = an expert episode, rejected = the same episode with the assistant turns of another
expert (real tokens, same prompt). Each configuration runs in its own child process, one after the
other in one invocation, so peak RSS is per run and the ratios are measured side by side:

- `plain`: a hand-written loop (per sequence, unpadded, full-vocabulary logits, AdamW, grad clipping)
  in the best precision of the machine (bf16 autocast where the CPU has AMX/AVX512-BF16): the bound;
- `plain-fp32`: the same loop in fp32;
- `trl`: our trainers with `fast_path=false` (TRL's loss path, padded batches, fp32 on CPU: the path
  before the fast path);
- `fast`: our trainers with the default fast path.

Steady-state tokens/s counts the attended tokens of steps 2..N over their wall time, tok/CPU-s over the
process CPU time (user + system, all threads) of the same steps: on a shared machine, where wall time
depends on the other jobs, the CPU-time ratio to the bound is the stable one. `e2e tok/s`
divides all tokens by the wall time from the child's start (imports, model load, dataset preparation,
DPO reference precompute, first step included); `start-up loss` = 1 - e2e / steady.

    .venv/bin/python bench/bench_training.py --experts sciworld_experts.jsonl --steps 6 --micro-batch 2

`--startup` instead times whole `coevolve train sft|dpo` commands (a child process each, the CLI as a
user runs it, default settings apart from the step count and batch shape), SFT and DPO alternately:
start-up = wall time from launching the command to the beginning of its first optimizer step
(imports, model and tokenizer load, data preparation with assistant masks, DPO reference log-probs,
trainer construction), from the step times the trainer records in training_done.json (`timing`);
`start-up share` = start-up / the command's whole wall time. Time after the first step that is not in
an optimizer step (checkpoints, the final save, exit) is reported beside it as `other`; the DPO
reference pass (a forward over every pair, DPO's own compute) is reported on its own too, with the
share the rest of the start-up would have in a run without it.

    .venv/bin/python bench/bench_training.py --startup --experts sciworld_experts.jsonl --steps 6 \
        --batch-size 4 --micro-batch 2 --repeat 2
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CONFIGS = ["plain", "plain-fp32", "trl", "fast"]


def load_experts(path: str, n: int):
    from coevolve.training.data import load_sft_files

    trajs = load_sft_files([path], "sciworld")
    if len(trajs) < n + 1:
        raise SystemExit(f"{path}: {len(trajs)} experts, need {n + 1} (--steps x --micro-batch + 1)")
    return trajs[: n + 1]


def make_pairs(trajs):
    """Chosen: expert i; rejected: expert i's observations with expert i+1's assistant turns."""
    from coevolve.data.formats import ACK
    from coevolve.data.records import Message, PreferencePair

    pairs = []
    for i, traj in enumerate(trajs[:-1]):
        other = [m.content for m in trajs[i + 1].messages if m.role == "assistant"]
        first, rest = traj.messages[0], traj.messages[1:]
        prompt = [Message("user", traj.instruction), Message("assistant", ACK), first]
        rejected, k = [], 0
        for m in rest:
            if m.role == "assistant":
                rejected.append(Message("assistant", other[k % len(other)]))
                k += 1
            else:
                rejected.append(m)
        pairs.append(PreferencePair(str(i), "sciworld", prompt, rest, rejected, "expert_vs_target", 1.0, 0.0))
    return pairs


# ---------------------------------------------------------------------------- plain loops (the bound)


def plain_rows(kind: str, model_name: str, trajs, pairs, max_length: int):
    """Token rows as the trainers see them: (ids, score mask) per sequence; DPO: chosen then rejected."""
    from coevolve.models import assistant_tokens, load_tokenizer
    from coevolve.training.data import dpo_rows, sft_rows
    from coevolve.training.masked_dpo import tokenize_pair

    tok = load_tokenizer(model_name)
    if kind == "sft":
        rows = [assistant_tokens(tok, r["messages"]) for r in sft_rows(trajs)]
        return [(ids[:max_length], mask[:max_length]) for ids, mask in rows]
    out = []
    for row in dpo_rows(pairs):
        t = tokenize_pair(row, tok)
        for side in ("chosen", "rejected"):
            ids = (t["prompt_ids"] + t[f"{side}_ids"])[:max_length]
            mask = ([0] * len(t["prompt_ids"]) + t[f"{side}_mask"])[:max_length]
            out.append((ids, mask))
    return out


def seq_logps(model, ids, mask):
    import torch

    ids_t = torch.tensor([ids])
    logits = model(input_ids=ids_t, use_cache=False).logits[0, :-1].float()
    logp = logits.log_softmax(-1).gather(-1, ids_t[0, 1:, None])[:, 0]
    return logp, torch.tensor(mask[1:], dtype=torch.bool)


def run_plain(kind: str, model_name: str, rows, steps: int, micro: int, bf16: bool, clock: list):
    import torch
    import torch.nn.functional as F

    from coevolve.models import load_causal_lm

    model = load_causal_lm(model_name, dtype="float32").train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-5)

    def ctx():
        return torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16)

    per_step = micro * (2 if kind == "dpo" else 1)
    refs = []
    if kind == "dpo":  # reference log-probs once, before the timed loop (as precompute_ref does)
        with torch.no_grad(), ctx():
            for ids, mask in rows:
                logp, m = seq_logps(model, ids, mask)
                refs.append(logp[m].sum())
    tokens = []
    clock.append((time.perf_counter(), time.process_time()))
    for step in range(steps):
        batch = rows[step * per_step : (step + 1) * per_step]
        with ctx():
            parts = [seq_logps(model, ids, mask) for ids, mask in batch]
        if kind == "sft":
            loss = -sum(lp[m].sum() for lp, m in parts) / sum(int(m.sum()) for _, m in parts)
        else:
            logps = torch.stack([lp[m].sum() for lp, m in parts])
            ref = torch.stack(refs[step * per_step : (step + 1) * per_step])
            ratio = logps - ref
            loss = -F.logsigmoid(0.1 * (ratio[0::2] - ratio[1::2])).mean() * 0.5
            chosen = parts[0::2]
            loss = loss + 0.5 * -sum(lp[m].sum() for lp, m in chosen) / sum(int(m.sum()) for _, m in chosen)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad()
        tokens.append(sum(len(ids) for ids, _ in batch))
        clock.append((time.perf_counter(), time.process_time()))
    return tokens


# ---------------------------------------------------------------------------- our trainers


def run_trainer(kind: str, config: str, model_name: str, trajs, pairs, steps, micro, max_length, clock):
    from transformers import TrainerCallback

    from coevolve.training import DPOSettings, SFTSettings, build_dpo_trainer
    from coevolve.training.sft import build_sft_trainer

    class Clock(TrainerCallback):
        def on_train_begin(self, args, state, control, **kwargs):
            clock.append((time.perf_counter(), time.process_time()))

        def on_step_end(self, args, state, control, **kwargs):
            clock.append((time.perf_counter(), time.process_time()))

    common = dict(batch_size=micro, micro_batch_size=micro, max_steps=steps, max_length=max_length,
                  logging_steps=1, save_steps=10_000, warmup=0.0, fast_path=config == "fast")  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        if kind == "sft":
            trainer = build_sft_trainer(model_name, trajs[:-1], Path(tmp), SFTSettings(**common))
        else:
            trainer = build_dpo_trainer(
                model_name, pairs, Path(tmp), DPOSettings.preset("target", 1, **common)
            )
        trainer.args.dataloader_drop_last = False
        trainer.add_callback(Clock())
        checkpointing = bool(getattr(trainer.model, "is_gradient_checkpointing", False))
        trainer.train()
    counts = [e["num_tokens"] for e in trainer.state.log_history if "num_tokens" in e and "loss" in e]
    path = trainer.fast_path.to_dict() if trainer.fast_path else None
    return [b - a for a, b in zip([0, *counts], counts, strict=False)], path, checkpointing


def run_one(args) -> dict:
    kind, config = args.one.split(":")
    n = args.steps * args.micro_batch
    trajs = load_experts(args.experts, n)
    pairs = make_pairs(trajs)[:n]
    clock: list[tuple[float, float]] = []
    extra = {}
    if config.startswith("plain"):
        from coevolve.training.fastpath import cpu_bf16_flags, tune_cpu_runtime

        tune_cpu_runtime()
        bf16 = config == "plain" and bool(cpu_bf16_flags())
        rows = plain_rows(kind, args.model, trajs[:n], pairs, args.max_length)
        tokens = run_plain(kind, args.model, rows, args.steps, args.micro_batch, bf16, clock)
        extra["precision"] = "bf16-autocast" if bf16 else "float32"
    else:
        tokens, path, ckpt = run_trainer(kind, config, args.model, trajs, pairs, args.steps, args.micro_batch,
                                         args.max_length, clock)  # fmt: skip
        extra["precision"] = path["precision"] if path and path["enabled"] else "float32 (TRL)"
        extra["gradient_checkpointing"] = ckpt
    end = time.time()
    steps = clock[-len(tokens) :]  # (wall, process CPU) at the end of each step
    steady_tokens, steady_s = sum(tokens[1:]), steps[-1][0] - steps[0][0]
    steady_cpu = steps[-1][1] - steps[0][1]
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {"run": f"{kind} {config}", "steps": len(tokens), "tokens": sum(tokens),
            "steady_tok_s": round(steady_tokens / steady_s, 1), "tok_per_cpu_s": round(steady_tokens / steady_cpu, 2), "e2e_s": round(end - args.t0, 1),
            "e2e_tok_s": round(sum(tokens) / (end - args.t0), 1), "user_s": round(usage.ru_utime, 1),
            "sys_s": round(usage.ru_stime, 1), "peak_rss_gb": round(usage.ru_maxrss / 2**20, 2), **extra}  # fmt: skip


# ---------------------------------------------------------------------------- start-up of whole runs


def startup_inputs(args, tmp: Path) -> dict[str, Path]:
    """The first steps x batch experts (SFT file) and as many pairs built from them (pair file)."""
    from coevolve.data.records import to_dict

    n = args.steps * args.batch_size
    trajs = load_experts(args.experts, n)
    lines = [line for line in Path(args.experts).read_text().splitlines() if line.strip()]
    files = {"sft": tmp / "experts.jsonl", "dpo": tmp / "pairs.jsonl"}
    files["sft"].write_text("\n".join(lines[:n]) + "\n")
    files["dpo"].write_text("".join(json.dumps(to_dict(p)) + "\n" for p in make_pairs(trajs)[:n]))
    return files


def time_command(kind: str, args, data: Path, out: Path) -> dict:
    """Run `coevolve train KIND` to completion; split its wall time with the trainer's step clock."""
    exe = Path(sys.executable).with_name("coevolve")
    cmd = [str(exe), "train", kind, "--data" if kind == "sft" else "--pairs", str(data), "--model", args.model, "--out", str(out),
           "--env", "sciworld", "--max-steps", str(args.steps), "--batch-size", str(args.batch_size),
           "--micro-batch-size", str(args.micro_batch), "--max-length", str(args.max_length)]  # fmt: skip
    cmd += ["--threads", str(args.threads)] if args.threads else []
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.time()
    done = subprocess.run(cmd, capture_output=True, text=True)
    total = time.time() - t0
    if done.returncode:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{done.stderr[-3000:]}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    info = json.loads((out / "training_done.json").read_text())
    steps = info["timing"]["steps"]
    startup, in_steps = steps[0][0] - t0, sum(e - b for b, e in steps)
    ref = sum(e - b for b, e in info["timing"].get("reference_pass") or [])
    return {"kind": kind, "total_s": total, "startup_s": startup, "steps_s": in_steps, "ref_s": ref,
            "other_s": total - startup - in_steps, "n_steps": len(steps), "precision": info["fast_path"]["precision"],
            "user_s": after.ru_utime - before.ru_utime, "sys_s": after.ru_stime - before.ru_stime}  # fmt: skip


def run_startup(args) -> None:
    import platform

    print(f"start-up of `coevolve train` ({args.steps} steps, batch {args.batch_size}, micro batch "
          f"{args.micro_batch}, max_length {args.max_length}, model {args.model}; {platform.node()}, "
          f"{time.strftime('%Y-%m-%d %H:%M %Z')})\n")  # fmt: skip
    print("| run | precision | wall s | start-up s | of which DPO reference pass s | optimizer steps s (n) | other s | "
          "start-up share | start-up share without reference pass | outside steps | user s | sys s |\n"
          "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")  # fmt: skip
    shares: dict[str, list[float]] = {k: [] for k in args.kinds}
    with tempfile.TemporaryDirectory() as tmp:
        files = startup_inputs(args, Path(tmp))
        for rep in range(args.repeat):
            for kind in args.kinds:  # alternate, so machine load affects both alike
                r = time_command(kind, args, files[kind], Path(tmp) / f"{kind}-{rep}")
                share = r["startup_s"] / r["total_s"]
                shares[kind].append(share)
                lean = (r["startup_s"] - r["ref_s"]) / (r["total_s"] - r["ref_s"])
                print(f"| {kind} #{rep + 1} | {r['precision']} | {r['total_s']:.1f} | {r['startup_s']:.1f} | "
                      f"{r['ref_s']:.1f} | {r['steps_s']:.1f} ({r['n_steps']}) | {r['other_s']:.1f} | {share:.1%} | "
                      f"{lean:.1%} | {1 - r['steps_s'] / r['total_s']:.1%} | {r['user_s']:.1f} | {r['sys_s']:.1f} |",
                      flush=True)  # fmt: skip
    for kind, values in shares.items():
        print(f"\n{kind}: start-up share mean {sum(values) / len(values):.1%} over {len(values)} run(s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--experts", required=True, help="expert trajectories (JSONL, ETO format)")
    parser.add_argument("--model", default="smollm2-135m")
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--micro-batch", type=int, default=2)
    parser.add_argument("--max-length", type=int, default=1024)
    parser.add_argument("--kinds", nargs="+", default=["sft", "dpo"], choices=["sft", "dpo"])
    parser.add_argument("--configs", nargs="+", default=CONFIGS, choices=CONFIGS)
    parser.add_argument("--startup", action="store_true", help="time whole `coevolve train` runs (see above)")
    parser.add_argument("--batch-size", type=int, default=4, help="--startup: optimizer batch")
    parser.add_argument("--repeat", type=int, default=1, help="--startup: runs per kind, interleaved")
    parser.add_argument("--threads", type=int, help="--startup: passed to `coevolve train --threads`")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    parser.add_argument("--t0", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_one(args)))
        return
    if args.startup:
        run_startup(args)
        return
    import torch

    from coevolve.models import resolve_model_path
    from coevolve.training.fastpath import cpu_bf16_flags

    resolve_model_path(args.model)  # convert once before the timed children
    print(f"model {args.model}, torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"CPU bf16 features: {cpu_bf16_flags() or 'none'}; {args.steps} steps x micro batch {args.micro_batch}, "
          f"max_length {args.max_length}\n")  # fmt: skip
    print("| run | precision | tokens | steady tok/s | tok/CPU-s | vs bound (CPU) | e2e tok/s | start-up loss | user s "
          "| sys s | peak RSS GB |\n|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")  # fmt: skip
    for kind in args.kinds:
        bound = None
        for config in args.configs:
            cmd = [sys.executable, __file__, "--one", f"{kind}:{config}", "--experts", args.experts, "--model",
                   args.model, "--steps", str(args.steps), "--micro-batch", str(args.micro_batch),
                   "--max-length", str(args.max_length), "--t0", str(time.time())]  # fmt: skip
            out = subprocess.run(cmd, capture_output=True, text=True)
            if out.returncode:
                print(f"| {kind} {config} | failed: {out.stderr.strip().splitlines()[-1]} |", flush=True)
                continue
            r = json.loads(out.stdout.strip().splitlines()[-1])
            bound = r["tok_per_cpu_s"] if config == "plain" else bound
            ratio = f"{r['tok_per_cpu_s'] / bound:.2f}" if bound else "-"
            loss = 1 - r["e2e_tok_s"] / r["steady_tok_s"]
            print(f"| {r['run']} | {r['precision']} | {r['tokens']} | {r['steady_tok_s']} | {r['tok_per_cpu_s']} | {ratio} | "
                  f"{r['e2e_tok_s']} | {loss:.0%} | {r['user_s']} | {r['sys_s']} | {r['peak_rss_gb']} |",
                  flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
