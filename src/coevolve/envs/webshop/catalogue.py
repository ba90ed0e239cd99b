"""The product catalogue: normalisation of WebShop's product schema and a disk-backed store.

Products are normalised as WebShop's `load_products` does (title, description, bullet points, price tag,
options lower-cased with "/" -> " | ", attributes from the attribute file) and written once to a cache
folder: `products.jsonl` (one product per line), `offsets.npy` (byte offsets), `asins.npy` and the BM25
index. Loading maps those files; a product is decoded only when a page shows it. This keeps the full
1.18M-product catalogue well under 8 GB (bench/bench_webshop.py).
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
import shutil
from collections.abc import Callable, Iterable, Iterator
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import numpy as np

from coevolve.envs.webshop.search import BM25Index, PyseriniIndex, document_text

FORMAT_VERSION = 1
DEFAULT_PRICE = 100.0


def iter_json_array(path: Path, chunk_size: int = 1 << 22) -> Iterator[Any]:
    """Stream the elements of a top-level JSON array (items_shuffle.json is 5.2 GB)."""
    decoder = json.JSONDecoder()
    with path.open("r", encoding="utf-8") as fh:
        buf = fh.read(chunk_size).lstrip()
        if not buf.startswith("["):
            raise ValueError(f"{path}: expected a JSON array of products")
        buf, pos, eof = buf[1:], 0, False
        while True:
            while pos < len(buf) and buf[pos] in " \t\r\n,":
                pos += 1
            if pos < len(buf) and buf[pos] == "]":
                return
            try:
                item, end = decoder.raw_decode(buf, pos)
            except json.JSONDecodeError as exc:
                if eof:
                    raise ValueError(f"{path}: malformed JSON near product element: {exc}") from exc
                more = fh.read(chunk_size)
                eof = not more
                buf, pos = buf[pos:] + more, 0
                continue
            # An element that ends exactly at the buffer end may be a truncated number: re-read.
            if end == len(buf) and not eof:
                more = fh.read(chunk_size)
                eof = not more
                buf, pos = buf[pos:] + more, 0
                continue
            yield item
            pos = end


def parse_pricing(pricing: Any) -> tuple[list[float], str]:
    """WebShop's price parsing: "$a" or "$a$b" -> ([a] or [a, b], "$a" or "$a to $b"); none -> $100.0."""
    if not pricing:
        return [DEFAULT_PRICE], f"${DEFAULT_PRICE}"
    values = []
    for part in str(pricing).split("$")[1:]:
        try:
            values.append(float(Decimal(re.sub(r"[^\d.]", "", part))))
        except InvalidOperation as exc:
            raise ValueError(f"bad pricing {pricing!r}") from exc
    if not values:
        return [DEFAULT_PRICE], f"${DEFAULT_PRICE}"
    if len(values) == 1:
        return values, f"${values[0]}"
    return values[:2], f"${values[0]} to ${values[1]}"


def normalise_product(raw: dict[str, Any], attributes: dict[str, Any]) -> dict[str, Any]:
    """One raw product (items_shuffle schema) -> the fields the pages, search and reward use."""
    asin = raw["asin"]
    bullets = raw.get("small_description") or []
    bullets = bullets if isinstance(bullets, list) else [bullets]
    pricing, price_tag = parse_pricing(raw.get("pricing"))
    options: dict[str, list[str]] = {}
    for name, contents in (raw.get("customization_options") or {}).items():
        if contents is None:
            continue
        options[name.lower()] = [c["value"].strip().replace("/", " | ").lower() for c in contents]
    attrs = attributes.get(asin, {}).get("attributes") or ["DUMMY_ATTR"]
    return {
        "asin": asin,
        "Title": raw.get("name") or "",
        "Description": raw.get("full_description") or "",
        "BulletPoints": bullets,
        "Price": price_tag,
        "pricing": pricing,
        "options": options,
        "Attributes": attrs,
        "category": raw.get("category") or "",
        "query": (raw.get("query") or "").lower().strip(),
        "product_category": raw.get("product_category") or "",
    }


def product_price(product: dict[str, Any], seed: int = 233) -> float:
    """The price the site charges. WebShop draws a uniform price for a range *unseeded*; we seed per ASIN
    so that the price (and the goal's cap, drawn from it) is the same in every process."""
    pricing = product["pricing"]
    if len(pricing) == 1:
        return float(pricing[0])
    return random.Random(f"{seed}:{product['asin']}").uniform(pricing[0], pricing[1])


def source_key(paths: Iterable[Path], extra: str = "") -> str:
    """Cache key from source file identities (name, size, mtime) without reading gigabytes."""
    digest = hashlib.sha256(f"v{FORMAT_VERSION}:{extra}".encode())
    for path in paths:
        stat = path.stat()
        digest.update(f"{path.resolve()}:{stat.st_size}:{int(stat.st_mtime)}".encode())
    return digest.hexdigest()[:16]


class Catalogue:
    """Disk-backed products, positions 0..n-1 in file order (WebShop's order), plus the search index."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        meta = json.loads((self.directory / "meta.json").read_text())
        self.label: str = meta["label"]
        self.offsets = np.load(self.directory / "offsets.npy", mmap_mode="r")
        self.asins = np.load(self.directory / "asins.npy")
        self._sorted = np.argsort(self.asins, kind="stable")
        self._fd = os.open(self.directory / "products.jsonl", os.O_RDONLY)
        self._index: BM25Index | PyseriniIndex | None = None

    def __len__(self) -> int:
        return len(self.asins)

    def __del__(self) -> None:
        fd = getattr(self, "_fd", None)
        if fd is not None:
            os.close(fd)

    @property
    def index(self) -> BM25Index | PyseriniIndex:
        if self._index is None:
            self._index = BM25Index.load(self.directory / "bm25")
        return self._index

    def use_pyserini(self, index_dir: Path) -> None:
        """Search with pyserini over a prebuilt Lucene index instead of bm25s (needs pyserini + Java)."""
        self._index = PyseriniIndex(Path(index_dir), self.position)

    def product(self, pos: int) -> dict[str, Any]:
        start, end = int(self.offsets[pos]), int(self.offsets[pos + 1])
        return json.loads(os.pread(self._fd, end - start, start))

    def position(self, asin: str) -> int | None:
        i = int(np.searchsorted(self.asins, asin, sorter=self._sorted))
        if i < len(self.asins) and self.asins[self._sorted[i]] == asin:
            return int(self._sorted[i])
        return None

    def get(self, asin: str) -> dict[str, Any] | None:
        pos = self.position(asin)
        return None if pos is None else self.product(pos)

    def search(self, query: str, k: int = 50) -> list[int]:
        return self.index.search(query, k)

    def iter_products(self) -> Iterator[dict[str, Any]]:
        with (self.directory / "products.jsonl").open("rb") as fh:
            for line in fh:
                yield json.loads(line)

    @classmethod
    def build(
        cls,
        raw_products: Iterable[dict[str, Any]],
        attributes: dict[str, Any],
        directory: Path,
        label: str,
        progress: Callable[[int], None] | None = None,
    ) -> Catalogue:
        """Normalise, store and index products; written to a temp folder and renamed (crash-safe)."""
        directory = Path(directory)
        tmp = directory.with_name(directory.name + ".part")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        offsets, asins, seen = [0], [], set()

        def texts() -> Iterator[str]:
            with (tmp / "products.jsonl").open("wb") as out:
                for raw in raw_products:
                    asin = raw.get("asin")
                    # WebShop skips bad and duplicate ASINs.
                    if not isinstance(asin, str) or asin == "nan" or len(asin) > 10 or asin in seen:
                        continue
                    seen.add(asin)
                    product = normalise_product(raw, attributes)
                    line = json.dumps(product, ensure_ascii=False).encode() + b"\n"
                    out.write(line)
                    offsets.append(offsets[-1] + len(line))
                    asins.append(asin)
                    if progress is not None:
                        progress(len(asins))
                    yield document_text(
                        product["Title"], product["Description"], product["BulletPoints"], product["options"]
                    )

        index = BM25Index.build(texts())
        index.save(tmp / "bm25")
        np.save(tmp / "offsets.npy", np.asarray(offsets, dtype=np.int64))
        np.save(tmp / "asins.npy", np.asarray(asins, dtype="U10"))
        (tmp / "meta.json").write_text(json.dumps({"label": label, "products": len(asins)}))
        shutil.rmtree(directory, ignore_errors=True)
        tmp.rename(directory)
        return cls(directory)
