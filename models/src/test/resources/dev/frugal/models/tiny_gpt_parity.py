"""PyTorch twin of Frugal's tiny-gpt, for TinyGptPyTorchParityTest.

Usage: tiny_gpt_parity.py DIR OPTIONS STEPS LR
DIR holds, written by the Java test, one raw little-endian float32 file per parameter
(<full name>.bin, listed with shapes in manifest.txt), tokens.txt and targets.txt (one window of
token ids per line). The script builds the same model with the same parameter names, loads the
weights, and prints one per line:
  logits <evaluation-mode logits of the windows before training, row-major>
  losses <l1> ... <lSTEPS>   (plain SGD, next-token cross-entropy over all positions)
  after <the logits after the steps>
  flops <forward FLOPs of one window of `context` tokens, torch.utils.flop_counter convention,
         attention counted through the math backend as two batched matmuls>
"""
import math
import sys

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode


class CausalSelfAttention(nn.Module):
    def __init__(self, width, heads):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(width, 3 * width)
        self.proj = nn.Linear(width, width)

    def forward(self, x):
        b, t, w = x.shape
        q, k, v = self.qkv(x).split(w, dim=2)
        q, k, v = (z.view(b, t, self.heads, w // self.heads).transpose(1, 2) for z in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        return self.proj(y.transpose(1, 2).reshape(b, t, w))


class Block(nn.Module):
    def __init__(self, width, heads):
        super().__init__()
        self.norm1 = nn.LayerNorm(width)
        self.attention = CausalSelfAttention(width, heads)
        self.norm2 = nn.LayerNorm(width)
        self.mlp = nn.Sequential(nn.Linear(width, 4 * width), nn.GELU(), nn.Linear(4 * width, width))

    def forward(self, x):
        x = x + self.attention(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class TinyGpt(nn.Module):
    def __init__(self, vocab, context, layers, width, heads):
        super().__init__()
        self.token_embedding = nn.Parameter(torch.zeros(vocab, width))
        self.position_embedding = nn.Parameter(torch.zeros(context, width))
        self.blocks = nn.Sequential(*[Block(width, heads) for _ in range(layers)])
        self.norm = nn.LayerNorm(width)

    def forward(self, ids):
        t = ids.shape[1]
        h = self.token_embedding[ids] + self.position_embedding[:t]
        h = self.norm(self.blocks(h))
        return h @ self.token_embedding.T  # tied output projection


def main():
    directory, options, steps, lr = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
    opts = {k: int(v) for k, v in (kv.split("=") for kv in options.split(",") if kv)}
    torch.manual_seed(0)
    model = TinyGpt(opts["vocab"], opts["context"], opts["layers"], opts["width"], opts["heads"])
    state = {}
    for full_name, *dims in (line.split() for line in open(directory + "/manifest.txt").read().splitlines()):
        data = np.fromfile(directory + "/" + full_name + ".bin", dtype="<f4").reshape([int(d) for d in dims])
        state[full_name] = torch.from_numpy(data.copy())
    model.load_state_dict(state, strict=True)
    ids = torch.tensor([[int(v) for v in line.split()] for line in open(directory + "/tokens.txt").read().splitlines()])
    targets = torch.tensor([[int(v) for v in line.split()] for line in open(directory + "/targets.txt").read().splitlines()])
    model.eval()
    with torch.no_grad():
        before = model(ids)
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    model.train()
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        logits = model(ids)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))
        loss.backward()
        opt.step()
        losses.append(loss.item())
    model.eval()
    with torch.no_grad():
        after = model(ids)
        with sdpa_kernel(SDPBackend.MATH), FlopCounterMode(display=False) as counter:
            model(torch.zeros(1, opts["context"], dtype=torch.long))
    print("logits", *("%.9g" % v for v in before.flatten().tolist()))
    print("losses", *("%.9g" % v for v in losses))
    print("after", *("%.9g" % v for v in after.flatten().tolist()))
    print("flops", counter.get_total_flops())


if __name__ == "__main__":
    main()
