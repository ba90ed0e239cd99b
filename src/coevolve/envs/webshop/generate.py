"""A GENERATED catalogue in WebShop's product schema, for tests, demos and the scale benchmark.

Used when the official product files are absent. Products are built from the 1,000 real attribute
records of `webshop/items_ins_v2_1000.json` (their real attribute lists) with templated titles,
descriptions, bullet points, options and prices; goals are templated from each product's own attributes
and options. Everything is drawn from `random.Random` seeded per product, so any process builds the same
catalogue. It is labelled "generated" everywhere: scores on it are not WebShop scores.

Split: goals are shuffled with seed 233 (as upstream); ids 0..199 are `test`, the rest `train`.

Without `items_ins_v2_1000.json` locally (no data dir, nothing cached), `embedded_records` stands in
for it: attribute lists drawn from this project's own vocabulary (`ATTRIBUTE_WORDS`), so the generated
catalogue builds with no download. Its products and goals differ from the ones built on the real
records; both are labelled "generated".
"""

from __future__ import annotations

import random
import string
from collections.abc import Iterator
from typing import Any

from coevolve.envs.webshop.catalogue import product_price
from coevolve.envs.webshop.goals import make_goal, shuffle_goals

TEST_GOALS = 200
DEFAULT_PRODUCTS = 2000

# (product type, query, category path, option family)
TYPES = [
    ("shampoo", "shampoo", "Beauty & Personal Care › Hair Care › Shampoo & Conditioner › Shampoos", "volume"),
    ("hair extension", "hair extensions", "Beauty & Personal Care › Hair Care › Hair Extensions", "hair"),
    ("lip balm", "lip balm", "Beauty & Personal Care › Skin Care › Lip Care › Balms", "volume"),
    ("body scrub", "body scrubs", "Beauty & Personal Care › Skin Care › Body › Scrubs", "volume"),
    (
        "t-shirt",
        "men's t-shirts",
        "Clothing, Shoes & Jewelry › Men › Clothing › Shirts › T-Shirts",
        "apparel",
    ),
    ("dress", "women's dresses", "Clothing, Shoes & Jewelry › Women › Clothing › Dresses", "apparel"),
    ("sneaker", "men's sneakers", "Clothing, Shoes & Jewelry › Men › Shoes › Fashion Sneakers", "shoes"),
    ("sandal", "women's sandals", "Clothing, Shoes & Jewelry › Women › Shoes › Sandals", "shoes"),
    ("sofa cover", "slipcovers", "Home & Kitchen › Furniture › Living Room Furniture › Slipcovers", "home"),
    ("coffee table", "coffee tables", "Home & Kitchen › Furniture › Living Room Furniture › Tables", "home"),
    ("curtain", "window curtains", "Home & Kitchen › Home Décor › Window Treatments › Curtains", "home"),
    ("bed sheet", "bed sheets", "Home & Kitchen › Bedding › Sheets & Pillowcases › Sheet Sets", "bedding"),
    ("phone case", "phone cases", "Electronics › Cell Phones & Accessories › Cases", "device"),
    ("wireless earbud", "earbuds", "Electronics › Headphones › Earbud Headphones", "device"),
    ("hdmi cable", "hdmi cables", "Electronics › Accessories & Supplies › Cables › HDMI Cables", "length"),
    (
        "remote control",
        "remote controls",
        "Electronics › Television & Video › Accessories › Remote Controls",
        "device",
    ),
    ("protein bar", "protein bars", "Grocery & Gourmet Food › Snacks › Bars › Protein Bars", "food"),
    ("herbal tea", "herbal tea", "Grocery & Gourmet Food › Beverages › Tea › Herbal", "food"),
    ("dog bed", "dog beds", "Pet Supplies › Dogs › Beds & Furniture › Beds", "apparel"),
    ("desk lamp", "desk lamps", "Tools & Home Improvement › Lighting › Lamps › Desk Lamps", "home"),
]
COLORS = ["black", "white", "navy blue", "light blue", "red", "grey", "green", "beige", "rose gold", "pink"]
OPTION_FAMILIES: dict[str, dict[str, list[str]]] = {
    "volume": {
        "size": ["3.4 fl oz (pack of 1)", "6.76 fl oz (pack of 1)", "8 ounce", "16 ounce (pack of 2)"]
    },
    "hair": {
        "color": ["natural black", "dark brown", "blonde", "ash grey"],
        "size": ["14 inch", "18 inch", "22 inch"],
    },
    "apparel": {"color": COLORS, "size": ["small", "medium", "large", "x-large", "xx-large"]},
    "shoes": {"color": COLORS, "size": ["6", "7", "7.5", "8", "9", "10.5", "12"]},
    "home": {"color": COLORS, "size": ["52 x 63 inch", "52 x 84 inch", "one size"]},
    "bedding": {"color": COLORS, "size": ["twin", "full", "queen", "king"]},
    "device": {"color": COLORS},
    "length": {"size": ["3 feet", "6 feet", "10 feet", "15 feet"]},
    "food": {
        "flavor name": ["chocolate", "peanut butter", "vanilla", "mint"],
        "size": ["12 count", "24 count"],
    },
}
BRANDS = [
    "Aurelia",
    "Brightway",
    "Corvex",
    "Dunmore",
    "Elara",
    "Fieldcrest",
    "Grovia",
    "Halden",
    "Istra",
    "Juniper",
    "Kestrel",
    "Lumos",
    "Marlow",
]
GOAL_TEMPLATES = [
    "i am looking for a {type} that is {attrs}",
    "i need a {attrs} {type}",
    "find me a {type} with {attrs}",
    "i want to buy a {type} which is {attrs}",
]


# Product attributes of the offline stand-in records (written for coevolve).
_ATTRIBUTE_TEXT = (
    "long lasting, easy to clean, machine washable, water resistant, non slip, lightweight, "
    "eco friendly, gluten free, sugar free, easy to use, quick drying, travel size, dishwasher safe, "
    "heavy duty, soft fabric, fast charging, noise cancelling, stainless steel, natural ingredients, "
    "cruelty free, breathable, easy assembly, hand wash only, low calorie, plant based, dust proof, "
    "adjustable strap, high protein, fragrance free, shatter proof, wrinkle free, memory foam, "
    "bpa free, organic cotton, uv protection, anti fade, hypoallergenic, rechargeable battery, "
    "compact design, non toxic, sulfate free, paraben free, leak proof, scratch resistant, "
    "moisture wicking, vegan, caffeine free, pet friendly, foldable, high definition"
)
ATTRIBUTE_WORDS = [w.strip() for w in _ATTRIBUTE_TEXT.split(",")]
EMBEDDED_RECORDS = 500


def embedded_records(n: int = EMBEDDED_RECORDS, seed: int = 0) -> list[dict[str, Any]]:
    """Stand-ins for items_ins_v2_1000.json records: 1-4 attributes each, 1-2 of them asked for."""
    records = []
    for i in range(n):
        rng = random.Random(f"webshop-embedded-record:{seed}:{i}")
        attributes = rng.sample(ATTRIBUTE_WORDS, rng.randint(1, 4))
        wanted = attributes[: rng.randint(1, min(2, len(attributes)))]
        records.append({"attributes": attributes, "instruction_attributes": wanted})
    return records


def _asin(rng: random.Random) -> str:
    return "B0" + "".join(rng.choices(string.ascii_uppercase + string.digits, k=8))


def _title_case(text: str) -> str:
    return " ".join(w[:1].upper() + w[1:] for w in text.split())


def generate_product(i: int, record: dict[str, Any], seed: int = 0) -> tuple[dict[str, Any], list[str]]:
    """Product `i` (items_shuffle schema) and its attribute list, from one real attribute record."""
    rng = random.Random(f"webshop-generated:{seed}:{i}")
    ptype, query, category_path, family = TYPES[rng.randrange(len(TYPES))]
    attrs = list(record.get("attributes") or [])
    brand = rng.choice(BRANDS)
    model = (
        f"{rng.choice(string.ascii_uppercase)}{rng.choice(string.ascii_uppercase)}-{rng.randint(100, 9999)}"
    )
    shown = attrs[:2]
    title = f"{brand} {_title_case(ptype)}" + (f" with {_title_case(', '.join(shown))}" if shown else "")
    title += f" - {model}"
    options = {}
    for name, values in OPTION_FAMILIES[family].items():
        k = rng.randint(2, min(4, len(values)))
        options[name] = [{"value": v, "image": None} for v in rng.sample(values, k)]
    low = round(rng.uniform(4, 150), 2)
    high = round(low * rng.uniform(1.1, 1.6), 2)
    pricing = f"${low}" if rng.random() < 0.8 else f"${low} - ${high}"
    features = [f"{_title_case(a)}: designed for {a}." for a in attrs] or [f"Quality {ptype} by {brand}."]
    product = {
        "asin": _asin(rng),
        "name": title,
        "full_description": f"The {brand} {ptype} ({model}) "
        + ("offers " + ", ".join(attrs) + "." if attrs else "is a dependable everyday choice."),
        "small_description": features,
        "pricing": pricing,
        "customization_options": options,
        "images": [""],
        "category": category_path.split(" › ")[0].lower(),
        "query": query,
        "product_category": category_path,
    }
    return product, attrs


def iter_generated(records: list[dict[str, Any]], n: int, seed: int = 0) -> Iterator[tuple[dict, list[str]]]:
    for i in range(n):
        yield generate_product(i, records[i % len(records)], seed)


def generated_goals(catalogue: Any, records: list[dict[str, Any]], seed: int = 0) -> list[dict[str, Any]]:
    """One goal per product that has attributes; the record's instruction attributes when it has them."""
    goals = []
    for pos in range(len(catalogue)):
        product = catalogue.product(pos)
        record = records[pos % len(records)]
        attrs = [a for a in product["Attributes"] if a != "DUMMY_ATTR"]
        if not attrs:
            continue
        rng = random.Random(f"webshop-goal:{seed}:{pos}")
        wanted = list(record.get("instruction_attributes") or rng.sample(attrs, min(2, len(attrs))))
        ptype = next(t for t in TYPES if t[1] == product["query"])[0]
        options = [rng.choice(values) for values in product["options"].values()]
        text = rng.choice(GOAL_TEMPLATES).format(type=ptype, attrs=" and ".join(wanted))
        if options:
            text += ", in " + " and ".join(options)
        goals.append(make_goal(product, text, wanted, options, product_price(product), rng))
    return shuffle_goals(goals)
