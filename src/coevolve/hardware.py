"""What the machine offers for training and generation speed (project code): CPU bf16 matrix units."""

from __future__ import annotations

import functools
import os

import torch

BF16_CPU_FLAGS = ("amx_bf16", "avx512_bf16")


@functools.cache
def cpu_flags() -> frozenset[str]:
    """The CPU feature flags from /proc/cpuinfo (empty where that file does not exist)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return frozenset(line.split(":", 1)[1].split())
    except OSError:
        pass
    return frozenset()


def cpu_bf16_flags(flags: frozenset[str] | None = None) -> list[str]:
    """Which bf16 matrix features the CPU has (AMX-BF16, AVX512-BF16), e.g. ['amx_bf16', 'avx512_bf16']."""
    flags = cpu_flags() if flags is None else flags
    found = [f for f in BF16_CPU_FLAGS if f in flags]
    if not found and flags == cpu_flags():  # no cpuinfo (macOS, containers): ask oneDNN
        try:
            if torch.ops.mkldnn._is_mkldnn_bf16_supported():
                found = ["mkldnn_bf16"]
        except (AttributeError, RuntimeError):
            pass
    return found


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1
