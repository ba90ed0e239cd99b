"""The start-up line that says which data an environment will use."""

from coevolve.data.sources import describe


def test_describe_follows_what_is_local(tmp_path, monkeypatch):
    monkeypatch.setenv("COEVOLVE_OFFLINE", "1")
    monkeypatch.setenv("COEVOLVE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("COEVOLVE_DATA_DIR", raising=False)
    data = tmp_path / "data"
    line = describe("intercode_sql", {"prompt_set": "auto"}, data)
    assert "data=sample" in line and "prompts=embedded" in line
    (data / "intercode").mkdir(parents=True)
    (data / "intercode" / "ic_spider_dev.json").write_text("[]")
    (data / "ipr" / "prompts").mkdir(parents=True)
    for name in ("intercode_sql_inst.txt", "intercode_sql_icl.json"):
        (data / "ipr" / "prompts" / name).write_text("x")
    line = describe("intercode_sql", {"prompt_set": "auto"}, data)
    assert "data=official" in line and "prompts=ipr" in line
    assert "prompts=embedded" in describe("intercode_sql", {}, data)  # the default never switches
    assert describe("sciworld").startswith("sciworld: data=official")
