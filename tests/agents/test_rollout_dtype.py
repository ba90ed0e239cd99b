"""The hf policy's default generation dtype follows the machine: bf16 where the CPU has bf16 matrix units."""

from __future__ import annotations

import torch

from coevolve.agents import make_policy
from coevolve.agents.hf import rollout_dtype


def test_default_dtype_follows_cpu_bf16_units(monkeypatch):
    cpu = torch.device("cpu")
    monkeypatch.setattr("coevolve.agents.hf.cpu_bf16_flags", lambda: ["amx_bf16"])
    assert rollout_dtype(None, cpu) == (torch.bfloat16, "cpu has amx_bf16")
    assert rollout_dtype("float32", cpu) == (torch.float32, "given")  # an explicit dtype wins
    monkeypatch.setattr("coevolve.agents.hf.cpu_bf16_flags", lambda: [])
    assert rollout_dtype(None, cpu)[0] == torch.float32
    assert rollout_dtype("auto", cpu)[0] == torch.float32


def test_policy_records_its_setting(tiny_model_dir, monkeypatch):
    monkeypatch.setattr("coevolve.agents.hf.cpu_bf16_flags", lambda: ["avx512_bf16"])
    policy = make_policy("hf", str(tiny_model_dir), device="cpu", num_threads=1)
    try:
        assert policy.model.dtype == torch.bfloat16
        assert policy.setting == {"dtype": "bfloat16", "dtype_reason": "cpu has avx512_bf16", "threads": 1}
    finally:
        policy.close()


def test_default_threads_use_every_usable_core_and_are_restored(tiny_model_dir, monkeypatch):
    monkeypatch.setattr("coevolve.agents.hf.usable_cores", lambda: 2)
    before = torch.get_num_threads()
    policy = make_policy("hf", str(tiny_model_dir), device="cpu", dtype="float32")
    assert policy.setting["threads"] == 2 == torch.get_num_threads()
    policy.close()
    assert torch.get_num_threads() == before
