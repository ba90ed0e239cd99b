"""Benchmark knowledge lives in `envs/`: no other module of the package names a benchmark (issue 15).

The words are every benchmark of the package's registry: its name and display name plus the upstream names that would
betray one (its simulator, its database server, a benchmark not built yet). Code, comments and
docstrings count; data files (package data under `data/upstream/`) are not Python and are not read.
"""

from __future__ import annotations

import re
from pathlib import Path

from coevolve.envs.benchmark import benchmarks
from coevolve.envs.registry import ENV_MODULES

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "coevolve"
EXTRA_WORDS = ("scienceworld", "intercode", "mariadb", "alfworld")


def env_words() -> list[str]:
    own = [b for b in benchmarks() if b.name in ENV_MODULES]  # the package's (not a test's plugin)
    words = {w.lower() for b in own for w in (b.name, b.display_name)}
    return sorted(words | set(EXTRA_WORDS))


def offending_lines(root: Path, words: list[str]) -> list[str]:
    """`file:line: text` for each line outside `envs/` naming one of `words` (whole word, any case)."""
    pattern = re.compile(r"(?<![\w])(" + "|".join(map(re.escape, words)) + r")(?![\w])", re.IGNORECASE)
    found = []
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root)
        if relative.parts[0] == "envs":
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if pattern.search(line):
                found.append(f"src/coevolve/{relative.as_posix()}:{number}: {line.strip()}")
    return found


def test_the_rule_finds_a_name_and_reports_file_and_line(tmp_path):
    (tmp_path / "envs").mkdir()
    (tmp_path / "envs" / "own.py").write_text("NAME = 'webshop'\n")  # inside envs/: allowed
    (tmp_path / "report.py").write_text("x = 1\n# columns of WebShop\nsciworld_x = 2\n")
    assert offending_lines(tmp_path, ["webshop", "sciworld"]) == [
        "src/coevolve/report.py:2: # columns of WebShop"
    ]


def test_no_module_outside_envs_names_a_benchmark():
    words = env_words()
    assert {"webshop", "sciworld", "intercode_sql"} <= set(words)  # the registry was read
    found = offending_lines(PACKAGE, words)
    assert not found, (
        "benchmark names outside envs/ (move the knowledge into the env's description):\n" + "\n".join(found)
    )
