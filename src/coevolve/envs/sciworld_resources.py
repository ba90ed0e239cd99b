"""ScienceWorld's upstream data files: ETO's split lists, step caps, task-name ids, prompt and expert file.

Registered through the benchmark description (`Benchmark.resources`). The lists of numbers ship with
the package (`coevolve/data/upstream/`), so ETO's splits work offline.
"""

from __future__ import annotations

from coevolve.data.resources import ETO_EXPERTS_URL, Resource, github_resource

RESOURCES: tuple[Resource, ...] = (
    github_resource(
        "eto/sciworld/dev_indices.json",
        "Yifan-Song793/ETO",
        "a2fc5da38f8d00cfaf3f9b6370d586eebaf72904",
        "eval_agent/data/sciworld/dev_indices.json",
        13419,
        "78084ef4393d2da87b21507451821e431daa1a70ab1a486fd1a964ab2404d741",
    ),
    github_resource(
        "eto/sciworld/max_steps.json",
        "Yifan-Song793/ETO",
        "a2fc5da38f8d00cfaf3f9b6370d586eebaf72904",
        "eval_agent/data/sciworld/max_steps.json",
        984,
        "035592f47fbe1309b6ed1a260b392a50d94d3163de951508a74e985d93048f73",
    ),
    github_resource(
        "eto/sciworld/taskname2id.json",
        "Yifan-Song793/ETO",
        "a2fc5da38f8d00cfaf3f9b6370d586eebaf72904",
        "eval_agent/data/sciworld/taskname2id.json",
        1278,
        "5b02636ef23caeb1da567814fa59ab1f62e2a9276b7f28f57ee4d7cfab784fe2",
    ),
    github_resource(
        "eto/sciworld/test_indices.json",
        "Yifan-Song793/ETO",
        "a2fc5da38f8d00cfaf3f9b6370d586eebaf72904",
        "eval_agent/data/sciworld/test_indices.json",
        14541,
        "dfe4ab263824f04a49cf977b8f6d65af516ce13b8cfbef5736a97ed993da7152",
    ),
    github_resource(
        "eto/sciworld/train_indices.json",
        "Yifan-Song793/ETO",
        "a2fc5da38f8d00cfaf3f9b6370d586eebaf72904",
        "eval_agent/data/sciworld/train_indices.json",
        96759,
        "c79eea7858383b829269986ee83d0d9a504533e7b4b3a5bc76e5bdc1e6999cd0",
    ),
    github_resource(
        "eto/prompts/sciworld_inst.txt",
        "Yifan-Song793/ETO",
        "a2fc5da38f8d00cfaf3f9b6370d586eebaf72904",
        "eval_agent/prompt/instructions/sciworld_inst.txt",
        1244,
        "9c6d1204044df41803612dea173af4188f6f9aad09f20c9822dbe20006eac23c",
    ),
    github_resource(
        "eto/prompts/sciworld_icl.json",
        "Yifan-Song793/ETO",
        "a2fc5da38f8d00cfaf3f9b6370d586eebaf72904",
        "eval_agent/prompt/icl_examples/sciworld_icl.json",
        3628,
        "45afd7b75cfdc1a722c6d0904829a1e4d2153eb4ea33fb9a679d64452a71c268",
    ),
    Resource(
        name="eto/experts/sciworld_sft.json",
        url=ETO_EXPERTS_URL.format(file="sciworld_sft.json"),
        sha256=None,
        source="Hugging Face dataset agent-eto/eto-sft-trajectory (Apache-2.0)",
        licence="Apache-2.0",
        how_to_get="or unzip ETO_data.zip from ETO's setup.sh into <data-dir>/eto/experts/",
    ),
)
