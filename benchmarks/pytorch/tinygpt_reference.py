#!/usr/bin/env python3
"""PyTorch CPU reference for `frugal train --model tiny-gpt --dataset text` (issue 10, point 5).

Trains the same model as Frugal's tiny-gpt for a fixed wall time on the same text and reports the
validation loss in nats per token (byte or character), tokens/s and the step count, as JSON.

Matched to Frugal (models/.../zoo/TinyGpt.java, trainer/.../text/*):
  * model: token embedding [vocab, width] + learned position embedding [context, width];
    `layers` pre-norm blocks (LayerNorm -> causal multi-head self-attention with a fused qkv
    projection and an output projection -> residual; LayerNorm -> Linear(width, 4 width) -> GELU
    (erf) -> Linear(4 width, width) -> residual); a final LayerNorm; logits = h . E^T (the output
    projection tied to the token embedding); no dropout; attention through
    torch.nn.functional.scaled_dot_product_attention(is_causal=True);
  * data: the file's UTF-8 bytes (vocab 256) or its distinct characters, sorted (vocab = their
    count); the last `val_fraction` of the tokens held out; training batches of `batch` random
    windows of context + 1 tokens (inputs and next-token targets), validation on the held-out
    tail cut into consecutive non-overlapping windows of context + 1 tokens;
  * AdamW (betas 0.9/0.999, eps 1e-8, the given weight decay) at a constant learning rate
    (or linear warm-up over --warmup steps), gradient clipping at --clip-norm (Frugal's tiny-gpt
    recipe clips at 1), fp32 (or bf16 autocast with --bf16), 2 threads; GPT-2 initialisation as
    Frugal's TinyGpt (the weights themselves differ: different random generators);
  * training runs until `seconds` of wall time have passed (checked between steps), then the
    validation loss is measured once.

Usage: tinygpt_reference.py --data FILE [--tokenizer byte|char] [--layers 2] [--width 128] [--heads 4]
       [--context 128] [--batch-size 32] [--lr 1e-3] [--weight-decay 0.01] [--warmup 0] [--clip-norm 1]
       [--seconds 300] [--val-fraction 0.1] [--seed 1] [--threads 2] [--bf16]
"""
import argparse
import json
import math
import platform
import time

import torch
from torch import nn
from torch.nn import functional as F


class Block(nn.Module):
    def __init__(self, width, heads):
        super().__init__()
        self.heads = heads
        self.ln1 = nn.LayerNorm(width)
        self.qkv = nn.Linear(width, 3 * width)
        self.proj = nn.Linear(width, width)
        self.ln2 = nn.LayerNorm(width)
        self.fc1 = nn.Linear(width, 4 * width)
        self.fc2 = nn.Linear(4 * width, width)

    def forward(self, x):
        b, t, c = x.shape
        q, k, v = self.qkv(self.ln1(x)).split(c, dim=2)
        q, k, v = (z.view(b, t, self.heads, c // self.heads).transpose(1, 2) for z in (q, k, v))
        a = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + self.proj(a.transpose(1, 2).reshape(b, t, c))
        return x + self.fc2(F.gelu(self.fc1(self.ln2(x))))


class TinyGpt(nn.Module):
    def __init__(self, vocab, context, layers, width, heads):
        super().__init__()
        self.tok = nn.Embedding(vocab, width)
        self.pos = nn.Embedding(context, width)
        self.blocks = nn.ModuleList(Block(width, heads) for _ in range(layers))
        self.ln = nn.LayerNorm(width)
        # Frugal's TinyGpt initialisation (GPT-2's): embeddings and linear weights N(0, 0.02), the two
        # projections into the residual stream N(0, 0.02 / sqrt(2 layers)), biases 0, layer norms 1/0
        for name, p in self.named_parameters():
            if name.endswith("bias"):
                nn.init.zeros_(p)
            elif p.dim() == 2:
                residual = name.endswith("proj.weight") or name.endswith("fc2.weight")
                nn.init.normal_(p, 0.0, 0.02 / math.sqrt(2 * max(1, layers)) if residual else 0.02)

    def forward(self, ids):
        x = self.tok(ids) + self.pos(torch.arange(ids.shape[1]))
        for b in self.blocks:
            x = b(x)
        return self.ln(x) @ self.tok.weight.t()


def tokens_of(path, tokenizer):
    raw = open(path, "rb").read()
    if tokenizer == "byte":
        return torch.tensor(list(raw), dtype=torch.long), 256
    text = raw.decode("utf-8", errors="replace")
    chars = sorted(set(text))
    index = {ch: i for i, ch in enumerate(chars)}
    return torch.tensor([index[ch] for ch in text], dtype=torch.long), len(chars)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--data", required=True)
    p.add_argument("--tokenizer", default="byte", choices=["byte", "char"])
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--width", type=int, default=128)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--context", type=int, default=128)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--weight-decay", type=float, default=0.01)
    p.add_argument("--warmup", type=int, default=0)
    p.add_argument("--clip-norm", type=float, default=1.0)
    p.add_argument("--seconds", type=float, default=300)
    p.add_argument("--val-fraction", type=float, default=0.1)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--bf16", action="store_true")
    a = p.parse_args()

    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    ids, vocab = tokens_of(a.data, a.tokenizer)
    split = int(len(ids) * (1 - a.val_fraction))
    train, val = ids[:split], ids[split:]
    model = TinyGpt(vocab, a.context, a.layers, a.width, a.heads)
    params = sum(x.numel() for x in model.parameters())
    opt = torch.optim.AdamW(model.parameters(), lr=a.lr, weight_decay=a.weight_decay)
    window = a.context + 1

    def batch():
        starts = torch.randint(0, len(train) - window + 1, (a.batch_size,))
        w = torch.stack([train[s:s + window] for s in starts.tolist()])
        return w[:, :-1], w[:, 1:]

    def validation_loss():
        model.eval()
        total, count = 0.0, 0
        with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=a.bf16):
            for s in range(0, len(val) - window + 1, window * a.batch_size):
                ws = [val[t:t + window] for t in range(s, min(s + window * a.batch_size, len(val) - window + 1), window)]
                w = torch.stack(ws)
                logits = model(w[:, :-1]).float()
                total += F.cross_entropy(logits.reshape(-1, vocab), w[:, 1:].reshape(-1), reduction="sum").item()
                count += w[:, 1:].numel()
        model.train()
        return total / count

    initial = validation_loss()
    steps = 0
    start = time.perf_counter()
    while time.perf_counter() - start < a.seconds:
        if a.warmup > 0:
            for g in opt.param_groups:
                g["lr"] = a.lr * min(1.0, (steps + 1) / a.warmup)
        x, y = batch()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=a.bf16):
            logits = model(x)
        loss = F.cross_entropy(logits.float().reshape(-1, vocab), y.reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if a.clip_norm > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), a.clip_norm)
        opt.step()
        steps += 1
    seconds = time.perf_counter() - start
    print(json.dumps({
        "framework": "pytorch " + torch.__version__, "machine": platform.processor() or platform.machine(),
        "threads": a.threads, "parameters": params, "vocab": vocab, "train_tokens": len(train), "val_tokens": len(val),
        "initial_val_loss": initial, "val_loss": validation_loss(), "steps": steps, "train_seconds": seconds,
        "tokens_per_second": steps * a.batch_size * a.context / seconds, "last_train_loss": loss.item(),
        "config": vars(a)}))


if __name__ == "__main__":
    main()
