"""Each reward component on hand-built products and goals."""

import pytest
from thefuzz import fuzz

from coevolve.envs.webshop.reward import (
    Tagger,
    attribute_matches,
    get_reward,
    load_tagger,
    normalize_color,
    option_matches,
    type_reward,
)

PRODUCT = {
    "asin": "B1",
    "Title": "Leather Running Shoes for Men",
    "Description": "Breathable and light.",
    "BulletPoints": ["Rubber sole", "Machine washable"],
    "Attributes": ["non slip", "arch support"],
    "query": "men's shoes",
    "product_category": "Clothing › Men › Shoes › Running",
}
GOAL = {
    "asin": "B1",
    "name": "Leather Running Shoes for Men",
    "query": "men's shoes",
    "product_category": "Clothing › Men › Shoes › Running",
    "attributes": ["non slip", "rubber sole"],
    "goal_options": ["black", "size 9"],
    "price_upper": 50.0,
}
NOUNS = Tagger("test", lambda text: [w.lower() for w in text.split() if w[0].isupper()])


@pytest.fixture(scope="module")
def tagger():
    return load_tagger()


def test_full_match_is_one(tagger):
    reward, info = get_reward(PRODUCT, GOAL, 49.99, {"color": "black", "size": "size 9"}, tagger)
    assert reward == 1.0 and info["r_type"] == 1.0 and info["r_option"] == 1.0
    assert info["tagger"] == tagger.name


def test_price_above_cap_loses_its_share(tagger):
    reward, info = get_reward(PRODUCT, GOAL, 50.01, {"color": "black", "size": "size 9"}, tagger)
    assert info["r_price"] is False
    assert reward == pytest.approx(4 / 5)
    assert get_reward(PRODUCT, GOAL, 50.0, {"color": "black", "size": "size 9"}, tagger)[0] == 1.0


def test_wrong_option(tagger):
    reward, info = get_reward(PRODUCT, GOAL, 10.0, {"color": "white", "size": "size 9"}, tagger)
    assert info["r_option"] == 0.5 and reward == pytest.approx(4 / 5)


def test_colour_normalisation_is_loose():
    # Colours reduce to the first colour word (in COLOR_SET order) they contain.
    assert normalize_color("light blue") == "blue"  # "blue" precedes "light" in COLOR_SET
    assert normalize_color("navy blue") == "blue"
    assert option_matches(["navy blue"], ["light blue"]) == 1
    assert option_matches(["size 9"], ["size 10"]) == 0


def test_attribute_fuzzy_threshold():
    # token_set_ratio must be > 85: find a pair at 86+ and one at or below 85.
    assert fuzz.token_set_ratio("non slip", "non-slip") > 85
    assert attribute_matches(PRODUCT, ["non-slip"]) == 1
    below = "arch supports extra"
    assert fuzz.token_set_ratio("arch support", below) <= 85
    assert attribute_matches(PRODUCT, [below]) == 0
    # fallback: substring of title, bullets or description
    assert attribute_matches(PRODUCT, ["machine washable", "breathable", "running shoes"]) == 3


def test_type_reward_levels():
    same = type_reward(PRODUCT, GOAL, NOUNS)
    assert same["r_type"] == 1.0 and same["title_score"] == 1.0
    other = {
        **PRODUCT,
        "Title": "Plastic Water Bottle",
        "query": "bottles",
        "product_category": "Home › Kitchen",
    }
    assert type_reward(other, GOAL, NOUNS)["r_type"] == 0.0  # no shared nouns
    # one of five goal nouns shared, no query/category match -> 0.2 -> 0.5
    weak = {**other, "Title": "Leather Bottle"}
    five = {**GOAL, "name": "Leather Running Shoes For Men"}
    assert type_reward(weak, five, NOUNS) == {
        "r_type": 0.5,
        "query_match": False,
        "category_match": False,
        "title_score": 0.2,
    }
    # query match does not save a purchase whose name shares too few nouns (upstream order)
    few = {**weak, "query": GOAL["query"]}
    assert (
        type_reward(few, {**GOAL, "name": " ".join(f"Noun{i}" for i in range(11)) + " Leather"}, NOUNS)[
            "r_type"
        ]
        == 0.1
    )


def test_goal_name_without_nouns_scores_point_two():
    no_nouns = {**GOAL, "name": "very quickly"}
    info = type_reward({**PRODUCT, "query": "x", "product_category": "Q"}, no_nouns, NOUNS)
    assert info["title_score"] == 0.2 and info["r_type"] == 0.5
    assert type_reward(PRODUCT, no_nouns, NOUNS)["r_type"] == 1.0  # query match saves it


def test_real_tagger_finds_nouns(tagger):
    if tagger.name == "none":
        pytest.skip("no spaCy English model installed")
    assert "shoes" in tagger.nouns("Leather Running Shoes for Men")
    wrong = {**PRODUCT, "Title": "Stainless Steel Water Bottle", "query": "bottles", "product_category": "X"}
    assert get_reward(wrong, GOAL, 10.0, {}, tagger)[0] == 0.0
    # without a tagger the same wrong-type purchase is over-rewarded (protocol.md §1)
    assert get_reward(wrong, GOAL, 10.0, {}, load_tagger("none"))[0] > 0.0
