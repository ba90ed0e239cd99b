"""Named data resources and their resolution: data dir -> user cache -> pinned download.

Order: an explicit data directory (`--data-dir` or COEVOLVE_DATA_DIR) whose layout mirrors the
resource names (e.g. `eto/sciworld/train_indices.json`); the user cache (COEVOLVE_CACHE_DIR, default
~/.cache/coevolve/data); a download from the upstream source pinned by commit, checked by sha256.
COEVOLVE_OFFLINE=1 forbids downloads. A missing resource raises `ResourceMissing` naming the file,
where it was looked for and how to get it.

Lists of numbers (ETO's and IPR's split index lists, ScienceWorld's step caps and task-name ids) are
facts, so unmodified copies ship with the package (`coevolve/data/upstream/`, `PACKAGED`, checked
against the same sha256); they are found after the data dir and the cache and before a download, so the
default splits need no network. Prompts, trajectories and task texts are never shipped.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import tempfile
import urllib.request
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


def _github(
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
_HF_ETO = "https://huggingface.co/datasets/agent-eto/eto-sft-trajectory/resolve/main/data/{file}"

RESOURCES: dict[str, Resource] = {
    r.name: r
    for r in [
        _github(
            "eto/sciworld/dev_indices.json",
            "Yifan-Song793/ETO",
            "a2fc5da38f8d00cfaf3f9b6370d586eebaf72904",
            "eval_agent/data/sciworld/dev_indices.json",
            13419,
            "78084ef4393d2da87b21507451821e431daa1a70ab1a486fd1a964ab2404d741",
        ),
        _github(
            "eto/sciworld/max_steps.json",
            "Yifan-Song793/ETO",
            "a2fc5da38f8d00cfaf3f9b6370d586eebaf72904",
            "eval_agent/data/sciworld/max_steps.json",
            984,
            "035592f47fbe1309b6ed1a260b392a50d94d3163de951508a74e985d93048f73",
        ),
        _github(
            "eto/sciworld/taskname2id.json",
            "Yifan-Song793/ETO",
            "a2fc5da38f8d00cfaf3f9b6370d586eebaf72904",
            "eval_agent/data/sciworld/taskname2id.json",
            1278,
            "5b02636ef23caeb1da567814fa59ab1f62e2a9276b7f28f57ee4d7cfab784fe2",
        ),
        _github(
            "eto/sciworld/test_indices.json",
            "Yifan-Song793/ETO",
            "a2fc5da38f8d00cfaf3f9b6370d586eebaf72904",
            "eval_agent/data/sciworld/test_indices.json",
            14541,
            "dfe4ab263824f04a49cf977b8f6d65af516ce13b8cfbef5736a97ed993da7152",
        ),
        _github(
            "eto/sciworld/train_indices.json",
            "Yifan-Song793/ETO",
            "a2fc5da38f8d00cfaf3f9b6370d586eebaf72904",
            "eval_agent/data/sciworld/train_indices.json",
            96759,
            "c79eea7858383b829269986ee83d0d9a504533e7b4b3a5bc76e5bdc1e6999cd0",
        ),
        _github(
            "eto/webshop/test_indices.json",
            "Yifan-Song793/ETO",
            "a2fc5da38f8d00cfaf3f9b6370d586eebaf72904",
            "eval_agent/data/webshop/test_indices.json",
            1223,
            "0e7fa2b9646a8800761a29fe9bdfff757235bdec7597e3211525230434e2ea66",
        ),
        _github(
            "eto/webshop/test_indices_500.json",
            "Yifan-Song793/ETO",
            "a2fc5da38f8d00cfaf3f9b6370d586eebaf72904",
            "eval_agent/data/webshop/test_indices_500.json",
            3068,
            "470de709d4e7beef58407e7dc725824b2a6a727f2d0ecf16bc20daa9deaa3587",
        ),
        _github(
            "eto/webshop/train_indices.json",
            "Yifan-Song793/ETO",
            "a2fc5da38f8d00cfaf3f9b6370d586eebaf72904",
            "eval_agent/data/webshop/train_indices.json",
            10796,
            "15f44b4a5ca1e8c2f2a7f2e1849d7ebe1d93e5020426d80408b5f21f0a3a6202",
        ),
        _github(
            "eto/prompts/webshop_inst.txt",
            "Yifan-Song793/ETO",
            "a2fc5da38f8d00cfaf3f9b6370d586eebaf72904",
            "eval_agent/prompt/instructions/webshop_inst.txt",
            737,
            "073c199aa1418863a4c5fd815d38db7cadaccc9697dd49a4f1accba406c70529",
        ),
        _github(
            "eto/prompts/webshop_icl.json",
            "Yifan-Song793/ETO",
            "a2fc5da38f8d00cfaf3f9b6370d586eebaf72904",
            "eval_agent/prompt/icl_examples/webshop_icl.json",
            3284,
            "bb59e41bc6909d475919f9c77d1a7c552c1747f64eeb7b5835102713b9ffec7e",
        ),
        _github(
            "eto/prompts/sciworld_inst.txt",
            "Yifan-Song793/ETO",
            "a2fc5da38f8d00cfaf3f9b6370d586eebaf72904",
            "eval_agent/prompt/instructions/sciworld_inst.txt",
            1244,
            "9c6d1204044df41803612dea173af4188f6f9aad09f20c9822dbe20006eac23c",
        ),
        _github(
            "eto/prompts/sciworld_icl.json",
            "Yifan-Song793/ETO",
            "a2fc5da38f8d00cfaf3f9b6370d586eebaf72904",
            "eval_agent/prompt/icl_examples/sciworld_icl.json",
            3628,
            "45afd7b75cfdc1a722c6d0904829a1e4d2153eb4ea33fb9a679d64452a71c268",
        ),
        _github(
            "ipr/intercode_sql/test_indices.json",
            "WeiminXiong/IPR",
            "93335a3a818b46c1d0e081cd76288cf1cbf7dee4",
            "eval_agent/data/intercode_sql/test_indices.json",
            1692,
            "ca4e4afcf793f2c4a1a3b46ac52c0726835fc2d1c792d0f4dbb7d261a6610a72",
        ),
        _github(
            "ipr/intercode_sql/train_indices.json",
            "WeiminXiong/IPR",
            "93335a3a818b46c1d0e081cd76288cf1cbf7dee4",
            "eval_agent/data/intercode_sql/train_indices.json",
            14673,
            "42407d4cb002081137768acb90bd07fb011ecc18b3bb5a15791af39c6cd16893",
        ),
        _github(
            "ipr/webshop/test_indices.json",
            "WeiminXiong/IPR",
            "93335a3a818b46c1d0e081cd76288cf1cbf7dee4",
            "eval_agent/data/webshop/test_indices.json",
            1223,
            "8ccc37a8b89392359d2d124e321b0dd47d6072bf4410847f606762a211a0f189",
        ),
        _github(
            "ipr/webshop/test_indices_500.json",
            "WeiminXiong/IPR",
            "93335a3a818b46c1d0e081cd76288cf1cbf7dee4",
            "eval_agent/data/webshop/test_indices_500.json",
            3068,
            "470de709d4e7beef58407e7dc725824b2a6a727f2d0ecf16bc20daa9deaa3587",
        ),
        _github(
            "ipr/webshop/train_indices.json",
            "WeiminXiong/IPR",
            "93335a3a818b46c1d0e081cd76288cf1cbf7dee4",
            "eval_agent/data/webshop/train_indices.json",
            9585,
            "a2dff632a2e730830e8398411141004104e00cac5b5329847316514d91fc0dac",
        ),
        _github(
            "ipr/prompts/intercode_sql_inst.txt",
            "WeiminXiong/IPR",
            "93335a3a818b46c1d0e081cd76288cf1cbf7dee4",
            "eval_agent/prompt/instructions/intercode_sql_inst.txt",
            1263,
            "bb1ac3150720be7324420c541090d11d24da5a8c666e52bcba3571b891dca435",
        ),
        _github(
            "ipr/prompts/intercode_sql_icl.json",
            "WeiminXiong/IPR",
            "93335a3a818b46c1d0e081cd76288cf1cbf7dee4",
            "eval_agent/prompt/icl_examples/intercode_sql_icl.json",
            5468,
            "a8141421a2e8a90dc52837bca354ff96785de0482948f2b42d23131d5e32d74c",
        ),
        _github(
            "ipr/prompts/webshop_inst.txt",
            "WeiminXiong/IPR",
            "93335a3a818b46c1d0e081cd76288cf1cbf7dee4",
            "eval_agent/prompt/instructions/webshop_inst.txt",
            737,
            "073c199aa1418863a4c5fd815d38db7cadaccc9697dd49a4f1accba406c70529",
        ),
        _github(
            "intercode/ic_spider_dev.json",
            "princeton-nlp/intercode",
            "c3e46d827cfc9d4c704ec078f7abf9f41e3191d8",
            "data/sql/spider/ic_spider_dev.json",
            1001475,
            "68c9ecb0692c80770f46c724cc073ea76be4f301a294caa532c050546948128e",
        ),
        _github(
            "webshop/human_goals.json",
            "princeton-nlp/WebShop",
            "64fa2a5c15c7daa698b9ac93f5bb5437b634c9bd",
            "baseline_models/data/human_goals.json",
            999419,
            "b68746ed66cd31fdc5f70eb3f5831a46b38163563b57a66ddcab8fd60ee0cbdc",
        ),
        _github(
            "webshop/goal_query_map.json",
            "princeton-nlp/WebShop",
            "64fa2a5c15c7daa698b9ac93f5bb5437b634c9bd",
            "baseline_models/data/goal_query_map.json",
            244809,
            "1524f438ffbc51c7e308e635d7d9e14fa696b08f5d4300922d454ef0105cea86",
        ),
        _github(
            "webshop/items_ins_v2_1000.json",
            "WooooDyy/AgentGym",
            "3ef9235d23e68e7c2920c5422ad957dc8ced5c6c",
            "agentenv-webshop/webshop/data/items_ins_v2_1000.json",
            147099,
            "f88a36314a397b53b3d9c3fa5878e5f7b26d35019a51ec83fbedeca61a948f6f",
        ),
        # WebShop products/instructions. AgentGym commits the small files (hash not known offline:
        # kept after the first download); the full ones come from WebShop's setup.sh Google Drive ids.
        Resource(
            name="webshop/items_shuffle_1000.json",
            url=GITHUB_RAW.format(
                repo="WooooDyy/AgentGym",
                commit="3ef9235d23e68e7c2920c5422ad957dc8ced5c6c",
                path="agentenv-webshop/webshop/data/items_shuffle_1000.json",
            ),
            sha256=None,
            source="WooooDyy/AgentGym@3ef9235d23:agentenv-webshop/webshop/data/items_shuffle_1000.json "
            "(= WebShop setup.sh gdrive 1EgHdxQ_YxqIQlvvq5iKlCrkEKR6-j0Ib)",
            licence="MIT (WebShop data)",
        ),
        Resource(
            name="webshop/items_human_ins.json",
            url=GITHUB_RAW.format(
                repo="WooooDyy/AgentGym",
                commit="3ef9235d23e68e7c2920c5422ad957dc8ced5c6c",
                path="agentenv-webshop/webshop/data/items_human_ins.json",
            ),
            sha256=None,
            source="WooooDyy/AgentGym@3ef9235d23:agentenv-webshop/webshop/data/items_human_ins.json "
            "(= WebShop setup.sh gdrive 14Kb5SPBk_jfdLZ_CDBNitW98QLDlKR5O)",
            licence="MIT (WebShop data)",
        ),
        Resource(
            name="webshop/items_shuffle.json",
            url=_GDRIVE.format(id="1A2whVgOO0euk5O13n2iYDM0bQRkkRduB"),
            sha256=None,
            size=None,
            source="princeton-nlp/WebShop setup.sh (-d all), Google Drive 1A2whVgOO0euk5O13n2iYDM0bQRkkRduB",
            licence="MIT (WebShop data)",
            how_to_get="~5.2 GB; or unzip data.zip from ETO's setup.sh into <data-dir>/webshop/",
        ),
        Resource(
            name="webshop/items_ins_v2.json",
            url=_GDRIVE.format(id="1s2j6NgHljiZzQNL3veZaAiyW_qDEgBNi"),
            sha256=None,
            source="princeton-nlp/WebShop setup.sh (-d all), Google Drive 1s2j6NgHljiZzQNL3veZaAiyW_qDEgBNi",
            licence="MIT (WebShop data)",
            how_to_get="or unzip data.zip from ETO's setup.sh into <data-dir>/webshop/",
        ),
        Resource(
            name="eto/experts/webshop_sft.json",
            url=_HF_ETO.format(file="webshop_sft.json"),
            sha256=None,
            source="Hugging Face dataset agent-eto/eto-sft-trajectory (Apache-2.0)",
            licence="Apache-2.0",
            how_to_get="or unzip ETO_data.zip from ETO's setup.sh into <data-dir>/eto/experts/",
        ),
        Resource(
            name="eto/experts/sciworld_sft.json",
            url=_HF_ETO.format(file="sciworld_sft.json"),
            sha256=None,
            source="Hugging Face dataset agent-eto/eto-sft-trajectory (Apache-2.0)",
            licence="Apache-2.0",
            how_to_get="or unzip ETO_data.zip from ETO's setup.sh into <data-dir>/eto/experts/",
        ),
        Resource(
            name="ipr/experts/intercode_sql_sft.json",
            url=None,
            sha256=None,
            source="IPR_data.zip from IPR's setup.sh (WeiminXiong/IPR)",
            how_to_get="download IPR_data.zip as IPR's setup.sh does and copy intercode_sql_sft.json "
            "to <data-dir>/ipr/experts/intercode_sql_sft.json",
        ),
    ]
}


# Resources whose unmodified upstream bytes ship in the package (lists of numbers only).
PACKAGED_ROOT = Path(__file__).parent / "upstream"
PACKAGED: frozenset[str] = frozenset(
    name for name in RESOURCES if name.endswith(".json") and (PACKAGED_ROOT / name).is_file()
)


def register_resource(resource: Resource) -> Resource:
    """Add a resource (environments register their own large files)."""
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
    if packaged and name in PACKAGED:
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
