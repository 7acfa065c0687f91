#!/usr/bin/env python3
"""PyTorch CPU reference for the Frugal CPU benchmarks (benchmarks/src/main/java/dev/frugal/bench/cpu).

Times the same workloads as MatmulBenchmark and Conv2dBenchmark on PyTorch's CPU build, with the
thread count pinned (default 2, the cores of the benchmark machine), after a warm-up, and reports
the median of repeated runs as GFLOP/s. Convolutions run in NCHW (Frugal's layout) and again in
channels_last (NHWC, which oneDNN prefers and is much faster at for some shapes). FLOP counts
match the JMH benchmarks: 2*M*N*K for matmul; for a convolution 2 * numel(y) * (C_in/groups) *
kh * kw for the forward pass, and three times that for forward + backward (grad input + grad
weight).

Prints a table, then one JSON line (prefixed "JSON ") for tools.
"""
import argparse
import json
import platform
import statistics
import time

import torch
import torch.nn.functional as F


def median_seconds(fn, warmup, repeat):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def bench_matmul(n, warmup, repeat):
    g = torch.Generator().manual_seed(1)
    a = torch.rand(n, n, generator=g) * 2 - 1
    b = torch.rand(n, n, generator=g) * 2 - 1
    s = median_seconds(lambda: torch.matmul(a, b), warmup, repeat)
    return {"name": f"matmul f32 {n}x{n}x{n}", "ms": s * 1e3, "gflops": 2.0 * n ** 3 / s / 1e9}


def bench_conv(n, c_in, c_out, hw, groups, warmup, repeat, channels_last=False):
    g = torch.Generator().manual_seed(2)
    x = torch.rand(n, c_in, hw, hw, generator=g) * 2 - 1
    w = torch.rand(c_out, c_in // groups, 3, 3, generator=g) * 2 - 1
    dy = torch.rand(n, c_out, hw, hw, generator=g) * 2 - 1
    if channels_last:
        # Same values, NHWC storage: oneDNN's preferred layout (Frugal is NCHW only).
        x = x.contiguous(memory_format=torch.channels_last)
        w = w.contiguous(memory_format=torch.channels_last)
        dy = dy.contiguous(memory_format=torch.channels_last)
    x.requires_grad_(True)
    w.requires_grad_(True)

    def fwd_bwd():
        y = F.conv2d(x, w, stride=1, padding=1, groups=groups)
        gx, gw = torch.autograd.grad(y, (x, w), dy)
        return y, gx, gw

    def fwd():
        with torch.no_grad():
            return F.conv2d(x, w, stride=1, padding=1, groups=groups)

    flops_fwd = 2.0 * n * c_out * hw * hw * (c_in // groups) * 9
    s = median_seconds(fwd_bwd, warmup, repeat)
    s_f = median_seconds(fwd, warmup, repeat)
    name = f"conv2d 3x3 N={n} C={c_in}->{c_out} {hw}x{hw}" + (f" groups={groups}" if groups > 1 else "")
    if channels_last:
        name += " channels_last"
    return [
        {"name": name + " fwd+bwd", "ms": s * 1e3, "gflops": 3 * flops_fwd / s / 1e9},
        {"name": name + " fwd", "ms": s_f * 1e3, "gflops": flops_fwd / s_f / 1e9},
    ]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--repeat", type=int, default=21)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    rows = [bench_matmul(1024, args.warmup, args.repeat)]
    rows += bench_conv(32, 32, 64, 28, 1, args.warmup, args.repeat)
    rows += bench_conv(32, 64, 64, 14, 1, args.warmup, args.repeat)
    rows += bench_conv(32, 64, 64, 14, 64, args.warmup, args.repeat)
    # NCHW above is the like-for-like comparison; channels_last shows PyTorch's best layout.
    rows += bench_conv(32, 32, 64, 28, 1, args.warmup, args.repeat, channels_last=True)
    rows += bench_conv(32, 64, 64, 14, 1, args.warmup, args.repeat, channels_last=True)
    rows += bench_conv(32, 64, 64, 14, 64, args.warmup, args.repeat, channels_last=True)

    print(f"PyTorch {torch.__version__}, threads={torch.get_num_threads()}, {platform.processor() or platform.machine()}")
    print(f"{'benchmark':<70} {'median ms':>10} {'GFLOP/s':>9}")
    for r in rows:
        print(f"{r['name']:<70} {r['ms']:>10.3f} {r['gflops']:>9.1f}")
    print("JSON " + json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(), "results": rows}))


if __name__ == "__main__":
    main()
