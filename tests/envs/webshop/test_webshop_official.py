"""The official-data path (streamed product JSON, attribute file, human instructions) on a tiny file set
in WebShop's schema, written to a temporary data dir."""

import json

import pytest

from coevolve.envs.webshop import generate
from coevolve.envs.webshop.catalogue import iter_json_array, parse_pricing
from coevolve.envs.webshop.env import WebShopEnv


def test_iter_json_array_across_chunks(tmp_path):
    items = [{"asin": f"B{i:09d}", "x": "y" * (i % 7), "n": i * 1.5} for i in range(300)]
    path = tmp_path / "a.json"
    path.write_text(json.dumps(items, indent=1))
    assert list(iter_json_array(path, chunk_size=64)) == items
    (tmp_path / "bad.json").write_text('{"a": 1}')
    with pytest.raises(ValueError, match="bad.json"):
        list(iter_json_array(tmp_path / "bad.json"))


def test_parse_pricing():
    assert parse_pricing("$12.99") == ([12.99], "$12.99")
    assert parse_pricing("$10.00 - $25.50") == ([10.0, 25.5], "$10.0 to $25.5")
    assert parse_pricing(None) == ([100.0], "$100.0")


def test_small_official_catalogue(tmp_path, monkeypatch):
    records = [{"attributes": ["machine wash", "long sleeve"]}, {"attributes": []}]
    raws, attrs, human = [], {}, {}
    for product, a in generate.iter_generated(records, 40):
        raws.append(product)
        attrs[product["asin"]] = {"attributes": a}
    raws.append(dict(raws[0]))  # a duplicate ASIN is skipped, as upstream
    for i, product in enumerate(raws[:40:2]):  # products built from the record with attributes
        human[product["asin"]] = [
            {
                "asin": product["asin"],
                "instruction": f"i want item {i}.",
                "instruction_attributes": ["long sleeve"],
                "instruction_options": [],
            },
            {
                "asin": product["asin"],
                "instruction": "skipped",
                "instruction_attributes": [],
                "instruction_options": [],
            },
        ]
    data = tmp_path / "data" / "webshop"
    data.mkdir(parents=True)
    (data / "items_shuffle_1000.json").write_text(json.dumps(raws))
    (data / "items_ins_v2_1000.json").write_text(json.dumps(attrs))
    (data / "items_human_ins.json").write_text(json.dumps(human))
    env = WebShopEnv(data_dir=str(tmp_path / "data"), catalogue="small")
    assert env.data_label == "official" and len(env.data.catalogue) == 40
    assert len(env.data.goals) == 20  # goals without attributes are skipped
    assert all(g["instruction_text"].startswith("i want item ") for g in env.data.goals)
    assert "." not in env.data.goals[0]["instruction_text"].split(",")[0]  # trailing "." stripped
    task = env.tasks("test")[0]
    assert task.meta["catalogue"] == "official"
    env.reset(task)
    for step in env.expert(task):
        result = env.step(step.action)
    assert result.done and result.info["catalogue"] == "official"
    assert result.reward == 1.0, result.info
