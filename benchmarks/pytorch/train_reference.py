#!/usr/bin/env python3
"""PyTorch CPU reference for `frugal train` on Fashion-MNIST (issue 3, point 7).

Trains the same zoo model with the same hyperparameters as Frugal's defaults and reports test
accuracy after every epoch, training wall time and samples/s, as a table and as JSON.

Matched to Frugal (trainer/.../TrainingSession.java, config/TrainConfig.java, data/LoaderOptions.java):
  * models: the torch twins from models/src/test/resources/dev/frugal/models/pytorch_parity.py (same
    architecture and module names); PyTorch's default initialisation, which Frugal mirrors
    (the weights themselves differ: different random generators);
  * SGD, momentum 0.9, dampening 0, no Nesterov, weight decay 0, lr 0.05, constant schedule;
  * batch 128, a fresh shuffle every epoch, the last partial batch dropped (468 steps/epoch);
  * pixels (byte / 255 - 0.2860) / 0.3530, no augmentation;
  * evaluation after every epoch on the 10,000 test images in batches of 1000, eval mode;
  * torch.set_num_threads(2), fp32.
Timing follows Frugal's FitResult: train_seconds is the wall time of the whole epoch loop
including the per-epoch evaluations (Frugal also writes a checkpoint each epoch; this script
does not), samples_per_s = training samples / train_seconds. The pure training time (without
evaluation) is reported too. Data is read from the IDX .gz files and normalised once, before
timing starts; Frugal's loader normalises batch by batch inside its timed loop.

Usage: train_reference.py --model mlp|cnn-small|mobilenet-tiny --epochs N [--data DIR] [--seed S]
"""
import argparse
import gzip
import json
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
    args = p.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    xtr, ytr = load(args.data, "train")
    xte, yte = load(args.data, "test")
    model = MODELS[args.model]()
    params = sum(t.numel() for t in model.parameters())
    opt = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=args.momentum, dampening=0, weight_decay=0.0, nesterov=False)
    gen = torch.Generator().manual_seed(args.seed)
    b = args.batch_size
    steps_per_epoch = len(xtr) // b  # last partial batch dropped, as Frugal does

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
            opt.zero_grad(set_to_none=True)
            loss = nn.functional.cross_entropy(model(xb), yb)
            loss.backward()
            opt.step()
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
        "batch_size": b, "lr": args.lr, "momentum": args.momentum, "seed": args.seed, "steps": steps_per_epoch * args.epochs,
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
