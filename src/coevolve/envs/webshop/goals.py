"""WebShop goals: human instructions with the price-cap rule, in ETO's task-id order.

Upstream builds the goal list in product order, draws each product's price and each goal's cap from
the *unseeded* global `random`, then runs `random.seed(233); random.shuffle(goals)`; a task id is a
position in the shuffled list. The shuffle depends only on the list length, so ids match ETO's index
files when the goal list is the same. Deviation (documented): prices and caps are drawn from seeded
generators, so the instruction text behind an id is identical in every process (upstream's is not).
"""

from __future__ import annotations

import random
from typing import Any

PRICE_RANGE = [10.0 * i for i in range(1, 100)]
NO_CAP = 1_000_000.0
SHUFFLE_SEED = 233


def price_cap(price: float, rng: random.Random) -> tuple[float, str]:
    """Two of the first four multiples of $10 above the price; the larger is the cap."""
    above = [p for p in PRICE_RANGE if p > price][:4]
    if len(above) < 2:
        return NO_CAP, ""
    _, upper = sorted(rng.sample(above, 2))
    return upper, f", and price lower than {upper:.2f} dollars"


def make_goal(
    product: dict[str, Any],
    instruction: str,
    attributes: list[str],
    options: list[str],
    price: float,
    rng: random.Random,
) -> dict[str, Any]:
    upper, cap_text = price_cap(price, rng)
    return {
        "asin": product["asin"],
        "category": product["category"],
        "query": product["query"],
        "name": product["Title"],
        "product_category": product["product_category"],
        "instruction_text": instruction.strip(".") + cap_text,
        "attributes": list(attributes),
        "price_upper": upper,
        "goal_options": list(options),
    }


def shuffle_goals(goals: list[dict[str, Any]]) -> list[dict[str, Any]]:
    goals = list(goals)
    random.Random(SHUFFLE_SEED).shuffle(goals)  # same permutation as random.seed(233); random.shuffle
    return goals


def human_goals(catalogue: Any, human_instructions: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Goals from items_human_ins.json over the catalogue's products (skipping ones without attributes)."""
    from coevolve.envs.webshop.catalogue import product_price

    rng = random.Random(SHUFFLE_SEED)
    goals = []
    for pos, asin in enumerate(catalogue.asins):
        entries = human_instructions.get(str(asin))
        if not entries:
            continue
        product = catalogue.product(pos)
        for entry in entries:
            if not entry.get("instruction_attributes"):
                continue
            goals.append(
                make_goal(
                    product,
                    entry["instruction"],
                    entry["instruction_attributes"],
                    entry.get("instruction_options") or [],
                    product_price(product),
                    rng,
                )
            )
    return shuffle_goals(goals)
