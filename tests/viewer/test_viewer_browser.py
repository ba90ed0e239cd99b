"""The viewer of a small real run, opened in headless Chromium from file:// (no driver, no server).

Each check loads one route with `--dump-dom` (after the page's scripts ran, `--virtual-time-budget`) and
reads the resulting DOM; page errors land in #errors (window.onerror / console.error) and Chromium prints
console messages to stderr. Skipped where no Chromium is installed (`./run.sh setup` installs Debian's).
The pair view's screenshot is kept under COEVOLVE_TEST_ARTIFACTS (default: test-artifacts/ in the repo).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from coevolve.cli import main as cli_main

CHROMIUM = next((c for c in ("chromium", "chromium-browser", "google-chrome") if shutil.which(c)), None)
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no Chromium installed (apt-get install chromium)")
ARTIFACTS = Path(
    os.environ.get("COEVOLVE_TEST_ARTIFACTS", Path(__file__).resolve().parents[2] / "test-artifacts")
)


def chromium(url: str, *extra: str, tmp: Path) -> subprocess.CompletedProcess:
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
           f"--user-data-dir={tmp / 'profile'}", "--virtual-time-budget=8000", "--enable-logging=stderr", "--v=0",
           "--window-size=1400,1000", *extra, url]  # fmt: skip
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


def page(site: Path, route: str, tmp: Path) -> str:
    done = chromium(f"{site.as_uri()}#/{route}", "--dump-dom", tmp=tmp)
    consoles = [line for line in done.stderr.splitlines() if ":CONSOLE" in line]
    assert not consoles, consoles  # the app logs nothing: any console line is an error
    dom = done.stdout
    view = route.split("?")[0]
    assert f'data-ready="{view}"' in dom, dom[-2000:]
    assert "data-errors" not in dom and re.search(r'<pre id="errors" hidden=""></pre>', dom), dom[-2000:]
    return dom


@pytest.fixture(scope="module")
def site(tiny_runs, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("viewer")
    # as `coevolve view runs/x/*`: the model folder beside the runs is not a run and is skipped
    assert cli_main(["view", str(tiny_runs["coevolve"]), str(tiny_runs["eto"]), str(tiny_runs["coevolve"].parent),
                     "--out", str(out)]) == 0  # fmt: skip
    return out / "index.html"


def index_rows(site: Path, run: str) -> list[dict]:
    import json

    text = (site.parent / "data" / run / "episodes.js").read_text()
    data = json.loads(text[text.index(",") + 1 : text.rindex(")")])
    return [dict(zip(data["fields"], row, strict=True)) for row in data["rows"]]


def test_overview_loads_without_errors(site, tmp_path):
    dom = page(site, "overview", tmp_path)
    assert "coevolve" in dom and "eto" in dom
    assert (
        dom.count('class="chart"') >= 4
    )  # evaluation, exploration success / hard negatives, pairs, training
    assert "ladder_test" in dom and "Stage costs" in dom and "Manifest" in dom


def test_episode_list_filters(site, tmp_path):
    rows = index_rows(site, "coevolve")
    bands = {r["band"] for r in rows}
    assert {"success", "failure"} <= bands or {"success", "hard_negative"} <= bands
    all_dom = page(site, "episodes?run=coevolve", tmp_path)
    assert f'data-count="{len(rows)}"' in all_dom
    for band in sorted(bands):
        dom = page(site, f"episodes?run=coevolve&band={band}", tmp_path)
        shown = re.findall(r'<tr class="ep" data-band="([a-z_]+)"', dom)
        expected = sum(r["band"] == band for r in rows)
        assert f'data-count="{expected}"' in dom and len(shown) == expected and set(shown) == {band}
    dom = page(site, "episodes?run=coevolve&agent=failure&iter=1", tmp_path)
    expected = sum(r["agent"] == "failure" and r["iter"] == 1 for r in rows)
    assert expected > 0 and set(re.findall(r'data-agent="([a-z]+)"', dom)) == {"failure"}
    assert f'data-count="{expected}"' in dom


def test_episode_page_shows_turns_and_step_rewards(site, tmp_path):
    rows = index_rows(site, "coevolve")
    row = next(r for r in rows if r["source"] == "rollout" and r["steps"] >= 2)
    dom = page(site, f"episode?run=coevolve&id={row['id']}", tmp_path)
    assert dom.count('class="turn assistant"') == row["steps"]
    assert dom.count('class="stepinfo"') == row["steps"] and "Observation:" in dom


def _three_column_group(site: Path) -> int:
    import json

    text = (site.parent / "data" / "coevolve" / "pairs.js").read_text()
    data = json.loads(text[text.index(",") + 1 : text.rindex(")")])
    assert data["mode"] == "tokens"  # the run's tokenizer was found: masks are the trainer's
    return next(row[0] for row in data["rows"] if {"expert", "failure", "target"} <= set(row[6]))


def test_pair_view_shows_three_trajectories_with_scored_tokens(site, tmp_path):
    group = _three_column_group(site)
    route = f"pair?run=coevolve&g={group}"
    dom = page(site, route, tmp_path)
    heads = re.findall(r'<div class="colhead (\w+)">', dom)
    assert heads[0] == "expert" and {"failure", "target"} <= set(heads)
    cells = re.findall(r'<div class="toks">(.*?)</div>', dom, flags=re.S)
    assert len(cells) >= len(heads)
    assert all('class="tok s a"' in cell for cell in cells)  # every step starts with scored assistant tokens
    assert 'class="tok m"' in dom and "Observation:" in re.sub(r"<[^>]+>", "", dom)  # masked observations
    shot = tmp_path / "pair_view.png"
    chromium(f"{site.as_uri()}#/{route}", f"--screenshot={shot}", tmp=tmp_path)
    assert shot.exists() and shot.stat().st_size > 10_000
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(shot, ARTIFACTS / "viewer_pair_view.png")


def test_compare_view_puts_runs_side_by_side(site, tmp_path):
    dom = page(site, "compare?source=eval&agent=target", tmp_path)
    assert 'data-columns="2"' in dom  # coevolve and eto, same task
