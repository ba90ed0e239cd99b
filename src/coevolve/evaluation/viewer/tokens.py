"""Which tokens of a DPO pair side the loss scores, for the pair view.

With the run's tokenizer the sides are tokenized exactly as training does
(`coevolve.training.masked_dpo.tokenize_pair`: the chat template's assistant mask after the prompt/side
common prefix), then cut at the DPO `max_length` like the collator (keep_start). Each side becomes a list
of text pieces and a mask string, one character per piece: `1` scored assistant token, `0` masked
(observations, template tokens; never scored), `2` an assistant token cut by `max_length`. Scored tokens are
one piece each; a run of unscored tokens is decoded as one piece.

Without a tokenizer (none found, or its template has no assistant markers) the fallback is the turn split:
one piece per message, assistant turns `1`, observation turns `0`. `mode` says which was used.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from coevolve.data.records import PreferencePair
from coevolve.pipeline.layout import RunLayout

log = logging.getLogger(__name__)


def turn_split(messages: list[tuple[str, str]]) -> dict[str, Any]:
    """Fallback: whole turns; assistant scored, user (observations) masked."""
    pieces = [content for _, content in messages]
    mask = "".join("1" if role == "assistant" else "0" for role, _ in messages)
    return {"pieces": pieces, "mask": mask, "prompt_tokens": None}


def token_text(tokenizer, ids: list[int], i: int, context: int = 4) -> str:
    """Text of token i as it reads in context (SentencePiece spaces, multi-byte characters)."""
    start = max(0, i - context)
    before = tokenizer.decode(ids[start:i])
    upto = tokenizer.decode(ids[start : i + 1])
    return upto[len(before) :] if upto.startswith(before) else tokenizer.decode(ids[i : i + 1])


def pieces_of(tokenizer, ids: list[int], flags: list[int]) -> dict[str, Any]:
    """Scored tokens one by one; unscored runs merged into one decoded piece."""
    pieces, mask = [], []
    i = 0
    while i < len(ids):
        if flags[i] == 0:
            j = i
            while j < len(ids) and flags[j] == 0:
                j += 1
            pieces.append(tokenizer.decode(ids[i:j]))
            mask.append("0")
            i = j
        else:
            pieces.append(token_text(tokenizer, ids, i))
            mask.append(str(flags[i]))
            i += 1
    return {"pieces": pieces, "mask": "".join(mask)}


def scored_sides(pair: PreferencePair, tokenizer, max_length: int | None) -> dict[str, dict[str, Any]]:
    """Per side: pieces + mask as the masked DPO trainer scores them (see module doc)."""
    from coevolve.training.data import dpo_rows
    from coevolve.training.masked_dpo import tokenize_pair

    row = tokenize_pair(dpo_rows([pair])[0], tokenizer)
    prompt_len = len(row["prompt_ids"])
    out = {}
    for side in ("chosen", "rejected"):
        ids, mask = row[f"{side}_ids"], row[f"{side}_mask"]
        room = None if max_length is None else max(0, max_length - prompt_len)
        flags = [(2 if room is not None and i >= room else 1) if m else 0 for i, m in enumerate(mask)]
        data = pieces_of(tokenizer, ids, flags)
        data["prompt_tokens"] = prompt_len
        data["scored"] = sum(f == 1 for f in flags)
        data["cut"] = sum(f == 2 for f in flags)
        out[side] = data
    return out


class PairTokenizer:
    """Tokenizes pair sides with the first usable tokenizer of a run, else falls back to the turn split."""

    def __init__(self, candidates: list[str], max_length: int | None, enabled: bool = True) -> None:
        self.max_length = max_length
        self.tokenizer = None
        self.source = None
        self.failure: str | None = None
        for name in candidates if enabled else []:
            try:
                from coevolve.models import load_tokenizer

                self.tokenizer = load_tokenizer(name)
                self.source = name
                break
            except Exception as exc:  # noqa: BLE001 - any unusable candidate: try the next
                log.debug("viewer: no tokenizer from %s (%s)", name, exc)

    @property
    def mode(self) -> str:
        return "tokens" if self.tokenizer is not None else "turns"

    def sides(self, pair: PreferencePair) -> dict[str, dict[str, Any]]:
        if self.tokenizer is not None:
            try:
                return scored_sides(pair, self.tokenizer, self.max_length)
            except Exception as exc:  # noqa: BLE001 - e.g. a template without assistant markers
                log.warning(
                    "viewer: tokenizer %s failed on pair %s (%s); showing turns", self.source, pair.id, exc
                )
                self.failure = str(exc)
                self.tokenizer = None
        return {
            side: turn_split([(m.role, m.content) for m in getattr(pair, side)])
            for side in ("chosen", "rejected")
        }


def tokenizer_candidates(run: Path, config: dict[str, Any]) -> list[str]:
    """Local checkpoints first (the SFT model's tokenizer is the one DPO used), then the base model if local."""
    layout = RunLayout(run)
    names = [
        layout.sft_checkpoint,
        Path(str(config.get("sft_checkpoint") or "")),
        *layout.agent_checkpoints(),
    ]
    out = [str(p) for p in names if str(p) not in ("", ".") and (p / "tokenizer_config.json").exists()]
    base = config.get("base_model")
    if base and Path(str(base)).is_dir():
        out.append(str(base))
    return out
