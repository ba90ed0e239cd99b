"""Write the static viewer site: index.html + assets/ (package data) + data/*.js (one small file per chunk).

The site opens from file:// with no server: browsers block fetch() of file:// URLs, so every data file is a
script that calls `COEVOLVE.put(key, data)`, loaded on demand with a <script src> tag. A page loads only
what it shows (the run list, one run's episode index, the chunk of the episode or pair group it opens),
so runs with thousands of episodes stay responsive.

Layout of OUT/:  index.html, assets/{app.js,style.css}, data/site.js (runs + overviews),
data/{run}/episodes.js (index rows), data/{run}/ep{n}.js (episode chunks), data/{run}/pairs.js (pair
group index), data/{run}/pg{n}.js (pair group chunks with scored-token masks).
"""

from __future__ import annotations

import json
import logging
import re
import shutil
import time
from importlib import resources
from pathlib import Path
from typing import Any

from coevolve.evaluation.viewer import data as vd
from coevolve.evaluation.viewer.tokens import PairTokenizer, tokenizer_candidates

log = logging.getLogger(__name__)

MARKER = "coevolve-viewer.json"  # marks an output folder, so `view runs/demo/*` skips it
EPISODE_CHUNK = 50
PAIR_CHUNK = 20
ASSETS = ("index.html", "app.js", "style.css")


def js_file(path: Path, key: str, payload: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(payload, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    path.write_text(f"COEVOLVE.put({json.dumps(key)},{text});\n", encoding="utf-8")


def slugs(runs: list[Path]) -> list[str]:
    used: set[str] = set()
    out = []
    for run in runs:
        slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", run.name).strip("_.") or "run"
        while slug in used:
            slug += "_"
        used.add(slug)
        out.append(slug)
    return out


def default_out(runs: list[Path]) -> Path:
    """RUN/viewer for one run; the runs' common parent /viewer for several (runs/demo/viewer)."""
    if len(runs) == 1:
        return runs[0] / "viewer"
    parents = {r.resolve().parent for r in runs}
    return (parents.pop() if len(parents) == 1 else Path.cwd()) / "viewer"


def select_runs(paths: list[str | Path]) -> list[Path]:
    """Run directories among `paths`; viewer/report outputs and other folders are skipped with a note."""
    runs = []
    for raw in paths:
        path = Path(raw)
        if not path.exists():
            raise FileNotFoundError(f"run directory not found: {path}")
        if (path / MARKER).exists() or not vd.is_run_dir(path):
            log.info("view: skipping %s (not a run directory)", path)
            continue
        runs.append(path)
    if not runs:
        raise ValueError(
            f"no run directory among {', '.join(map(str, paths))} (a run has config.yaml or manifest.json)"
        )
    return runs


def pair_payload(group: vd.PairGroup, tok: PairTokenizer) -> dict[str, Any]:
    cols = []
    for col in group.columns:
        pair, side = col["side"]
        sides = tok.sides(pair)
        cols.append({"agent": col["agent"], "sample": col["sample"], "reward": col["reward"], "pair": pair.id,
                     "side": side, **sides[side]})  # fmt: skip
    prompt = group.columns[0]["side"][0].prompt if group.columns else []
    return {"iter": group.iteration, "env": group.env, "task": group.task,
            "prompt": [[m.role, m.content] for m in prompt], "columns": cols, "pairs": group.pairs}  # fmt: skip


def dpo_max_length(config: dict[str, Any]) -> int | None:
    from coevolve.training.settings import DPOSettings

    value = (config.get("dpo") or {}).get("max_length", DPOSettings().max_length)
    return int(value) if value else None


def write_run(run: Path, slug: str, out: Path, tokens: bool) -> dict[str, Any]:
    config = vd.load_config(run)
    sources = vd.episode_sources(run, config)
    rows, chunks = vd.build_episodes(sources, EPISODE_CHUNK)
    folder = out / "data" / slug
    if folder.exists():
        shutil.rmtree(folder)
    js_file(folder / "episodes.js", f"{slug}/episodes", {"fields": list(vd.INDEX_FIELDS), "rows": rows})
    for n, chunk in enumerate(chunks):
        js_file(folder / f"ep{n}.js", f"{slug}/ep{n}", chunk)
    pairs = vd.load_pairs(run)
    groups = vd.pair_groups(pairs)
    tok = PairTokenizer(
        tokenizer_candidates(run, config), dpo_max_length(config), enabled=tokens and bool(groups)
    )
    index = []
    for start in range(0, len(groups), PAIR_CHUNK):
        part = groups[start : start + PAIR_CHUNK]
        n = start // PAIR_CHUNK
        js_file(folder / f"pg{n}.js", f"{slug}/pg{n}", [pair_payload(g, tok) for g in part])
        for i, g in enumerate(part):
            agents = sorted({c["agent"] for c in g.columns}, key=lambda a: vd.AGENT_ORDER.get(a, 3))
            kinds = sorted({p["kind"] for p in g.pairs})
            index.append([start + i, g.iteration, g.env, g.task, len(g.pairs), kinds, agents, n])
    js_file(folder / "pairs.js", f"{slug}/pairs",
            {"fields": ["id", "iter", "env", "task", "pairs", "kinds", "agents", "chunk"], "rows": index,
             "mode": tok.mode, "tokenizer": tok.source, "max_length": tok.max_length})  # fmt: skip
    info = vd.overview(run, config, sources, pairs)
    info.update({"slug": slug, "episodes": len(rows), "pair_groups": len(groups), "token_mode": tok.mode,
                 "tokenizer": tok.source})  # fmt: skip
    return info


def copy_assets(out: Path) -> None:
    (out / "assets").mkdir(parents=True, exist_ok=True)
    package = resources.files("coevolve.evaluation.viewer") / "assets"
    for name in ASSETS:
        target = out / name if name == "index.html" else out / "assets" / name
        target.write_bytes((package / name).read_bytes())


def build_site(run_dirs: list[str | Path], out: str | Path | None = None, tokens: bool = True) -> Path:
    """Write the viewer for `run_dirs` into `out` (default: see `default_out`); returns OUT/index.html."""
    runs = select_runs(run_dirs)
    out = Path(out) if out else default_out(runs)
    out.mkdir(parents=True, exist_ok=True)
    copy_assets(out)
    infos = []
    for run, slug in zip(runs, slugs(runs), strict=True):
        log.info("view: %s -> %s", run, out / "data" / slug)
        infos.append(write_run(run, slug, out, tokens))
    built = time.strftime("%Y-%m-%d %H:%M:%S")
    js_file(out / "data" / "site.js", "site", {"runs": infos, "built": built})
    (out / MARKER).write_text(json.dumps({"runs": [str(r) for r in runs], "built": built}, indent=1) + "\n")
    return out / "index.html"


def serve(folder: Path, port: int = 8000) -> None:
    """A local HTTP server for the site (optional: the files also open from file://)."""
    import contextlib
    import functools
    import http.server

    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    with http.server.ThreadingHTTPServer(("127.0.0.1", port), handler) as server:
        print(f"serving {folder} at http://127.0.0.1:{server.server_address[1]}/ (Ctrl-C stops)")
        with contextlib.suppress(KeyboardInterrupt):
            server.serve_forever()
