"""Reference learning-rate sequences from PyTorch's schedulers, for LrScheduleReferenceTest.

Run from this directory: python3 generate_reference.py > reference.json
Each case records lr(step) for step = 0 .. steps-1: the optimizer's rate when update `step` runs,
i.e. read before the step, with scheduler.step() after each optimizer.step().
"""
import json
import math
import sys

import torch
from torch.optim import SGD
from torch.optim.lr_scheduler import (ConstantLR, CosineAnnealingLR, LambdaLR, OneCycleLR,
                                      SequentialLR, StepLR)


def sequence(base_lr, steps, make):
    param = torch.nn.Parameter(torch.zeros(1))
    opt = SGD([param], lr=base_lr, momentum=0.9)
    sched = make(opt)
    out = []
    for _ in range(steps):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return out


def warmup_cosine(opt, warmup, total, min_lr):
    # warmup as a LambdaLR (LinearLR cannot start at exactly 0), then PyTorch's own cosine
    if warmup == 0:
        return CosineAnnealingLR(opt, T_max=total, eta_min=min_lr)
    return SequentialLR(opt, [LambdaLR(opt, lambda s: s / warmup),
                              CosineAnnealingLR(opt, T_max=total - warmup, eta_min=min_lr)],
                        milestones=[warmup])


cases = []


def case(spec, base_lr, total, steps, make):
    cases.append({"spec": spec, "base_lr": base_lr, "total_steps": total,
                  "lr": sequence(base_lr, steps, make)})


case("constant", 0.05, 0, 20, lambda o: ConstantLR(o, factor=1.0, total_iters=0))
case("step:every=7,gamma=0.5", 0.05, 0, 40, lambda o: StepLR(o, step_size=7, gamma=0.5))
case("step:every=1", 0.1, 0, 10, lambda o: StepLR(o, step_size=1, gamma=0.1))
case("warmup-cosine:warmup=10", 0.05, 100, 100, lambda o: warmup_cosine(o, 10, 100, 0.0))
case("warmup-cosine:warmup=5,min=1e-4", 1e-3, 37, 37, lambda o: warmup_cosine(o, 5, 37, 1e-4))
case("warmup-cosine:warmup=0,min=0.001", 0.02, 50, 50, lambda o: warmup_cosine(o, 0, 50, 1e-3))
case("one-cycle", 0.05, 100, 100, lambda o: OneCycleLR(o, max_lr=0.05, total_steps=100))
case("one-cycle", 0.1, 37, 37, lambda o: OneCycleLR(o, max_lr=0.1, total_steps=37))
case("one-cycle:pct=0.25,div=10,final-div=100", 0.01, 469 * 3, 469 * 3,
     lambda o: OneCycleLR(o, max_lr=0.01, total_steps=469 * 3, pct_start=0.25, div_factor=10,
                          final_div_factor=100))
case("one-cycle", 0.05, 2, 2, lambda o: OneCycleLR(o, max_lr=0.05, total_steps=2))

json.dump({"torch_version": torch.__version__, "cases": cases}, sys.stdout, indent=1)
sys.stdout.write("\n")
