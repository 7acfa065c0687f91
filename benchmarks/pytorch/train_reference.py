#!/usr/bin/env python3
"""PyTorch CPU reference for `frugal train` on Fashion-MNIST (issue 3, point 7).

Trains the same zoo model with the same hyperparameters as Frugal's defaults and reports test
accuracy after every epoch, training wall time and samples/s, as a table and as JSON.

Matched to Frugal (trainer/.../TrainingSession.java, config/TrainConfig.java, data/LoaderOptions.java):
  * models: the torch twins from models/src/test/resources/dev/frugal/models/pytorch_parity.py (same
    architecture and module names); PyTorch's default initialisation, which Frugal mirrors
    (the weights themselves differ: different random generators);
  * the optimizer, learning rate, schedule, batch size and augmentation given on the command line,
    mirroring `frugal train`'s options of the same names (pass the values of the run's config.json):
    SGD (dampening 0) or AdamW (betas 0.9/0.999, eps 1e-8); schedules constant,
    one-cycle (OneCycleLR, cos, pct 0.3, div 25, final-div 1e4, no momentum cycling) and
    warmup-cosine:warmup=N|P%[,min=X]; augmentation crop=P (zero-padded random crop, the pad being a
    black pixel) and flip (random horizontal flip), drawn per sample;
  * a fresh shuffle every epoch, the last partial batch dropped (468 steps/epoch at batch 128);
  * pixels (byte / 255 - 0.2860) / 0.3530;
  * evaluation after every epoch on the 10,000 test images in batches of 1000, eval mode;
  * torch.set_num_threads(2), fp32.
Timing follows Frugal's FitResult: train_seconds is the wall time of the whole epoch loop
including the per-epoch evaluations (Frugal also writes a checkpoint each epoch; this script
does not), samples_per_s = training samples / train_seconds. The pure training time (without
evaluation) is reported too. Data is read from the IDX .gz files and normalised once, before
timing starts; Frugal's loader normalises batch by batch inside its timed loop.

Usage: train_reference.py --model mlp|cnn-small|mobilenet-tiny --epochs N [--data DIR] [--seed S]
       [--optimizer sgd|adamw] [--lr X] [--momentum M] [--nesterov] [--weight-decay W]
       [--schedule constant|one-cycle|warmup-cosine:warmup=N|P%[,min=X]] [--batch-size B] [--augment none|crop=P,flip]
"""
import argparse
import gzip
import json
import math
import os
import platform
import sys
import time

import numpy as np
import torch
from torch import nn

MEAN, STD = 0.2860, 0.3530
DEFAULT_DATA = "/usr/share/datasets/fashion-mnist"


# The torch twins of the zoo live in one place, next to the test that checks them against Frugal
# (same architecture and module names); this script builds them with the zoo's default options.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "..", "models", "src", "test", "resources", "dev", "frugal", "models"))
import pytorch_parity  # noqa: E402

DEFAULT_OPTIONS = {
    "mlp": {"hidden1": 256, "hidden2": 128},
    "cnn-small": {"channels1": 32, "channels2": 64, "hidden": 128},
    "mobilenet-tiny": {"width": 32},
}
MODELS = {name: (lambda name=name: pytorch_parity.build(name, DEFAULT_OPTIONS[name])) for name in DEFAULT_OPTIONS}


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic = int.from_bytes(data[0:4], "big")
    dims = magic & 0xFF
    assert magic >> 8 == 0x08, f"{path}: expected unsigned-byte IDX data, magic {magic:#x}"
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def load(data_dir, split):
    prefix = "train" if split == "train" else "t10k"
    images = read_idx(os.path.join(data_dir, f"{prefix}-images-idx3-ubyte.gz"))
    labels = read_idx(os.path.join(data_dir, f"{prefix}-labels-idx1-ubyte.gz"))
    x = (torch.from_numpy(images.astype(np.float32)) / 255.0 - MEAN) / STD
    return x.unsqueeze(1).contiguous(), torch.from_numpy(labels.astype(np.int64))


def evaluate(model, x, y, batch=1000):
    model.eval()
    correct, loss_sum = 0, 0.0
    with torch.no_grad():
        for i in range(0, len(x), batch):
            logits = model(x[i:i + batch])
            loss_sum += nn.functional.cross_entropy(logits, y[i:i + batch], reduction="sum").item()
            correct += (logits.argmax(1) == y[i:i + batch]).sum().item()
    model.train()
    return correct / len(x), loss_sum / len(x)


def make_schedule(spec, opt, lr, total_steps):
    """The torch twin of Frugal's LrSchedules.parse for the schedules the recipes use."""
    name, _, args = spec.partition(":")
    kv = dict(a.split("=", 1) for a in args.split(",") if a)
    if name == "constant":
        return None
    if name == "one-cycle":
        return torch.optim.lr_scheduler.OneCycleLR(
            opt, max_lr=lr, total_steps=total_steps, pct_start=float(kv.get("pct", 0.3)), anneal_strategy="cos",
            div_factor=float(kv.get("div", 25.0)), final_div_factor=float(kv.get("final-div", 1e4)),
            cycle_momentum=False, three_phase=False)
    if name == "warmup-cosine":
        text = kv["warmup"]
        if text.endswith("%"):  # a share of the planned steps, rounded half up as Frugal's Math.round
            warmup = min(total_steps - 1, math.floor(total_steps * float(text[:-1]) / 100.0 + 0.5))
        else:
            warmup = int(text)
        floor = float(kv.get("min", 0.0))

        def factor(step):
            if step < warmup:
                return step / warmup
            if step >= total_steps:
                return floor / lr
            p = (step - warmup) / (total_steps - warmup)
            return (floor + (lr - floor) * (1 + math.cos(math.pi * p)) / 2) / lr
        return torch.optim.lr_scheduler.LambdaLR(opt, factor)
    raise SystemExit(f"unknown schedule {spec!r}; valid: constant, one-cycle[:pct=P,div=D,final-div=F], warmup-cosine:warmup=N|P%[,min=X]")


def parse_augment(spec):
    pad, flip = 0, False
    if spec != "none":
        for part in spec.split(","):
            if part == "flip":
                flip = True
            elif part.startswith("crop="):
                pad = int(part[5:])
            else:
                raise SystemExit(f"unknown augmentation {part!r}; valid: none, crop=P, flip")
    return pad, flip


def augment(xb, pad, flip, gen):
    """Random crop with `pad` pixels of black padding and random horizontal flip, per sample."""
    n, _, h, w = xb.shape
    if pad > 0:
        padded = nn.functional.pad(xb, (pad, pad, pad, pad), value=-MEAN / STD)
        dy = torch.randint(0, 2 * pad + 1, (n,), generator=gen)
        dx = torch.randint(0, 2 * pad + 1, (n,), generator=gen)
        rows = (dy[:, None] + torch.arange(h)[None, :])[:, None, :, None].expand(n, 1, h, w + 2 * pad)
        xb = torch.gather(padded, 2, rows)
        cols = (dx[:, None] + torch.arange(w)[None, :])[:, None, None, :].expand(n, 1, h, w)
        xb = torch.gather(xb, 3, cols)
    if flip:
        mask = torch.rand(n, generator=gen) < 0.5
        xb = torch.where(mask[:, None, None, None], xb.flip(3), xb)
    return xb


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", required=True, choices=sorted(MODELS))
    p.add_argument("--epochs", type=int, required=True)
    p.add_argument("--data", default=DEFAULT_DATA)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=0.05)
    p.add_argument("--momentum", type=float, default=0.9)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--optimizer", choices=["sgd", "adamw"], default="sgd")
    p.add_argument("--nesterov", action="store_true")
    p.add_argument("--weight-decay", type=float, default=None, help="default: 0 for SGD, 0.01 for AdamW (PyTorch's)")
    p.add_argument("--schedule", default="constant")
    p.add_argument("--augment", default="none")
    args = p.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    xtr, ytr = load(args.data, "train")
    xte, yte = load(args.data, "test")
    model = MODELS[args.model]()
    params = sum(t.numel() for t in model.parameters())
    if args.optimizer == "sgd":
        wd = 0.0 if args.weight_decay is None else args.weight_decay
        opt = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=args.momentum, dampening=0, weight_decay=wd,
                              nesterov=args.nesterov)
    else:
        wd = 0.01 if args.weight_decay is None else args.weight_decay
        opt = torch.optim.AdamW(model.parameters(), lr=args.lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=wd)
    gen = torch.Generator().manual_seed(args.seed)
    aug_gen = torch.Generator().manual_seed(args.seed + 1)
    pad, flip = parse_augment(args.augment)
    b = args.batch_size
    steps_per_epoch = len(xtr) // b  # last partial batch dropped, as Frugal does
    sched = make_schedule(args.schedule, opt, args.lr, steps_per_epoch * args.epochs)

    epochs = []
    samples, step_seconds = 0, 0.0
    start = time.perf_counter()
    for epoch in range(args.epochs):
        t0 = time.perf_counter()
        order = torch.randperm(len(xtr), generator=gen)
        loss_sum = 0.0
        for s in range(steps_per_epoch):
            idx = order[s * b:(s + 1) * b]
            xb, yb = xtr[idx], ytr[idx]
            if pad or flip:
                xb = augment(xb, pad, flip, aug_gen)
            opt.zero_grad(set_to_none=True)
            loss = nn.functional.cross_entropy(model(xb), yb)
            loss.backward()
            opt.step()
            if sched is not None:
                sched.step()
            loss_sum += loss.item()
            samples += b
        t1 = time.perf_counter()
        step_seconds += t1 - t0
        acc, test_loss = evaluate(model, xte, yte)
        t2 = time.perf_counter()
        epochs.append({"epoch": epoch + 1, "train_loss": loss_sum / steps_per_epoch, "test_accuracy": acc, "test_loss": test_loss,
                       "epoch_train_seconds": t1 - t0, "eval_seconds": t2 - t1})
        print(f"epoch {epoch + 1}: train loss {loss_sum / steps_per_epoch:.4f}  test acc {acc:.4f}  test loss {test_loss:.4f}  "
              f"train {t1 - t0:.1f}s  eval {t2 - t1:.1f}s", flush=True)
    total = time.perf_counter() - start

    result = {
        "framework": "pytorch", "torch": torch.__version__, "python": platform.python_version(),
        "threads": torch.get_num_threads(), "model": args.model, "parameters": params, "epochs": args.epochs,
        "batch_size": b, "optimizer": args.optimizer, "lr": args.lr, "momentum": args.momentum,
        "nesterov": args.nesterov, "weight_decay": wd, "schedule": args.schedule, "augment": args.augment, "seed": args.seed, "steps": steps_per_epoch * args.epochs,
        "train_samples": samples, "train_seconds": total, "samples_per_s": samples / total,
        "step_seconds": step_seconds, "step_samples_per_s": samples / step_seconds,
        "final_test_accuracy": epochs[-1]["test_accuracy"], "per_epoch": epochs,
    }
    print()
    print(f"{'model':<16}{'epochs':>7}{'test acc':>10}{'train s':>10}{'samples/s':>11}{'steps-only s':>14}{'samples/s':>11}")
    print(f"{args.model:<16}{args.epochs:>7}{result['final_test_accuracy']:>10.4f}{total:>10.1f}{result['samples_per_s']:>11.0f}"
          f"{step_seconds:>14.1f}{result['step_samples_per_s']:>11.0f}")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
