"""`coevolve compare CONFIG --methods sft,eto,... --out DIR`: every method of a config from one SFT model.

OUT/sft trains and evaluates the SFT model; OUT/<method> runs each other method from it with the same
experts, tasks and evaluation; OUT/report holds the results table. Rerun the same command to resume.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import yaml
from rich.console import Console

from coevolve.configtree import add_overrides
from coevolve.pipeline.compare import PAPER_METHODS, comparison_configs, preflight_comparison, run_comparison
from coevolve.pipeline.config import load_config_dict


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "compare", help="run several methods of one config from one shared SFT model (resumable)"
    )
    parser.add_argument("config", help="YAML run config (see configs/); its `method` key is ignored")
    parser.add_argument(
        "--methods",
        default=",".join(PAPER_METHODS),
        help=f"comma-separated methods (default: {','.join(PAPER_METHODS)}); sft always runs first",
    )
    parser.add_argument("--out", help="output folder (default: runs/<config name>-compare)")
    add_overrides(
        parser, "override a config key for every method, e.g. --set base_model=Qwen/Qwen3-4B-Instruct-2507"
    )
    parser.add_argument("--data-dir", help="folder with local copies of data files (or COEVOLVE_DATA_DIR)")
    parser.add_argument("--check", action="store_true", help="validate every method's config and stop")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from coevolve.evaluation.report import write_report

    data = load_config_dict(args.config, args.overrides)
    if args.data_dir:
        data["data_dir"] = args.data_dir
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    out = Path(args.out or Path("runs") / f"{Path(args.config).stem}-compare")
    configs = comparison_configs(data, out, methods, str(args.config))
    console = Console()
    for note in preflight_comparison(configs, out, str(args.config)):  # as `coevolve run`: before compute
        console.print(f"note: {note}")
    if args.check:
        for method, config in configs.items():
            console.print(
                f"{method}: ok ({config.iterations} iterations, sft from {config.sft_checkpoint or 'here'})"
            )
        return 0
    out.mkdir(parents=True, exist_ok=True)
    (out / "compare.yaml").write_text(
        yaml.safe_dump({"methods": list(configs), "config": data}, sort_keys=False)
    )
    run_dirs = run_comparison(data, out, methods, str(args.config))
    write_report(run_dirs, out / "report", console=console)
    return 0
