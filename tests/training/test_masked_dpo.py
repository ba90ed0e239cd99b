from __future__ import annotations

import copy
import math

import pytest
import torch
from datasets import Dataset
from train_records import make_pair

from coevolve.data.records import Message
from coevolve.models import load_causal_lm, load_tokenizer
from coevolve.training import DPOSettings, build_dpo_trainer
from coevolve.training.data import dpo_rows
from coevolve.training.masked_dpo import MaskedPreferenceCollator, tokenize_pair, weighted_nll

TINY = dict(epochs=1, batch_size=2, micro_batch_size=2, max_length=512, logging_steps=1, save_steps=1000,
            cpu_bf16=False)  # fp32: these tests compare against fp32 references at tight tolerances


def settings(**kw) -> DPOSettings:
    return DPOSettings.preset(kw.pop("preset", "eto"), 1, **{**TINY, **kw})


def batch_for(trainer, n: int = 2):
    rows = [trainer.train_dataset[i] for i in range(n)]
    return trainer.data_collator(rows)


def sequence_logps(model, batch) -> torch.Tensor:
    """Summed log-probs of completion-mask tokens, computed directly from the logits."""
    with torch.no_grad():
        logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
    logps = torch.log_softmax(logits[:, :-1].float(), -1).gather(-1, batch["input_ids"][:, 1:, None])[..., 0]
    return (logps * batch["completion_mask"][:, 1:]).sum(-1)


def test_scored_tokens_are_exactly_the_assistant_turns(tiny_model_dir):
    tok = load_tokenizer(str(tiny_model_dir))
    pair = make_pair(3)
    row = tokenize_pair(dpo_rows([pair])[0], tok)
    batch = MaskedPreferenceCollator(pad_token_id=tok.pad_token_id)([row])
    for k, side in enumerate((pair.chosen, pair.rejected)):
        ids = batch["input_ids"][k][batch["completion_mask"][k].bool()]
        expected = " ".join(f"{m.content} </s>" for m in side if m.role == "assistant")
        assert tok.decode(ids).strip() == expected
        assert "Observation" not in tok.decode(ids)
    # observations stay in context: attended to but not scored
    assert batch["attention_mask"][0].sum() > batch["completion_mask"][0].sum() + len(row["prompt_ids"])


def test_trainer_dataset_keeps_masks_and_weights(tiny_model_dir, tmp_path):
    pairs = [make_pair(0, 1.0), make_pair(1, 0.0)]
    trainer = build_dpo_trainer(str(tiny_model_dir), pairs, tmp_path, settings())
    batch = batch_for(trainer)
    assert batch["sft_weight"].tolist() == [1.0, 0.0]
    assert "ref_chosen_logps" in batch  # precomputed once
    tok = trainer.processing_class
    scored = tok.decode(batch["input_ids"][0][batch["completion_mask"][0].bool()])
    assert "Observation" not in scored and "Buy Now" in scored


def test_precomputed_reference_equals_explicit_reference(tiny_model_dir, tmp_path):
    pairs = [make_pair(i) for i in range(2)]
    pre = build_dpo_trainer(str(tiny_model_dir), pairs, tmp_path / "a", settings(precompute_ref=True))
    explicit = build_dpo_trainer(
        str(tiny_model_dir),
        pairs,
        tmp_path / "b",
        settings(precompute_ref=False),
        ref_model=str(tiny_model_dir),
    )
    # move the policies away from the reference so the DPO term is not trivially log 2
    with torch.no_grad():
        for p_pre, p_exp in zip(pre.model.parameters(), explicit.model.parameters(), strict=True):
            noise = torch.randn_like(p_pre) * 0.02
            p_pre.add_(noise)
            p_exp.add_(noise)
    batch = batch_for(pre)
    loss_pre = pre.compute_loss(pre.model, batch)
    loss_exp = explicit.compute_loss(explicit.model, {k: v for k, v in batch.items() if "ref_" not in k})
    assert not math.isclose(loss_pre.item(), math.log(2), abs_tol=1e-4)
    assert loss_pre.item() == pytest.approx(loss_exp.item(), rel=1e-5)


def test_reference_logps_follow_the_mask(tiny_model_dir, tmp_path):
    pairs = [make_pair(i) for i in range(2)]
    trainer = build_dpo_trainer(str(tiny_model_dir), pairs, tmp_path, settings())
    batch = batch_for(trainer)
    expected = sequence_logps(load_causal_lm(str(tiny_model_dir)), batch)
    got = torch.cat([batch["ref_chosen_logps"], batch["ref_rejected_logps"]])
    assert torch.allclose(got, expected, atol=1e-3)


@pytest.mark.parametrize("weights", [[1.0, 1.0], [1.0, 0.0]])
def test_nll_term_adds_the_expected_amount(tiny_model_dir, tmp_path, weights):
    pairs = [make_pair(i, w) for i, w in enumerate(weights)]
    plain = build_dpo_trainer(str(tiny_model_dir), pairs, tmp_path / "a", settings(preset="eto"))
    mixed = build_dpo_trainer(str(tiny_model_dir), pairs, tmp_path / "b", settings(preset="target"))
    batch = batch_for(plain)
    dpo_only = plain.compute_loss(plain.model, dict(batch))
    total = mixed.compute_loss(mixed.model, dict(batch))
    # hand-computed token-mean NLL over scored chosen tokens of pairs with weight 1
    model = load_causal_lm(str(tiny_model_dir))
    with torch.no_grad():
        logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
    logps = torch.log_softmax(logits[:, :-1], -1).gather(-1, batch["input_ids"][:, 1:, None])[..., 0]
    mask = batch["completion_mask"][:, 1:].float()
    keep = torch.tensor(weights + [0.0, 0.0])[:, None] * mask
    nll = -(logps * keep).sum() / keep.sum()
    assert total.item() - 0.5 * dpo_only.item() / 1.0 == pytest.approx(0.5 * nll.item(), rel=1e-4)


def test_weighted_nll_zero_weights_contribute_nothing():
    logps = -torch.rand(4, 5)
    mask = torch.ones(4, 5)
    assert weighted_nll(logps, mask, torch.zeros(2)).item() == 0.0
    only_first = weighted_nll(logps, mask, torch.tensor([1.0, 0.0]))
    assert only_first.item() == pytest.approx(-logps[0].mean().item())


def test_dpo_raises_the_chosen_minus_rejected_margin(tiny_model_dir, tmp_path):
    pairs = [make_pair(i) for i in range(4)]
    s = settings(learning_rate=5e-3, warmup=0.0, max_steps=8, beta=0.1)
    trainer = build_dpo_trainer(str(tiny_model_dir), pairs, tmp_path, s)
    batch = trainer.data_collator([trainer.train_dataset[i] for i in range(4)])
    before = sequence_logps(trainer.model, batch)
    trainer.train()
    after = sequence_logps(trainer.model, batch)
    margin = lambda x: (x[:4] - x[4:]).mean().item()  # noqa: E731
    assert margin(after) > margin(before) + 1.0


def test_explicit_ref_model_object_is_not_the_policy(tiny_model_dir, tmp_path):
    pairs = [make_pair(0), make_pair(1)]
    trainer = build_dpo_trainer(
        str(tiny_model_dir), pairs, tmp_path, settings(precompute_ref=False), ref_model=str(tiny_model_dir)
    )
    assert trainer.ref_model is not None and trainer.ref_model is not trainer.model
    assert copy.deepcopy(trainer.args.loss_type) == ["sigmoid"]


def test_over_long_prompts_are_dropped(tiny_model_dir, tmp_path):
    long = make_pair(0)
    long.prompt = [*long.prompt[:-1], Message("user", "Task: " + "word " * 400)]
    pairs = [long, make_pair(1)]
    trainer = build_dpo_trainer(str(tiny_model_dir), pairs, tmp_path, settings(max_length=256))
    assert len(trainer.train_dataset) == 1
    with pytest.raises(ValueError, match="no pair fits"):
        build_dpo_trainer(str(tiny_model_dir), [long], tmp_path / "x", settings(max_length=256))


def test_dataset_columns_survive(tiny_model_dir, tmp_path):
    trainer = build_dpo_trainer(str(tiny_model_dir), [make_pair(0), make_pair(1)], tmp_path, settings())
    assert isinstance(trainer.train_dataset, Dataset)
    for col in ("prompt_ids", "chosen_ids", "chosen_mask", "rejected_mask", "sft_weight"):
        assert col in trainer.train_dataset.column_names
