"""The training fast path computes the same SFT and masked-DPO losses and gradients as TRL's plain path.

Tolerances: fp32 fast path vs plain fp32 path: relative 1e-5 on losses, gradients allclose (rtol 1e-4,
atol 1e-6). bf16 autocast vs plain fp32: losses within 2 % relative, each gradient's cosine similarity to
the fp32 gradient >= 0.99 and the whole gradient's relative error <= 10 %.
"""

from __future__ import annotations

import json

import pytest
import torch
from train_records import make_pair, make_trajectory

from coevolve.models import load_causal_lm
from coevolve.training import DPOSettings, SFTSettings, build_dpo_trainer
from coevolve.training.fastpath import FastPath, choose, cpu_bf16_flags, scored_logps
from coevolve.training.sft import build_sft_trainer

TINY = dict(epochs=1, batch_size=2, micro_batch_size=2, max_length=512, logging_steps=1, save_steps=1000)
FP32 = dict(rel=1e-5)
GRAD_FP32 = dict(rtol=1e-4, atol=1e-6)


def sft_trainer(model_dir, out, **kw):
    trajs = [make_trajectory(i) for i in range(2)]
    trajs[1].messages.append(trajs[1].messages[-2])  # rows of different lengths: padding in the batch
    trajs[1].messages.append(trajs[1].messages[-2])
    return build_sft_trainer(str(model_dir), trajs, out, SFTSettings(**TINY, **kw))


def dpo_trainer(model_dir, out, **kw):
    pairs = [make_pair(0, 1.0), make_pair(1, 0.0)]
    settings = DPOSettings.preset("target", 1, **TINY, **kw)
    return build_dpo_trainer(str(model_dir), pairs, out, settings)


def loss_and_grads(trainer, batch) -> tuple[float, dict[str, torch.Tensor]]:
    model = trainer.model
    model.train()
    model.zero_grad()
    loss = trainer.compute_loss(model, dict(batch))
    loss.backward()
    grads = {n: p.grad.detach().clone() for n, p in model.named_parameters() if p.grad is not None}
    return loss.item(), grads


def perturb(model, seed: int = 0) -> None:
    """Move the policy away from the reference so the DPO term is not log 2 with a zero margin."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn(p.shape, generator=gen) * 0.02)


def check_close(fast, plain, bf16: bool) -> None:
    (loss_f, grads_f), (loss_p, grads_p) = fast, plain
    assert grads_f.keys() == grads_p.keys() and grads_p
    if not bf16:
        assert loss_f == pytest.approx(loss_p, **FP32)
        for name, g in grads_p.items():
            torch.testing.assert_close(grads_f[name], g, **GRAD_FP32, msg=name)
        return
    assert loss_f == pytest.approx(loss_p, rel=0.02)
    for name, g in grads_p.items():
        if g.norm() > 1e-8:
            cos = torch.nn.functional.cosine_similarity(grads_f[name].flatten(), g.flatten(), dim=0)
            assert cos >= 0.99, name
    flat_f = torch.cat([g.flatten() for g in grads_f.values()])
    flat_p = torch.cat([grads_p[n].flatten() for n in grads_f])
    assert (flat_f - flat_p).norm() / flat_p.norm() <= 0.10


@pytest.mark.parametrize("bf16", [False, True])
def test_sft_fast_path_matches_plain_path(tiny_model_dir, tmp_path, bf16):
    plain = sft_trainer(tiny_model_dir, tmp_path / "plain", fast_path=False)
    fast = sft_trainer(tiny_model_dir, tmp_path / "fast", cpu_bf16=bf16)
    assert fast.fast_path.autocast is bf16 and not plain.fast_path.enabled
    batch = plain.data_collator([plain.train_dataset[i] for i in range(2)])
    assert (batch["attention_mask"] == 0).any()  # the plain path pads; the fast path must not score padding
    check_close(loss_and_grads(fast, batch), loss_and_grads(plain, batch), bf16)


@pytest.mark.parametrize("bf16", [False, True])
def test_masked_dpo_fast_path_matches_plain_path(tiny_model_dir, tmp_path, bf16):
    plain = dpo_trainer(tiny_model_dir, tmp_path / "plain", fast_path=False)
    fast = dpo_trainer(tiny_model_dir, tmp_path / "fast", cpu_bf16=bf16)
    batch = plain.data_collator([plain.train_dataset[i] for i in range(2)])
    fast_batch = fast.data_collator([fast.train_dataset[i] for i in range(2)])
    # the reference log-probs precomputed on the fast path match TRL's (same model before training)
    tol = dict(rtol=2e-3, atol=0.05) if bf16 else dict(rtol=1e-5, atol=1e-4)
    for key in ("ref_chosen_logps", "ref_rejected_logps"):
        torch.testing.assert_close(fast_batch[key], batch[key], **tol)
    assert batch["sft_weight"].tolist() == [1.0, 0.0]
    perturb(plain.model)
    perturb(fast.model)
    check_close(loss_and_grads(fast, batch), loss_and_grads(plain, batch), bf16)


def test_dpo_fast_path_with_live_reference_matches_precomputed(tiny_model_dir, tmp_path):
    pre = dpo_trainer(tiny_model_dir, tmp_path / "pre", cpu_bf16=False)
    live = build_dpo_trainer(str(tiny_model_dir), [make_pair(0, 1.0), make_pair(1, 0.0)], tmp_path / "live",
                             DPOSettings.preset("target", 1, **TINY, precompute_ref=False, cpu_bf16=False),
                             ref_model=str(tiny_model_dir))  # fmt: skip
    batch = pre.data_collator([pre.train_dataset[i] for i in range(2)])
    perturb(pre.model)
    perturb(live.model)
    loss_pre = pre.compute_loss(pre.model, dict(batch)).item()
    live_batch = {k: v for k, v in batch.items() if not k.startswith("ref_")}
    assert live.compute_loss(live.model, live_batch).item() == pytest.approx(loss_pre, rel=1e-5)


def test_per_row_and_batched_scoring_agree(tiny_model_dir):
    model = load_causal_lm(str(tiny_model_dir), dtype="float32").eval()
    gen = torch.Generator().manual_seed(1)
    ids = torch.randint(4, 200, (3, 12), generator=gen)
    mask = torch.ones_like(ids)
    mask[1, 8:] = 0
    mask[2, 5:] = 0
    score = torch.zeros_like(ids)
    score[:, 3:10] = 1
    rows = {}
    for per_row in (True, False):
        path = FastPath(True, "cpu", "float32", [], per_row, True, False, 1)
        with torch.no_grad():
            rows[per_row] = scored_logps(model, ids, mask, score, path)
    assert rows[True].rows.tolist() == rows[False].rows.tolist() == [0] * 7 + [1] * 5 + [2] * 2
    torch.testing.assert_close(rows[True].logps, rows[False].logps, rtol=1e-5, atol=1e-6)
    with torch.no_grad():  # and both equal the full-vocabulary log-softmax of a plain forward
        full = model(input_ids=ids, attention_mask=mask).logits.log_softmax(-1)
    expected = [full[r, t - 1, ids[r, t]] for r in range(3) for t in range(3, 10) if mask[r, t]]
    torch.testing.assert_close(rows[True].logps, torch.stack(expected), rtol=1e-5, atol=1e-5)


def test_reference_pass_skips_statistics_not_log_probs(tiny_model_dir):
    model = load_causal_lm(str(tiny_model_dir), dtype="float32").eval()
    ids = torch.randint(4, 200, (2, 10), generator=torch.Generator().manual_seed(2))
    mask, score = torch.ones_like(ids), torch.zeros_like(ids)
    score[:, 4:] = 1
    path = FastPath(True, "cpu", "float32", [], True, True, False, 1)
    with torch.no_grad():
        full, lean = (scored_logps(model, ids, mask, score, path, stats=s) for s in (True, False))
    assert torch.equal(full.logps, lean.logps) and torch.equal(full.rows, lean.rows)
    assert full.entropy.numel() == full.logps.numel() == 12 and lean.entropy.numel() == lean.top1.numel() == 0


def test_training_done_records_step_clock_and_reference_pass(tiny_model_dir, tmp_path):
    from coevolve.training import train_dpo

    out = train_dpo(str(tiny_model_dir), [make_pair(0, 1.0), make_pair(1, 0.0)], tmp_path / "dpo",
                    DPOSettings.preset("target", 1, **TINY, max_steps=2, cpu_bf16=False))  # fmt: skip
    timing = json.loads((out / "training_done.json").read_text())["timing"]
    steps, (ref,) = timing["steps"], timing["reference_pass"]
    assert len(steps) == 2 and all(b <= e for b, e in steps) and steps[0][1] <= steps[1][0]
    assert ref[0] <= ref[1] <= timing["train_begin"] <= steps[0][0] and steps[-1][1] <= timing["train_end"]


def test_precision_choice_follows_cpu_flags(monkeypatch):
    assert cpu_bf16_flags(frozenset({"avx512f", "amx_bf16", "avx512_bf16"})) == ["amx_bf16", "avx512_bf16"]
    assert cpu_bf16_flags(frozenset({"avx2", "fma"})) == []
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert choose(True, True, torch.float32, False, 2).precision == "bf16-autocast"
    assert choose(True, False, torch.float32, False, 2).precision == "float32"
    assert choose(False, True, torch.float32, False, 2).precision == "float32"  # TRL's path: as before
    assert choose(True, True, torch.bfloat16, False, 2).precision == "bfloat16"  # bf16 weights stay bf16
    monkeypatch.setattr("coevolve.hardware.cpu_flags", lambda: frozenset({"avx2"}))
    monkeypatch.setattr("coevolve.training.fastpath.cpu_bf16_flags", lambda flags=None: [])
    auto = choose(True, None, torch.float32, False, 2)
    assert auto.precision == "float32" and auto.per_row and auto.scored_logits_only


def test_fast_path_is_recorded_in_the_output_dir(tiny_model_dir, tmp_path):
    trainer = sft_trainer(tiny_model_dir, tmp_path, cpu_bf16=False)
    record = json.loads((tmp_path / "fast_path.json").read_text())
    assert record["enabled"] and record["precision"] == "float32" and record["per_row"]
    assert record["gradient_checkpointing"] is False and trainer.args.gradient_checkpointing is False
