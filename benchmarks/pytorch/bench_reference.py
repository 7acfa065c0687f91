#!/usr/bin/env python3
"""PyTorch twin of `frugal bench --model`: one zoo model's training step, timed.

The same model (the torch twins in models/src/test/resources/dev/frugal/models/pytorch_parity.py,
zoo default options), batch and optimizer as Frugal's step (SGD with momentum 0.9, or AdamW with
betas 0.9/0.999), on random data of the step's shapes: forward, cross-entropy, backward and the
optimizer step, `--warmup` untimed steps, then the median wall time of `--repeat` steps. On the CPU
with torch.set_num_threads(--threads); on CUDA (`--device cuda`) each step is timed with CUDA
events, and fp16/bf16 run under torch.autocast (fp16 with a GradScaler), as PyTorch's mixed
precision recipe does.

Usage: bench_reference.py --model mlp|cnn-small|mobilenet-tiny --batch-size B [--optimizer sgd|adamw]
       [--precision fp32|fp16|bf16] [--device cpu|cuda] [--warmup 10] [--repeat 10] [--threads N] [--json]
"""
import argparse
import json
import os
import platform
import statistics
import sys
import time

import torch
from torch import nn

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "..", "models", "src", "test", "resources", "dev", "frugal", "models"))
import pytorch_parity  # noqa: E402

DEFAULT_OPTIONS = {
    "mlp": {"hidden1": 256, "hidden2": 128},
    "cnn-small": {"channels1": 32, "channels2": 64, "hidden": 128},
    "mobilenet-tiny": {"width": 32},
}


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", required=True, choices=sorted(DEFAULT_OPTIONS))
    p.add_argument("--batch-size", type=int, required=True)
    p.add_argument("--optimizer", choices=["sgd", "adamw"], default="sgd")
    p.add_argument("--precision", choices=["fp32", "fp16", "bf16"], default="fp32")
    p.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    p.add_argument("--warmup", type=int, default=10)
    p.add_argument("--repeat", type=int, default=10)
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--json", action="store_true")
    p.add_argument("--compile", action="store_true", help="time the model under torch.compile (default mode) instead of eager")
    args = p.parse_args()
    if args.batch_size < 1 or args.repeat < 1 or args.warmup < 0:
        p.error("--batch-size and --repeat must be at least 1, --warmup at least 0")
    if args.device == "cuda" and not torch.cuda.is_available():
        p.error("--device cuda: torch sees no GPU")
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    device = torch.device(args.device)
    model = pytorch_parity.build(args.model, DEFAULT_OPTIONS[args.model]).to(device)
    model.train()
    forward = torch.compile(model) if args.compile else model  # the optimizer still steps model's parameters
    if args.optimizer == "sgd":
        opt = torch.optim.SGD(model.parameters(), lr=1e-4, momentum=0.9, dampening=0)
    else:
        opt = torch.optim.AdamW(model.parameters(), lr=1e-4, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0)
    x = torch.randn(args.batch_size, 1, 28, 28, device=device)
    y = torch.randint(0, 10, (args.batch_size,), device=device)
    low = {"fp16": torch.float16, "bf16": torch.bfloat16}.get(args.precision)
    scaler = torch.amp.GradScaler(args.device) if args.precision == "fp16" else None

    def step():
        opt.zero_grad(set_to_none=True)
        if low is not None:
            with torch.autocast(device_type=args.device, dtype=low):
                loss = nn.functional.cross_entropy(forward(x), y)
        else:
            loss = nn.functional.cross_entropy(forward(x), y)
        if scaler is not None:
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
        else:
            loss.backward()
            opt.step()

    for _ in range(args.warmup):
        step()
    times = []
    for _ in range(args.repeat):
        if args.device == "cuda":
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            step()
            end.record()
            torch.cuda.synchronize()
            times.append(start.elapsed_time(end))
        else:
            t0 = time.perf_counter()
            step()
            times.append((time.perf_counter() - t0) * 1e3)
    median = statistics.median(times)
    result = {
        "framework": "pytorch", "torch": torch.__version__, "model": args.model, "batch_size": args.batch_size,
        "precision": args.precision, "optimizer": args.optimizer, "device": args.device,
        "device_name": torch.cuda.get_device_name() if args.device == "cuda" else platform.processor() or platform.machine(),
        "threads": args.threads, "warmup": args.warmup, "repeat": args.repeat, "compiled": args.compile,
        "step_ms_median": median, "samples_per_second": args.batch_size / (median / 1e3),
    }
    if args.json:
        print(json.dumps(result))
    else:
        print(f"{args.model}, batch {args.batch_size}, {args.precision}, {args.optimizer}, PyTorch {torch.__version__}{' (torch.compile)' if args.compile else ''} on {args.device}"
              f" ({args.threads} threads): median step {median:.2f} ms over {args.repeat} runs ({args.warmup} warm-up),"
              f" {result['samples_per_second']:.0f} samples/s")


if __name__ == "__main__":
    main()
