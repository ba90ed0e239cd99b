"""The generated catalogue with no data files: the project's own attribute records, no download."""

import json

from coevolve.data.sources import describe
from coevolve.envs.webshop import env as webshop_env
from coevolve.envs.webshop.generate import ATTRIBUTE_WORDS, embedded_records


def test_embedded_records_are_deterministic_and_ask_for_their_own_attributes():
    records = embedded_records(50)
    assert records == embedded_records(50)
    for record in records:
        assert 1 <= len(record["attributes"]) <= 4 and set(record["attributes"]) <= set(ATTRIBUTE_WORDS)
        assert record["instruction_attributes"] and set(record["instruction_attributes"]) <= set(
            record["attributes"]
        )


def test_generated_catalogue_builds_offline_from_embedded_records(tmp_path, monkeypatch):
    monkeypatch.setenv("COEVOLVE_OFFLINE", "1")
    monkeypatch.setenv("COEVOLVE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("COEVOLVE_DATA_DIR", raising=False)
    data = webshop_env.load_data("auto", str(tmp_path / "empty"), num_products=60)
    assert (data.label, data.kind, len(data.catalogue)) == ("generated", "generated", 60)
    assert data.goals and all(set(g["attributes"]) <= set(ATTRIBUTE_WORDS) for g in data.goals)
    line = describe("webshop", {}, str(tmp_path / "empty"))
    assert "data=generated" in line and "embedded attributes" in line and "prompts=embedded" in line


def test_real_attribute_records_are_used_when_local(tmp_path, monkeypatch):
    monkeypatch.setenv("COEVOLVE_CACHE_DIR", str(tmp_path / "cache"))
    folder = tmp_path / "data" / "webshop"
    folder.mkdir(parents=True)
    records = {f"B{i:09d}": {"attributes": ["zesty flavour"], "instruction_attributes": []} for i in range(5)}
    (folder / "items_ins_v2_1000.json").write_text(json.dumps(records))
    data = webshop_env.load_data("generated", str(tmp_path / "data"), num_products=20)
    assert {a for g in data.goals for a in g["attributes"]} == {"zesty flavour"}
    assert "real attribute records" in describe("webshop", {"catalogue": "generated"}, str(tmp_path / "data"))
