#!/usr/bin/env python3
"""PyTorch CPU peer of `afg-bench train`: one epoch of a linear softmax classifier.

Same shape and recipe as the Swift engine: N rows of D float32 features, C classes,
mini-batches of B rows gathered from a random permutation, nn.Linear, cross-entropy,
SGD (momentum 0.9, weight decay 5e-4 on the weight only), cosine learning rate per step.
Prints one JSON line: {"torch": version, "threads": t, "rows": N, "seconds": s, "rows_per_s": r}.

Usage: bench/torch_epoch.py [--rows 1280000] [--dim 512] [--classes 1000] [--batch-size 256] [--threads 2]
Run it with the bench environment's interpreter (`make bench-env`): .venv-bench/bin/python bench/torch_epoch.py
"""
import argparse
import json
import math
import time

import torch
import torch.nn.functional as F


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--rows", type=int, default=1_280_000)
    p.add_argument("--dim", type=int, default=512)
    p.add_argument("--classes", type=int, default=1000)
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--lr", type=float, default=0.1)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    x = torch.rand(a.rows, a.dim).sqrt_()           # non-negative, Tukey-0.5-like values
    y = torch.randint(0, a.classes, (a.rows,))
    model = torch.nn.Linear(a.dim, a.classes)
    torch.nn.init.zeros_(model.weight)
    torch.nn.init.zeros_(model.bias)
    opt = torch.optim.SGD([{"params": [model.weight], "weight_decay": 5e-4},
                           {"params": [model.bias], "weight_decay": 0.0}], lr=a.lr, momentum=0.9)
    steps = (a.rows + a.batch_size - 1) // a.batch_size
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 0.5 * (1 + math.cos(math.pi * s / steps)))

    def step(idx):
        logits = model(x[idx])
        loss = F.cross_entropy(logits, y[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        return loss

    perm = torch.randperm(a.rows)
    for i in range(5):                               # warm-up (allocator, thread pool)
        step(perm[i * a.batch_size:(i + 1) * a.batch_size])
    perm = torch.randperm(a.rows)
    t0 = time.perf_counter()
    loss = None
    for i in range(0, a.rows, a.batch_size):
        loss = step(perm[i:i + a.batch_size])
    secs = time.perf_counter() - t0
    print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(), "rows": a.rows,
                      "batch_size": a.batch_size, "seconds": secs, "rows_per_s": a.rows / secs,
                      "final_loss": float(loss)}))


if __name__ == "__main__":
    main()
