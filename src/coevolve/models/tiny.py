"""A tiny random Llama model + locally trained byte-level BPE tokenizer for fast tests.

Byte-level BPE encodes any text losslessly, so masks and decoded tokens can be compared to the
original strings exactly. The tokenizer uses the Llama-2-chat template (the paper's backbone).
"""

from __future__ import annotations

from pathlib import Path

import torch

from coevolve.models.chat_templates import LLAMA2_CHAT

SPECIAL_TOKENS = ["<unk>", "<s>", "</s>", "<pad>"]

# A small deterministic corpus in the shape of agent episodes, so merges cover common words.
_CORPUS = [
    "Thought: I need to find the item and check its price. Action: search[red shirt under 30 dollars]",
    "Observation: You see a table, a drawer, a sink. You are in the kitchen. The door is open.",
    "Action: click[Buy Now] Action: think: the answer is in the database. SELECT name FROM users;",
    "Instruction: you are an agent acting in an interactive environment. Respond with Thought and Action.",
    "OK. Task Description: measure the temperature of water. Your score went up 10 points.",
    "The quick brown fox jumps over the lazy dog 0123456789 ([{}]) !?.,;:'\"-_/\\ <>=+*&^%$#@~`|",
]


def _train_tokenizer(vocab_size: int):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(_CORPUS * 20, trainer=trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        unk_token="<unk>",
        bos_token="<s>",
        eos_token="</s>",
        pad_token="<pad>",
        chat_template=LLAMA2_CHAT,
        model_max_length=2048,
    )


def make_tiny_model(out_dir: Path, vocab_size: int = 512, seed: int = 0) -> Path:
    """Write a random LlamaForCausalLM (hidden 64, 2 layers) and its tokenizer to `out_dir`."""
    from transformers import GenerationConfig, LlamaConfig, LlamaForCausalLM

    out_dir = Path(out_dir)
    tokenizer = _train_tokenizer(vocab_size)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=2048,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=False,
    )
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config).to(torch.float32)
    model.generation_config = GenerationConfig(
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    return out_dir
