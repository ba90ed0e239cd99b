import pytest

from coevolve.data import resources
from coevolve.data.resources import ResourceMissing, resolve, sha256_of, verify


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    monkeypatch.setenv("COEVOLVE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("COEVOLVE_DATA_DIR", raising=False)
    monkeypatch.setenv("COEVOLVE_OFFLINE", "1")
    return tmp_path


def test_offline_missing_resource_says_what_and_how(isolated):
    with pytest.raises(ResourceMissing) as info:
        resolve("eto/prompts/sciworld_inst.txt")
    text = str(info.value)
    assert "eto/prompts/sciworld_inst.txt" in text
    assert "COEVOLVE_OFFLINE" in text
    assert "raw.githubusercontent.com/Yifan-Song793/ETO/a2fc5da" in text
    assert "coevolve data fetch" in text


def test_data_dir_then_cache_order(isolated, monkeypatch):
    name = "eto/prompts/webshop_inst.txt"
    cached = resources.cache_path(name)
    cached.parent.mkdir(parents=True)
    cached.write_text("cache copy")
    assert resolve(name) == cached
    data_dir = isolated / "data"
    (data_dir / "eto/prompts").mkdir(parents=True)
    (data_dir / name).write_text("data dir copy")
    monkeypatch.setenv("COEVOLVE_DATA_DIR", str(data_dir))
    assert resolve(name).read_text() == "data dir copy"


def test_packaged_number_lists_are_the_pinned_upstream_bytes(isolated):
    """Only lists of numbers ship, byte-identical to the pinned upstream files; none needs a download."""
    assert "eto/sciworld/train_indices.json" in resources.PACKAGED
    assert "ipr/intercode_sql/test_indices.json" in resources.PACKAGED
    for name in resources.PACKAGED:
        assert "prompts" not in name and "experts" not in name, name
        path = resolve(name)  # offline, empty cache: the packaged copy
        assert path == resources.PACKAGED_ROOT / name
        assert verify(name) == ("ok", path), name
    shipped = {
        p.relative_to(resources.PACKAGED_ROOT).as_posix() for p in resources.PACKAGED_ROOT.rglob("*.*")
    }
    assert shipped == set(resources.PACKAGED)  # no stray file in the package folder


def test_data_dir_and_cache_come_before_the_packaged_copy(isolated, monkeypatch):
    name = "eto/sciworld/dev_indices.json"
    cached = resources.cache_path(name)
    cached.parent.mkdir(parents=True)
    cached.write_text("[]")
    assert resolve(name) == cached
    assert resources.find_local(name, packaged=False) == cached
    cached.unlink()
    assert resources.find_local(name, packaged=False) is None


def test_unknown_resource_lists_known(isolated):
    with pytest.raises(KeyError, match="eto/sciworld/dev_indices.json"):
        resolve("eto/sciworld/nope.json")


def test_verify_detects_mismatch(isolated):
    name = "eto/prompts/webshop_inst.txt"
    path = resources.cache_path(name)
    path.parent.mkdir(parents=True)
    path.write_text("tampered")
    assert verify(name) == ("mismatch", path)
    assert sha256_of(path) != resources.get_resource(name).sha256


def test_shared_data_layout_verifies_if_given():
    import os

    data_dir = os.environ.get("COEVOLVE_DATA_DIR")
    if not data_dir:
        pytest.skip("COEVOLVE_DATA_DIR not set")
    for name, res in resources.RESOURCES.items():
        if res.sha256 and resources.find_local(name, data_dir):
            assert verify(name, data_dir)[0] == "ok", name
