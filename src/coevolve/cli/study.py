"""`coevolve study CONFIG [--out DIR] [--seeds 0,1,2] [--check] [--report-only] [--set KEY=VALUE ...]`.

A multi-seed comparison (pipeline/study.py): OUT/seed{N}/ runs every method of the study file from that
seed's shared SFT model, seed after seed; OUT/report/ holds the study report (evaluation/study.py),
rewritten after every seed. Rerun the same command to resume; `--report-only` rewrites the report of a
study as far as it got (finished seeds count, the others show as missing) without running anything.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from rich.console import Console

from coevolve.configtree import add_overrides
from coevolve.pipeline.compare import preflight_comparison
from coevolve.pipeline.study import StudyLayout, load_study, parse_seeds, run_study, study_configs


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "study",
        help="sft/eto/coevolve over several seeds from a study file (configs/studies/); resumable, "
        "with a report of means, 95 %% CIs and paired differences",
    )
    parser.add_argument("config", help="study file: a run config with a `study:` section (seeds, methods)")
    parser.add_argument("--out", help="output folder (default: runs/study/<config name>)")
    parser.add_argument(
        "--seeds", help="comma-separated seeds, replacing the file's study.seeds (e.g. 0,1,2)"
    )
    add_overrides(
        parser, "override a key of the study file, e.g. --set iterations=3 or --set study.methods=[sft,eto]"
    )
    parser.add_argument("--data-dir", help="folder with local copies of data files (or COEVOLVE_DATA_DIR)")
    parser.add_argument("--check", action="store_true", help="validate every (seed, method) config and stop")
    parser.add_argument(
        "--report-only", action="store_true", help="write the report of OUT as it stands; run nothing"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from coevolve.evaluation.study import write_study_report  # matplotlib only when a report is written

    seeds = parse_seeds(args.seeds) if args.seeds else None
    study, base = load_study(args.config, args.overrides, seeds)
    if args.data_dir:
        base["data_dir"] = args.data_dir
    out = Path(args.out or Path("runs") / "study" / Path(args.config).stem)
    configs = study_configs(study, base, out, str(args.config))
    console = Console()
    if args.report_only:
        path = write_study_report(out, study, configs, console)
        console.print(f"study report: {path}")
        return 0
    notes: list[str] = []
    for seed, by_method in configs.items():  # as `coevolve compare`: every run's preflight before compute
        notes += preflight_comparison(
            by_method, StudyLayout(out).seed_dir(seed), f"{args.config} [seed {seed}]"
        )
    for note in dict.fromkeys(notes):
        console.print(f"note: {note}")
    if args.check:
        first = configs[study.seeds[0]]
        console.print(
            f"{args.config}: ok; {len(study.seeds)} seeds {study.seeds} x methods {list(first)} "
            f"({len(study.seeds) * len(first)} runs, K = {max(c.iterations for c in first.values())}), in {out}"
        )
        return 0
    t0 = time.monotonic()
    run_study(
        study, base, out, str(args.config), report=lambda o: write_study_report(o, study, configs, console)
    )
    console.print(
        f"study finished in {(time.monotonic() - t0) / 60:.1f} min (this invocation); "
        f"report: {out / 'report' / 'study.md'}"
    )
    return 0
