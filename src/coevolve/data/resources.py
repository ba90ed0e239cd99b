"""Named data resources and their resolution: data dir -> user cache -> pinned download.

Order: an explicit data directory (`--data-dir` or COEVOLVE_DATA_DIR) whose layout mirrors the
resource names (e.g. `eto/<benchmark>/train_indices.json`); the user cache (COEVOLVE_CACHE_DIR, default
~/.cache/coevolve/data); a download from the upstream source pinned by commit, checked by sha256.
COEVOLVE_OFFLINE=1 forbids downloads. A missing resource raises `ResourceMissing` naming the file,
where it was looked for and how to get it.

This module is the generic machinery only: each benchmark declares its own files next to its env
(`Benchmark.resources` under `envs/`, registered with `register_resource`). The catalogue `RESOURCES`
imports the providers named in `CATALOGUE_PROVIDERS` on its first look-up, so listing or resolving a
name sees every benchmark's files without this module naming any benchmark.

Lists of numbers (ETO's and IPR's split index lists, step caps and task-name ids) are facts, so
unmodified copies ship with the package (`coevolve/data/upstream/`, `PACKAGED`, checked against the
same sha256); they are found after the data dir and the cache and before a download, so the default
splits need no network. Prompts, trajectories and task texts are never shipped.
"""

from __future__ import annotations

import hashlib
import importlib
import logging
import os
import shutil
import tempfile
import urllib.request
from collections.abc import Iterator, MutableMapping
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

GITHUB_RAW = "https://raw.githubusercontent.com/{repo}/{commit}/{path}"


class ResourceMissing(FileNotFoundError):
    """A named resource is in no data dir or cache and cannot be downloaded."""


@dataclass(frozen=True)
class Resource:
    name: str  # relative path, also the layout inside a data dir and the cache
    url: str | None
    sha256: str | None  # None: upstream publishes no fixed bytes; the first download's hash is kept
    size: int | None = None
    source: str = ""
    licence: str = ""
    how_to_get: str = ""


def github_resource(
    name: str, repo: str, commit: str, path: str, size: int, sha256: str, licence: str = ""
) -> Resource:
    return Resource(
        name=name,
        url=GITHUB_RAW.format(repo=repo, commit=commit, path=path),
        sha256=sha256,
        size=size,
        source=f"{repo}@{commit[:10]}:{path}",
        licence=licence,
    )


# Google Drive's direct-download endpoint; confirm=t skips the large-file virus-scan page.
_GDRIVE = "https://drive.usercontent.google.com/download?id={id}&export=download&confirm=t"
# ETO's SFT trajectories on the Hugging Face hub (agent-eto/eto-sft-trajectory), one file per benchmark
ETO_EXPERTS_URL = "https://huggingface.co/datasets/agent-eto/eto-sft-trajectory/resolve/main/data/{file}"


def gdrive_url(file_id: str) -> str:
    return _GDRIVE.format(id=file_id)


# "module:function" called (or "module" imported) before the first look-up; each registers resources.
# The env package registers every benchmark's own files (an entry point, named here by module only).
CATALOGUE_PROVIDERS: list[str] = ["coevolve.envs.registry:import_env_modules"]


class Catalogue(MutableMapping[str, "Resource"]):
    """Resource name -> Resource; the first read loads `CATALOGUE_PROVIDERS` (once)."""

    def __init__(self) -> None:
        self._items: dict[str, Resource] = {}
        self._state = "new"  # new | loading | loaded

    def _load(self) -> None:
        if self._state != "new":
            return
        self._state = "loading"
        try:
            for provider in CATALOGUE_PROVIDERS:
                module, _, function = provider.partition(":")
                loaded = importlib.import_module(module)
                if function:
                    getattr(loaded, function)()
        finally:
            self._state = "loaded"

    def __getitem__(self, name: str) -> Resource:
        if name not in self._items:
            self._load()
        return self._items[name]

    def __setitem__(self, name: str, resource: Resource) -> None:
        self._items[name] = resource

    def __delitem__(self, name: str) -> None:
        del self._items[name]

    def __contains__(self, name: object) -> bool:
        if name not in self._items:
            self._load()
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        self._load()
        return iter(dict(self._items))

    def __len__(self) -> int:
        self._load()
        return len(self._items)


RESOURCES: Catalogue = Catalogue()  # filled by register_resource


# Resources whose unmodified upstream bytes ship in the package (lists of numbers only).
PACKAGED_ROOT = Path(__file__).parent / "upstream"


def packaged() -> frozenset[str]:
    """Names of the registered resources shipped in the package."""
    return frozenset(n for n in RESOURCES if n.endswith(".json") and (PACKAGED_ROOT / n).is_file())


def __getattr__(name: str) -> object:  # `PACKAGED`, computed once every benchmark has registered
    if name == "PACKAGED":
        return packaged()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def register_resource(resource: Resource) -> Resource:
    """Add a resource to the catalogue (each benchmark registers its own files from `envs/`)."""
    RESOURCES[resource.name] = resource
    return resource


def cache_root() -> Path:
    return Path(os.environ.get("COEVOLVE_CACHE_DIR") or Path.home() / ".cache" / "coevolve")


def data_dirs(data_dir: str | Path | None = None) -> list[Path]:
    """Directories searched before the cache: the explicit one, then COEVOLVE_DATA_DIR."""
    dirs = [Path(d) for d in (data_dir, os.environ.get("COEVOLVE_DATA_DIR")) if d]
    return list(dict.fromkeys(dirs))


def cache_path(name: str) -> Path:
    return cache_root() / "data" / name


def offline() -> bool:
    return os.environ.get("COEVOLVE_OFFLINE", "").lower() in ("1", "true", "yes")


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def get_resource(name: str) -> Resource:
    if name not in RESOURCES:
        known = "\n  ".join(sorted(RESOURCES))
        raise KeyError(f"unknown data resource {name!r}; known resources:\n  {known}")
    return RESOURCES[name]


def find_local(name: str, data_dir: str | Path | None = None, packaged: bool = True) -> Path | None:
    """Data dir, then cache, then (unless `packaged=False`) the copy shipped with the package."""
    roots = [*data_dirs(data_dir), cache_root() / "data"]
    if packaged and name.endswith(".json") and name in RESOURCES:
        roots.append(PACKAGED_ROOT)
    for root in roots:
        candidate = root / name
        if candidate.is_file():
            return candidate
    return None


def resolve(name: str, data_dir: str | Path | None = None, download: bool = True) -> Path:
    """Local path of a named resource, downloading it into the cache when allowed."""
    resource = get_resource(name)
    local = find_local(name, data_dir)
    if local is not None:
        return local
    if download and not offline() and resource.url:
        try:
            return fetch(resource)
        except OSError as exc:
            raise ResourceMissing(_missing_message(resource, data_dir, f"download failed: {exc}")) from exc
    reason = "downloads are off (COEVOLVE_OFFLINE=1)" if offline() else "no download source"
    raise ResourceMissing(_missing_message(resource, data_dir, reason))


def _missing_message(resource: Resource, data_dir: str | Path | None, reason: str) -> str:
    searched = [str(d / resource.name) for d in data_dirs(data_dir)] + [str(cache_path(resource.name))]
    lines = [
        f"data file '{resource.name}' is missing ({reason}).",
        "Looked in: " + ", ".join(searched),
        f"Source: {resource.source or 'unknown'}",
    ]
    if resource.url:
        lines.append(f"Get it with `coevolve data fetch {resource.name}` (needs internet), or download")
        lines.append(f"  {resource.url}")
        lines.append(f"  to {cache_path(resource.name)} (or <data-dir>/{resource.name}).")
    if resource.how_to_get:
        lines.append(f"Also: {resource.how_to_get}")
    lines.append("Point --data-dir or COEVOLVE_DATA_DIR at a folder with this layout to use local copies.")
    return "\n".join(lines)


def fetch(resource: Resource, timeout: float = 60.0) -> Path:
    """Download into the cache atomically; a hash mismatch deletes the download and raises."""
    if not resource.url:
        raise ResourceMissing(_missing_message(resource, None, "no download source"))
    target = cache_path(resource.name)
    target.parent.mkdir(parents=True, exist_ok=True)
    log.info("downloading %s from %s", resource.name, resource.url)
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=".part-")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(resource.url, timeout=timeout) as response:
            shutil.copyfileobj(response, out, length=1 << 20)
        digest = sha256_of(tmp)
        if resource.sha256 and digest != resource.sha256:
            raise OSError(f"sha256 mismatch for {resource.name}: expected {resource.sha256}, got {digest}")
        tmp.replace(target)
        if not resource.sha256:
            # No pinned hash upstream: record what we got so later runs can detect a change.
            target.with_name(target.name + ".sha256").write_text(digest + "\n")
    finally:
        tmp.unlink(missing_ok=True)
    return target


def verify(name: str, data_dir: str | Path | None = None) -> tuple[str, Path | None]:
    """('ok' | 'mismatch' | 'missing' | 'unpinned', path) for one resource."""
    resource = get_resource(name)
    local = find_local(name, data_dir)
    if local is None:
        return "missing", None
    if not resource.sha256:
        return "unpinned", local
    return ("ok" if sha256_of(local) == resource.sha256 else "mismatch"), local
