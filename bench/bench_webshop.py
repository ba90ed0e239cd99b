"""WebShop scale benchmark: build, load and search a generated catalogue in the official schema.

    COEVOLVE_DATA_DIR=<data> python bench/bench_webshop.py --products 1180000 --out /tmp/ws_bench
    COEVOLVE_DATA_DIR=<data> python bench/bench_webshop.py --tagger-effect

Writes the raw catalogue as one JSON array (items_shuffle.json schema), then measures: streaming
load + normalisation + BM25 indexing (one pass), reopening the cache (what every later process does),
peak RSS, and search latency over goal-like queries.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import shutil
import statistics
import time
from pathlib import Path

import numpy as np

from coevolve.data.resources import resolve
from coevolve.envs.webshop import generate
from coevolve.envs.webshop.catalogue import Catalogue, iter_json_array


def rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6


def tagger_effect(pairs_per_goal: int = 10) -> None:
    """How often the POS tagger changes the reward: every goal of the generated catalogue against the
    top hits of its own instruction (bought with no options), scored with each tagger."""
    from coevolve.envs.webshop.catalogue import product_price
    from coevolve.envs.webshop.env import load_data
    from coevolve.envs.webshop.reward import get_reward, load_tagger

    data = load_data("generated")
    taggers = [load_tagger(), load_tagger("none")]
    rewards: dict[str, list[float]] = {t.name: [] for t in taggers}
    for goal in data.goals:
        query = goal["instruction_text"].split(", and price lower than")[0]
        for pos in data.catalogue.search(query)[:pairs_per_goal]:
            product = data.catalogue.product(pos)
            for tagger in taggers:
                rewards[tagger.name].append(get_reward(product, goal, product_price(product), {}, tagger)[0])
    (a, ra), (b, rb) = rewards.items()
    changed = sum(x != y for x, y in zip(ra, rb, strict=True))
    print(
        f"{len(ra)} goal/product pairs: reward differs {a} vs {b} in {changed} ({changed / len(ra):.1%}); "
        f"mean reward {statistics.mean(ra):.3f} ({a}) vs {statistics.mean(rb):.3f} ({b})"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tagger-effect", action="store_true", help="only measure the POS tagger's effect")
    parser.add_argument("--products", type=int, default=1_180_000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--out", type=Path, default=Path("/tmp/webshop_bench"))
    parser.add_argument(
        "--extra-words", type=int, default=0, help="pad each description with N Zipf-distributed words"
    )
    parser.add_argument("--reuse", action="store_true", help="skip writing/indexing if --out has a catalogue")
    args = parser.parse_args()
    if args.tagger_effect:
        tagger_effect()
        return
    args.out.mkdir(parents=True, exist_ok=True)
    records = list(json.loads(resolve("webshop/items_ins_v2_1000.json").read_text()).values())

    index_dir = args.out / "catalogue"
    if not (args.reuse and (index_dir / "meta.json").is_file()):
        build(records, args.products, args.out, index_dir, args.extra_words)
    measure(index_dir, args.queries)


def build(records: list, n: int, out: Path, index_dir: Path, extra_words: int = 0) -> None:
    noise = np.random.default_rng(0)
    raw_path, attributes = out / "items_generated.json", {}
    t0 = time.perf_counter()
    with raw_path.open("w") as fh:
        fh.write("[")
        for i, (product, attrs) in enumerate(generate.iter_generated(records, n)):
            if extra_words:  # realistic document lengths: a long tail of rare words, like real text
                words = noise.zipf(1.3, size=extra_words) % 200_000
                product["full_description"] += " " + " ".join(f"w{w}" for w in words)
            fh.write(("," if i else "") + json.dumps(product))
            attributes[product["asin"]] = {"attributes": attrs}
        fh.write("]")
    t_write = time.perf_counter() - t0
    print(f"wrote {n} products ({raw_path.stat().st_size / 1e9:.2f} GB) in {t_write:.1f}s")

    shutil.rmtree(index_dir, ignore_errors=True)
    t0 = time.perf_counter()
    Catalogue.build(iter_json_array(raw_path), attributes, index_dir, "generated")
    t_build = time.perf_counter() - t0
    rss_build = rss_gb()
    print(f"stream-load + normalise + index: {t_build:.1f}s, peak RSS {rss_build:.2f} GB")


def measure(index_dir: Path, n_queries: int) -> None:
    rss_before = rss_gb()
    t0 = time.perf_counter()
    catalogue = Catalogue(index_dir)
    catalogue.index  # noqa: B018 - force the (memory-mapped) index load
    t_open = time.perf_counter() - t0
    print(
        f"reopen cached catalogue + index: {t_open:.2f}s (peak RSS so far {max(rss_before, rss_gb()):.2f} GB)"
    )

    rng = random.Random(0)
    queries = []
    for pos in rng.sample(range(len(catalogue)), n_queries):
        product = catalogue.product(pos)
        queries.append(" ".join(product["Title"].lower().split()[:6]))
    catalogue.search(queries[0])  # first query pages the memory-mapped index in
    times = []
    for q in queries:
        t0 = time.perf_counter()
        catalogue.search(q)
        times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    print(
        f"search over {len(catalogue)} products: mean {statistics.mean(times):.1f} ms, "
        f"p50 {times[len(times) // 2]:.1f} ms, p95 {times[int(len(times) * 0.95)]:.1f} ms, "
        f"max {times[-1]:.1f} ms; peak RSS {rss_gb():.2f} GB"
    )


if __name__ == "__main__":
    main()
