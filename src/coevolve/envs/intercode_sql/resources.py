"""InterCodeSQL's upstream data files: IPR's split lists, prompt and expert file, InterCode's Spider
dev tasks.

Registered through the benchmark description (`Benchmark.resources`); IPR's own task files, which need
the Spider train databases, are registered in `tasks.py`.
"""

from __future__ import annotations

from coevolve.data.resources import Resource, github_resource

RESOURCES: tuple[Resource, ...] = (
    github_resource(
        "ipr/intercode_sql/test_indices.json",
        "WeiminXiong/IPR",
        "93335a3a818b46c1d0e081cd76288cf1cbf7dee4",
        "eval_agent/data/intercode_sql/test_indices.json",
        1692,
        "ca4e4afcf793f2c4a1a3b46ac52c0726835fc2d1c792d0f4dbb7d261a6610a72",
    ),
    github_resource(
        "ipr/intercode_sql/train_indices.json",
        "WeiminXiong/IPR",
        "93335a3a818b46c1d0e081cd76288cf1cbf7dee4",
        "eval_agent/data/intercode_sql/train_indices.json",
        14673,
        "42407d4cb002081137768acb90bd07fb011ecc18b3bb5a15791af39c6cd16893",
    ),
    github_resource(
        "ipr/prompts/intercode_sql_inst.txt",
        "WeiminXiong/IPR",
        "93335a3a818b46c1d0e081cd76288cf1cbf7dee4",
        "eval_agent/prompt/instructions/intercode_sql_inst.txt",
        1263,
        "bb1ac3150720be7324420c541090d11d24da5a8c666e52bcba3571b891dca435",
    ),
    github_resource(
        "ipr/prompts/intercode_sql_icl.json",
        "WeiminXiong/IPR",
        "93335a3a818b46c1d0e081cd76288cf1cbf7dee4",
        "eval_agent/prompt/icl_examples/intercode_sql_icl.json",
        5468,
        "a8141421a2e8a90dc52837bca354ff96785de0482948f2b42d23131d5e32d74c",
    ),
    github_resource(
        "intercode/ic_spider_dev.json",
        "princeton-nlp/intercode",
        "c3e46d827cfc9d4c704ec078f7abf9f41e3191d8",
        "data/sql/spider/ic_spider_dev.json",
        1001475,
        "68c9ecb0692c80770f46c724cc073ea76be4f301a294caa532c050546948128e",
    ),
    Resource(
        name="ipr/experts/intercode_sql_sft.json",
        url=None,
        sha256=None,
        source="IPR_data.zip from IPR's setup.sh (WeiminXiong/IPR)",
        how_to_get="download IPR_data.zip as IPR's setup.sh does and copy intercode_sql_sft.json "
        "to <data-dir>/ipr/experts/intercode_sql_sft.json",
    ),
)
