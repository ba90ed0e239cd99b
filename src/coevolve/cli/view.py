"""`coevolve view RUN_DIR [RUN_DIR...] [--out DIR] [--serve]`: a static HTML viewer of runs (opens from file://)."""

from __future__ import annotations

import argparse


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "view",
        help="static HTML viewer of run dirs: overview, episodes, DPO pairs with scored tokens, comparison",
    )
    parser.add_argument(
        "runs", nargs="+", metavar="RUN_DIR", help="run directories (non-run folders are skipped)"
    )
    parser.add_argument(
        "--out", help="output folder (default: RUN_DIR/viewer, or PARENT/viewer for several runs)"
    )
    parser.add_argument(
        "--no-tokens", action="store_true", help="show whole turns instead of tokenizing pairs"
    )
    parser.add_argument("--serve", action="store_true", help="also serve the site on http://127.0.0.1:PORT/")
    parser.add_argument("--port", type=int, default=8000, help="port for --serve (0: any free port)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from coevolve.evaluation.viewer import build_site, serve

    index = build_site(args.runs, args.out, tokens=not args.no_tokens)
    print(f"viewer written to {index} (open it in a browser; no server needed)")
    if args.serve:
        serve(index.parent, args.port)
    return 0
