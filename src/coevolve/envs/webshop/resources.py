"""WebShop's upstream data files: ETO's and IPR's split lists and prompts, WebShop's goals and product
catalogues (AgentGym's small copies, the full Google Drive files), ETO's expert trajectories.

Registered through the benchmark description (`Benchmark.resources`), so `coevolve data list` shows them
and `data.resources.resolve` finds them by name. The split lists are lists of numbers that ship with the
package (`coevolve/data/upstream/`); everything else is downloaded or supplied under a data dir.
"""

from __future__ import annotations

from coevolve.data.resources import (
    ETO_EXPERTS_URL,
    GITHUB_RAW,
    Resource,
    gdrive_url,
    github_resource,
)

RESOURCES: tuple[Resource, ...] = (
    github_resource(
        "eto/webshop/test_indices.json",
        "Yifan-Song793/ETO",
        "a2fc5da38f8d00cfaf3f9b6370d586eebaf72904",
        "eval_agent/data/webshop/test_indices.json",
        1223,
        "0e7fa2b9646a8800761a29fe9bdfff757235bdec7597e3211525230434e2ea66",
    ),
    github_resource(
        "eto/webshop/test_indices_500.json",
        "Yifan-Song793/ETO",
        "a2fc5da38f8d00cfaf3f9b6370d586eebaf72904",
        "eval_agent/data/webshop/test_indices_500.json",
        3068,
        "470de709d4e7beef58407e7dc725824b2a6a727f2d0ecf16bc20daa9deaa3587",
    ),
    github_resource(
        "eto/webshop/train_indices.json",
        "Yifan-Song793/ETO",
        "a2fc5da38f8d00cfaf3f9b6370d586eebaf72904",
        "eval_agent/data/webshop/train_indices.json",
        10796,
        "15f44b4a5ca1e8c2f2a7f2e1849d7ebe1d93e5020426d80408b5f21f0a3a6202",
    ),
    github_resource(
        "eto/prompts/webshop_inst.txt",
        "Yifan-Song793/ETO",
        "a2fc5da38f8d00cfaf3f9b6370d586eebaf72904",
        "eval_agent/prompt/instructions/webshop_inst.txt",
        737,
        "073c199aa1418863a4c5fd815d38db7cadaccc9697dd49a4f1accba406c70529",
    ),
    github_resource(
        "eto/prompts/webshop_icl.json",
        "Yifan-Song793/ETO",
        "a2fc5da38f8d00cfaf3f9b6370d586eebaf72904",
        "eval_agent/prompt/icl_examples/webshop_icl.json",
        3284,
        "bb59e41bc6909d475919f9c77d1a7c552c1747f64eeb7b5835102713b9ffec7e",
    ),
    github_resource(
        "ipr/webshop/test_indices.json",
        "WeiminXiong/IPR",
        "93335a3a818b46c1d0e081cd76288cf1cbf7dee4",
        "eval_agent/data/webshop/test_indices.json",
        1223,
        "8ccc37a8b89392359d2d124e321b0dd47d6072bf4410847f606762a211a0f189",
    ),
    github_resource(
        "ipr/webshop/test_indices_500.json",
        "WeiminXiong/IPR",
        "93335a3a818b46c1d0e081cd76288cf1cbf7dee4",
        "eval_agent/data/webshop/test_indices_500.json",
        3068,
        "470de709d4e7beef58407e7dc725824b2a6a727f2d0ecf16bc20daa9deaa3587",
    ),
    github_resource(
        "ipr/webshop/train_indices.json",
        "WeiminXiong/IPR",
        "93335a3a818b46c1d0e081cd76288cf1cbf7dee4",
        "eval_agent/data/webshop/train_indices.json",
        9585,
        "a2dff632a2e730830e8398411141004104e00cac5b5329847316514d91fc0dac",
    ),
    github_resource(
        "ipr/prompts/webshop_inst.txt",
        "WeiminXiong/IPR",
        "93335a3a818b46c1d0e081cd76288cf1cbf7dee4",
        "eval_agent/prompt/instructions/webshop_inst.txt",
        737,
        "073c199aa1418863a4c5fd815d38db7cadaccc9697dd49a4f1accba406c70529",
    ),
    github_resource(
        "webshop/human_goals.json",
        "princeton-nlp/WebShop",
        "64fa2a5c15c7daa698b9ac93f5bb5437b634c9bd",
        "baseline_models/data/human_goals.json",
        999419,
        "b68746ed66cd31fdc5f70eb3f5831a46b38163563b57a66ddcab8fd60ee0cbdc",
    ),
    github_resource(
        "webshop/goal_query_map.json",
        "princeton-nlp/WebShop",
        "64fa2a5c15c7daa698b9ac93f5bb5437b634c9bd",
        "baseline_models/data/goal_query_map.json",
        244809,
        "1524f438ffbc51c7e308e635d7d9e14fa696b08f5d4300922d454ef0105cea86",
    ),
    github_resource(
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
        url=gdrive_url("1A2whVgOO0euk5O13n2iYDM0bQRkkRduB"),
        sha256=None,
        size=None,
        source="princeton-nlp/WebShop setup.sh (-d all), Google Drive 1A2whVgOO0euk5O13n2iYDM0bQRkkRduB",
        licence="MIT (WebShop data)",
        how_to_get="~5.2 GB; or unzip data.zip from ETO's setup.sh into <data-dir>/webshop/",
    ),
    Resource(
        name="webshop/items_ins_v2.json",
        url=gdrive_url("1s2j6NgHljiZzQNL3veZaAiyW_qDEgBNi"),
        sha256=None,
        source="princeton-nlp/WebShop setup.sh (-d all), Google Drive 1s2j6NgHljiZzQNL3veZaAiyW_qDEgBNi",
        licence="MIT (WebShop data)",
        how_to_get="or unzip data.zip from ETO's setup.sh into <data-dir>/webshop/",
    ),
    Resource(
        name="eto/experts/webshop_sft.json",
        url=ETO_EXPERTS_URL.format(file="webshop_sft.json"),
        sha256=None,
        source="Hugging Face dataset agent-eto/eto-sft-trajectory (Apache-2.0)",
        licence="Apache-2.0",
        how_to_get="or unzip ETO_data.zip from ETO's setup.sh into <data-dir>/eto/experts/",
    ),
)
