from __future__ import annotations

import pytest

from coevolve.training import DPOSettings, LoraSettings, SFTSettings, apply_overrides


def test_paper_defaults():
    s = SFTSettings()
    assert (s.epochs, s.learning_rate, s.batch_size, s.warmup, s.lr_scheduler) == (
        3,
        1e-5,
        48,
        0.03,
        "cosine",
    )
    d = DPOSettings()
    assert (d.batch_size, d.lr_scheduler, d.warmup) == (32, "constant_with_warmup", 0.1)


@pytest.mark.parametrize(
    ("name", "iteration", "beta", "lr", "dpo", "sft"),
    [
        ("target", 1, 0.1, 1e-6, 0.5, 0.5),
        ("failure", 2, 0.5, 5e-7, 1.0, 0.0),
        ("eto", 3, 0.5, 5e-7, 1.0, 0.0),
    ],
)
def test_presets(name, iteration, beta, lr, dpo, sft):
    s = DPOSettings.preset(name, iteration)
    assert (s.beta, s.learning_rate, s.dpo_weight, s.sft_weight) == (beta, lr, dpo, sft)


def test_preset_overrides_and_errors():
    assert DPOSettings.preset("target", 2, beta=0.3).beta == 0.3
    with pytest.raises(ValueError, match="unknown DPO preset"):
        DPOSettings.preset("ipr", 1)
    with pytest.raises(ValueError, match="iteration"):
        DPOSettings.preset("eto", 0)


def test_string_overrides_are_typed():
    s = apply_overrides(SFTSettings(), ["epochs=1", "learning_rate=2e-5"])
    assert s.epochs == 1.0 and isinstance(s.epochs, float) and s.learning_rate == 2e-5
    d = apply_overrides(DPOSettings(), ["precompute_ref=false", "lora.r=8", "lora.merge=false"])
    assert d.precompute_ref is False and d.lora == LoraSettings(r=8, merge=False)
    assert apply_overrides(d, ["lora=false"]).lora is None
    with pytest.raises(ValueError, match="unknown setting 'beta'"):
        apply_overrides(SFTSettings(), ["beta=0.1"])
    with pytest.raises(ValueError, match="key=value"):
        apply_overrides(SFTSettings(), ["epochs"])
    with pytest.raises(ValueError, match="true/false"):
        apply_overrides(DPOSettings(), ["precompute_ref=3"])


def test_gradient_accumulation_from_global_batch():
    assert DPOSettings().gradient_accumulation(world_size=8) == 2  # ETO: 32 = 2 x 8 x 2
    assert SFTSettings(micro_batch_size=4).gradient_accumulation(world_size=1) == 12
    with pytest.raises(ValueError, match="multiple"):
        SFTSettings(batch_size=10, micro_batch_size=4).gradient_accumulation(world_size=1)


def test_number_fields_reject_text():
    with pytest.raises(ValueError, match="expects a number"):
        apply_overrides(SFTSettings(), ["epochs=three"])
