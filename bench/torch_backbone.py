"""PyTorch CPU reference timings for `afg-bench backbone` (same architectures, batch, threads).

    python bench/torch_backbone.py TASK --images N --batch B --threads T

TASK: resnet32-train | convnet-train | resnet32-extract | convnet-extract.
Inputs are random uint8 images (32×32×3 or 28×28×1) normalised per batch, as `afg` does;
training runs SGD (momentum 0.9, weight decay 5e-4) with cross-entropy. Prints one JSON
line: {"task", "images", "seconds", "cpu_seconds", "images_per_second", "threads"} (wall and
process CPU time, each the best of --repeats).
"""
import argparse
import json
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, __file__.rsplit("/", 2)[0] + "/fixtures/torch")
from make_fixture import ResNet  # noqa: E402  (the fixture's CIFAR ResNet)


def convnet(num_classes=10):
    def block(cin, cout):
        return [nn.Conv2d(cin, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU()]
    return nn.Sequential(*block(1, 32), nn.MaxPool2d(2), *block(32, 64), nn.MaxPool2d(2), *block(64, 128),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(128, num_classes))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("task")
    ap.add_argument("--images", type=int, default=2560)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    arch, mode = a.task.split("-")
    if arch == "resnet32":
        model, shape = ResNet(5, 10), (3, 32, 32)
    else:
        model, shape = convnet(10), (1, 28, 28)
    g = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (a.images,) + shape, dtype=torch.uint8, generator=g)
    labels = torch.randint(0, 10, (a.images,), generator=g)
    mean = torch.full((1, shape[0], 1, 1), 0.5)
    std = torch.full((1, shape[0], 1, 1), 0.25)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)

    def run():
        if mode == "train":
            model.train()
            perm = torch.randperm(a.images, generator=g)
            for s in range(0, a.images, a.batch):
                idx = perm[s:s + a.batch]
                x = (images[idx].float() / 255 - mean) / std
                opt.zero_grad(set_to_none=False)
                loss = F.cross_entropy(model(x), labels[idx])
                loss.backward()
                opt.step()
        else:
            model.eval()
            with torch.no_grad():
                for s in range(0, a.images, a.batch):
                    x = (images[s:s + a.batch].float() / 255 - mean) / std
                    model(x)

    best = best_cpu = float("inf")
    for _ in range(a.repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        run()
        best = min(best, time.perf_counter() - t0)
        best_cpu = min(best_cpu, time.process_time() - c0)
    print(json.dumps({"task": a.task, "images": a.images, "seconds": best, "cpu_seconds": best_cpu,
                      "images_per_second": a.images / best, "threads": a.threads,
                      "torch": torch.__version__}))


if __name__ == "__main__":
    main()
