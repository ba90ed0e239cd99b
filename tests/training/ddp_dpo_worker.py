"""Run by test_ddp.py under `torchrun --nproc_per_node 2`: a few masked DPO steps over gloo."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import torch.distributed as dist
from train_records import make_pair

from coevolve.training import DPOSettings, build_dpo_trainer


def main(model_dir: str, out_dir: str) -> None:
    settings = DPOSettings.preset("target", 1, epochs=1, batch_size=4, micro_batch_size=2, max_length=512,
                                  max_steps=2, logging_steps=1, save_steps=1000)  # fmt: skip
    trainer = build_dpo_trainer(model_dir, [make_pair(i) for i in range(8)], Path(out_dir), settings)
    trainer.train()
    report = {
        "initialized": dist.is_initialized(),
        "world_size": dist.get_world_size() if dist.is_initialized() else 1,
        "backend": dist.get_backend() if dist.is_initialized() else None,
        "trainer_world_size": trainer.args.world_size,
        "global_step": trainer.state.global_step,
        "grad_accum": trainer.args.gradient_accumulation_steps,
    }
    Path(out_dir, f"rank{os.environ['RANK']}.json").write_text(json.dumps(report))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
