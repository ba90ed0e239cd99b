import os
from pathlib import Path

import pytest

from coevolve.envs.webshop.catalogue import Catalogue
from coevolve.envs.webshop.engine import Engine
from coevolve.envs.webshop.reward import load_tagger


def _raw(asin, name, price, options=None, bullets=None, desc="", query="shoes", cat="A › B › C"):
    return {
        "asin": asin,
        "name": name,
        "full_description": desc,
        "small_description": bullets if bullets is not None else [f"{name} feature"],
        "pricing": price,
        "customization_options": options or {},
        "images": [""],
        "category": "cat",
        "query": query,
        "product_category": cat,
    }


@pytest.fixture(scope="session")
def small_catalogue(tmp_path_factory) -> Catalogue:
    """13 sneakers (paging), a perfume with options, a pricing range and an empty-text product."""
    raws = [
        _raw(
            "B000PERF01",
            "L'eau Perfume Spray for Men, 6.7 Fl Oz Bottle",
            "$64.98",
            {
                "Size": [{"value": "2.5 fl oz"}, {"value": "6.76 Fl Oz (Pack of 1)"}],
                "Color": [{"value": "Navy/Blue"}],
            },
            ["Long lasting scent", "Made in France"],
            "A fresh perfume.",
            query="perfume",
        ),
        _raw("B000RANGE1", "Cotton Towel Set", "$10.00 - $25.50", query="towels", desc="soft towels"),
    ]
    raws += [_raw(f"B00SNKR{i:03d}", f"Running Sneaker Model {i}", f"${20 + i}.99") for i in range(13)]
    attributes = {"B000PERF01": {"attributes": ["long lasting", "eau de toilette"]}}
    return Catalogue.build(raws, attributes, tmp_path_factory.mktemp("ws") / "cat", "generated")


@pytest.fixture
def engine(small_catalogue) -> Engine:
    return Engine(small_catalogue, load_tagger())


@pytest.fixture(autouse=True, scope="package")
def _cache_dir(tmp_path_factory):
    """Catalogue caches go to a temp dir unless the user set one; restored afterwards."""
    before = os.environ.get("COEVOLVE_CACHE_DIR")
    if before is None:
        os.environ["COEVOLVE_CACHE_DIR"] = str(tmp_path_factory.mktemp("cache"))
    yield
    if before is None:
        os.environ.pop("COEVOLVE_CACHE_DIR", None)


def data_dir() -> Path | None:
    value = os.environ.get("COEVOLVE_DATA_DIR")
    return Path(value) if value else None
