"""`coevolve train sft|dpo`: fine-tune a model on expert trajectories or preference pairs.

Multi-GPU: `--launcher accelerate --accelerate-config zero3 --num-processes 8` re-runs this command under
`accelerate launch` (configs in configs/accelerate/: zero3, fsdp, multi_gpu), equivalent to
`accelerate launch --config_file configs/accelerate/zero3.yaml -m coevolve.cli train ...`.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from coevolve.configtree import add_flags, add_overrides, flag_values
from coevolve.procs import run_group, watch_launcher_parent
from coevolve.training.launch import CONFIG_DIR, accelerate_config, launch_command, launched_env  # noqa: F401
from coevolve.training.settings import DPOConfig, SFTConfig

log = logging.getLogger(__name__)



def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("train", help="SFT or multi-turn DPO training")
    algo = parser.add_subparsers(dest="algorithm", required=True, metavar="ALGORITHM")
    sft = algo.add_parser("sft", help="behaviour cloning on ETO/IPR SFT files (assistant-only loss)")
    sft.add_argument("--data", nargs="+", required=True, help="ETO/IPR SFT files (JSON list or JSONL)")
    dpo = algo.add_parser("dpo", help="observation-masked multi-turn DPO (+ NLL) on preference pairs")
    dpo.add_argument("--pairs", nargs="+", required=True, help="PreferencePair JSONL or ETO DPO files")
    dpo.add_argument("--preset", default="eto", choices=["target", "failure", "eto"])
    dpo.add_argument("--iteration", type=int, default=1, help="selects beta/lr (ETO schedule)")
    dpo.add_argument("--ref-model", help="fixed reference (default: the starting checkpoint --model)")
    for sub in (sft, dpo):
        sub.add_argument("--model", required=True, help="hub id, checkpoint dir or smollm2-135m")
        sub.add_argument("--out", required=True, type=Path, help="output dir (resumes its checkpoint-*)")
        sub.add_argument("--env", default="unknown", help="environment name stored in the loaded records")
        add_overrides(sub, "override a setting, e.g. --set epochs=1 --set lora.r=8")
        sub.add_argument("--lora", action="store_true", help="train a LoRA adapter (PEFT)")
        sub.add_argument("--merge-lora", action=argparse.BooleanOptionalAction, default=True,
                         help="save the adapter merged into the model (default) or as an adapter")  # fmt: skip
        sub.add_argument("--launcher", choices=["none", "accelerate"], default="none")
        sub.add_argument("--accelerate-config", default="zero3",
                         help="a packaged accelerate config (zero3, fsdp, multi_gpu) or a file")  # fmt: skip
        sub.add_argument("--num-processes", type=int, default=None)
    # one flag per setting, generated from the config classes (help and defaults in one place)
    for sub, cls in ((sft, SFTConfig), (dpo, DPOConfig)):
        group = sub.add_argument_group(f"settings ({cls.__name__}; also --set KEY=VALUE)")
        group.add_argument("--lr", dest="setting_learning_rate", type=float, help="same as --learning-rate")
        sub.set_defaults(func=run, setting_flags=add_flags(group, cls, dest_prefix=SETTING))


SETTING = "setting_"  # dest prefix of the generated setting flags


def _overrides(args: argparse.Namespace) -> list[str]:
    values = flag_values(args, args.setting_flags, SETTING)
    items = [f"{name}={value}" for name, value in values.items()]
    if args.lora:
        items += ["lora=true", f"lora.merge={str(args.merge_lora).lower()}"]
    return items + list(args.overrides)


def relaunch(args: argparse.Namespace, argv: list[str]) -> int:
    """Re-run this command under `accelerate launch` (one process per GPU)."""
    cmd = launch_command(args, argv)
    log.info("launching: %s", " ".join(cmd))
    return run_group(cmd, env=launched_env())  # dies with this process


def run(args: argparse.Namespace) -> int:
    watch_launcher_parent()  # a job launched by a pipeline ends when the pipeline is killed
    if args.launcher == "accelerate" and not os.environ.get("COEVOLVE_LAUNCHED"):
        return relaunch(args, sys.argv[1:])
    from coevolve.training import apply_overrides, train_dpo, train_sft
    from coevolve.training.data import load_pair_files, load_sft_files

    if args.algorithm == "sft":
        settings = apply_overrides(SFTConfig(), _overrides(args))
        trajs = load_sft_files(args.data, args.env, settings.min_reward)
        log.info("SFT on %d trajectories from %s", len(trajs), ", ".join(args.data))
        out = train_sft(args.model, trajs, args.out, settings)
    else:
        settings = DPOConfig.preset(args.preset, args.iteration)
        settings = apply_overrides(settings, _overrides(args))
        pairs = load_pair_files(args.pairs, args.env)
        log.info("DPO (%s, iteration %d) on %d pairs", args.preset, args.iteration, len(pairs))
        out = train_dpo(args.model, pairs, args.out, settings, ref_model=args.ref_model)
    print(out)
    return 0
