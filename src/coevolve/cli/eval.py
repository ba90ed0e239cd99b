"""`coevolve eval`: evaluate a model on an environment split (greedy by default), resumable."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console
from rich.table import Table

from coevolve.agents.base import SamplingConfig, backend_names
from coevolve.configtree import add_flags, flag_values
from coevolve.pipeline.config import RolloutConfig

SAMPLING_FLAGS = ["temperature", "top_p", "max_new_tokens", "seed"]
ROLLOUT_FLAGS = ["max_concurrent", "num_workers"]


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("eval", help="evaluate a model on an environment split")
    parser.add_argument("--model", required=True, help="alias (smollm2-135m), checkpoint dir or hub id")
    parser.add_argument("--env", required=True, help="environment name (`coevolve ls envs`)")
    parser.add_argument("--split", required=True, help="split of that environment (`coevolve ls envs`)")
    parser.add_argument("--out", required=True, help="output dir: episodes.jsonl + summary.json")
    parser.add_argument("--limit", type=int, help="first N tasks of the split")
    parser.add_argument("--backend", default="hf", choices=backend_names())
    # decoding and rollout flags from the config classes the run config uses (same defaults: one place)
    add_flags(parser.add_argument_group("sampling (SamplingConfig)"), SamplingConfig, SAMPLING_FLAGS)
    parser.add_argument(
        "--max-steps", type=int, help="smoke tests: stop episodes after N steps (below the benchmark's caps)"
    )
    add_flags(parser.add_argument_group("rollout (RolloutConfig)"), RolloutConfig, ROLLOUT_FLAGS)
    parser.add_argument(
        "--no-examples", action="store_true", help="drop the in-context example from prompts (SFT'd models)"
    )
    parser.add_argument(
        "--no-prefix-cache",
        action="store_true",
        help="hf: re-prefill every prompt (no KV reuse across turns)",
    )
    parser.add_argument("--agent", default="target")
    parser.add_argument("--data-label", default="official", choices=["official", "generated"])
    parser.add_argument("--data-dir", help="folder laid out like the resource names (or COEVOLVE_DATA_DIR)")
    parser.add_argument("--device", help="hf/vllm: device (default: cuda if available)")
    parser.add_argument(
        "--dtype", help="hf: float32 | bfloat16 | float16 (default: bf16 on GPU, fp32 on CPU)"
    )
    parser.add_argument(
        "--threads", type=int, help="hf: torch CPU threads (1 is fastest on busy shared cores)"
    )
    parser.add_argument("--base-url", help="openai: server URL, e.g. http://127.0.0.1:8000/v1")
    parser.set_defaults(func=run)


def _policy_kwargs(args: argparse.Namespace) -> dict:
    if args.backend == "hf":
        kwargs = {"device": args.device, "dtype": args.dtype, "num_threads": args.threads}
        kwargs = {k: v for k, v in kwargs.items() if v}
        return {**kwargs, "prefix_cache": False} if args.no_prefix_cache else kwargs
    if args.backend == "openai":
        return {"base_url": args.base_url} if args.base_url else {}
    return {"dtype": args.dtype} if args.dtype else {}


def check_model_path(model: str, flag: str = "--model") -> None:
    """A model given as a path must exist (else the hub loader answers with a confusing repo-id error)."""
    if model.startswith(("/", "./", "../", "~")) and not Path(model).expanduser().exists():
        raise FileNotFoundError(f"{flag} {model}: no such checkpoint directory")


def run(args: argparse.Namespace) -> int:
    from coevolve.evaluation.runner import evaluate

    check_model_path(args.model)
    params = SamplingConfig(**flag_values(args, SAMPLING_FLAGS))
    rollout = RolloutConfig(**flag_values(args, ROLLOUT_FLAGS))
    summary = evaluate(
        args.model,
        args.env,
        args.split,
        args.out,
        limit=args.limit,
        backend=args.backend,
        params=params,
        max_concurrent=rollout.max_concurrent,
        num_workers=rollout.num_workers,
        agent=args.agent,
        data_label=args.data_label,
        data_dir=args.data_dir,
        policy_kwargs=_policy_kwargs(args),
        max_steps=args.max_steps,
        with_examples=not args.no_examples,
    )
    table = Table("metric", "value", title=f"{args.env} {args.split} · {args.model}")
    for key in ("episodes", "avg_reward", "success_rate", "avg_steps", "parse_rate"):
        value = summary[key]
        table.add_row(key, f"{value:.3f}" if isinstance(value, float) else str(value))
    table.add_row("end_reasons", ", ".join(f"{k}: {v}" for k, v in summary["end_reasons"].items()))
    Console().print(table)
    print(f"wrote {args.out}/episodes.jsonl and {args.out}/summary.json")
    return 0
