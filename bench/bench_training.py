"""Training throughput and peak memory for SFT and masked DPO, with and without LoRA.

Each configuration runs in its own process (clean peak RSS). Tokens/s counts every attended token of
the training batches (TRL's `num_tokens`) of steps 2..N over their wall time (model loading, the DPO
reference precompute and the first step's warm-up are excluded). Use --steps >= 2.

    COEVOLVE_DATA_DIR=... python bench/bench_training.py --model smollm2-135m --steps 3
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

import torch
from transformers import TrainerCallback

CONFIGS = ["sft", "sft+lora", "dpo", "dpo+lora"]


def records(n: int):
    from coevolve.data.records import Message, PreferencePair, Task, Trajectory

    prompt = [Message("user", "Instruction: act in the shop. Reply with Thought: ... Action: ..."),
              Message("assistant", "OK"), Message("user", "Task: buy a red cotton shirt under 30 dollars")]  # fmt: skip

    def side(tag: str) -> list[Message]:
        turns = []
        for k in range(3):
            turns.append(
                Message("assistant", f"Thought: step {k} of the {tag} plan.\nAction: search[{tag} {k}]")
            )
            if k < 2:
                turns.append(Message("user", f"Observation: page {k} lists items B0{k}1, B0{k}2 and prices."))
        return turns

    trajs = [Trajectory(Task("webshop", "train", str(i)), "expert", prompt[0].content, [prompt[2], *side("good")],
                        1.0, True, "expert") for i in range(n)]  # fmt: skip
    pairs = [PreferencePair(str(i), "webshop", prompt, side("good"), side("bad"), "expert_vs_target", 1.0, 0.0)
             for i in range(n)]  # fmt: skip
    return trajs, pairs


class StepClock(TrainerCallback):
    def __init__(self) -> None:
        self.times: list[float] = []

    def on_step_end(self, args, state, control, **kwargs):
        self.times.append(time.perf_counter())


def run_one(config: str, model: str, steps: int, micro: int) -> dict:
    from coevolve.training import DPOSettings, LoraSettings, SFTSettings, build_dpo_trainer
    from coevolve.training.sft import train_sft  # noqa: F401  (import cost outside the timing)

    lora = LoraSettings(r=16) if config.endswith("+lora") else None
    common = dict(batch_size=micro, micro_batch_size=micro, max_steps=steps, max_length=1024, logging_steps=1,
                  save_steps=10_000, lora=lora, warmup=0.0)  # fmt: skip
    trajs, pairs = records(micro * steps)
    with tempfile.TemporaryDirectory() as tmp:
        if config.startswith("sft"):
            from datasets import Dataset
            from trl import SFTTrainer

            from coevolve.models import load_causal_lm, load_tokenizer
            from coevolve.training.common import peft_config
            from coevolve.training.data import sft_rows
            from coevolve.training.sft import sft_config

            s = SFTSettings(**common)
            trainer = SFTTrainer(model=load_causal_lm(model), args=sft_config(s, Path(tmp)),
                                 train_dataset=Dataset.from_list(sft_rows(trajs)),
                                 processing_class=load_tokenizer(model), peft_config=peft_config(lora))  # fmt: skip
        else:
            s = DPOSettings.preset("target", 1, **common)
            trainer = build_dpo_trainer(model, pairs, Path(tmp), s)
        clock = StepClock()
        trainer.add_callback(clock)
        trainer.train()
    # steady state: steps 2..N (the first step pays one-off warm-up costs)
    counts = [e["num_tokens"] for e in trainer.state.log_history if "num_tokens" in e]
    tokens, seconds = counts[-1] - counts[0], clock.times[-1] - clock.times[0]
    return {"config": config, "steps": steps, "micro_batch": micro, "tokens": int(tokens),
            "seconds": round(seconds, 2), "tokens_per_s": round(tokens / seconds, 1),
            "peak_rss_gb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="smollm2-135m")
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--micro-batch", type=int, default=2)
    parser.add_argument("--configs", nargs="+", default=CONFIGS, choices=CONFIGS)
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_one(args.one, args.model, args.steps, args.micro_batch)))
        return
    from coevolve.models import resolve_model_path

    resolve_model_path(args.model)  # convert once before the timed children
    device = (
        torch.cuda.get_device_name()
        if torch.cuda.is_available()
        else f"CPU, {torch.get_num_threads()} threads"
    )
    print(f"model {args.model}, {device}, torch {torch.__version__}\n")
    print(
        "| run | timed steps x micro batch | tokens | seconds | tokens/s | peak RSS (GB) |\n|---|---|---|---|---|---|"
    )
    for config in args.configs:
        cmd = [sys.executable, __file__, "--one", config, "--model", args.model, "--steps", str(args.steps),
               "--micro-batch", str(args.micro_batch)]  # fmt: skip
        out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1]
        r = json.loads(out)
        print(f"| {r['config']} | {r['steps'] - 1} x {r['micro_batch']} | {r['tokens']} | {r['seconds']} | "
              f"{r['tokens_per_s']} | {r['peak_rss_gb']} |", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
