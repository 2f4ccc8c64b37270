#!/usr/bin/env python3
"""
PyTorch reference for bench/bench.ts: trains the same small MNIST models as the tfjs side (MLP
784-128-10 relu; CNN conv5x5x8 'same' relu -> maxpool 2 -> dense 10 relu -> dense 10 softmax) with
plain SGD at batch 32 on ONE CPU thread, on the examples bench.ts wrote to --data, and prints one
JSON line: {"model", "samplesPerSec", "cpuSamplesPerSec", "examples", "seconds", "cpuSeconds", "torch",
"threads", "python"} (cpuSamplesPerSec: per second of the process's CPU time, less sensitive to other
load on the machine than the wall-clock samplesPerSec).

The data file holds n*784 float32 pixels in [0, 1] (little-endian, row-major 28x28) followed by n
uint8 labels. Timing covers the training loop only (batch gather, forward, loss, backward, step),
after a warm-up of --warmup batches, as trainLocal's `seconds` does on the tfjs side.

  python3 bench/torch_train.py --data FILE --n N --model mlp|cnn [--examples E] [--warmup B] [--lr LR]
"""
import argparse
import json
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def build(kind):
    if kind == 'mlp':
        return nn.Sequential(nn.Flatten(), nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))
    if kind == 'cnn':
        return nn.Sequential(
            nn.Conv2d(1, 8, kernel_size=5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(14 * 14 * 8, 10), nn.ReLU(), nn.Linear(10, 10))
    raise SystemExit(f'--model must be mlp or cnn, got {kind!r}')


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--data', required=True)
    ap.add_argument('--n', type=int, required=True)
    ap.add_argument('--model', required=True)
    ap.add_argument('--examples', type=int, default=0, help='examples in the timed pass (default: all n)')
    ap.add_argument('--warmup', type=int, default=20, help='warm-up batches before timing')
    ap.add_argument('--batch', type=int, default=32)
    ap.add_argument('--lr', type=float, default=0.05)
    ap.add_argument('--seed', type=int, default=1)
    a = ap.parse_args()

    torch.set_num_threads(1)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass
    torch.manual_seed(a.seed)

    with open(a.data, 'rb') as f:
        raw = bytearray(f.read())
    if len(raw) != a.n * 784 * 4 + a.n:  # n*784 float32 pixels, then n uint8 labels
        raise SystemExit(f'{a.data}: {len(raw)} bytes, expected {a.n * 784 * 4 + a.n} for n = {a.n}')
    x = torch.frombuffer(raw, dtype=torch.float32, count=a.n * 784).reshape(a.n, 1, 28, 28).clone()
    y = torch.frombuffer(raw, dtype=torch.uint8, offset=a.n * 784 * 4, count=a.n).long()

    model = build(a.model)
    opt = torch.optim.SGD(model.parameters(), lr=a.lr, momentum=0)
    bs = a.batch

    def run(examples, batches_cap=None):
        order = torch.randperm(a.n)[:examples]
        total = torch.zeros(())
        done = 0
        for start in range(0, examples, bs):
            if batches_cap is not None and done >= batches_cap:
                break
            idx = order[start:start + bs]
            xb, yb = x[idx], y[idx]
            opt.zero_grad(set_to_none=True)
            loss = F.cross_entropy(model(xb), yb)
            loss.backward()
            opt.step()
            total += loss.detach() * len(idx)
            done += 1
        return float(total)

    run(min(a.n, a.warmup * bs), a.warmup)
    examples = a.examples if a.examples > 0 else a.n
    examples = min(examples, a.n)
    t0 = time.perf_counter()
    c0 = time.process_time()
    run(examples)
    seconds = time.perf_counter() - t0
    cpu_seconds = time.process_time() - c0
    print(json.dumps({
        'model': a.model,
        'samplesPerSec': examples / seconds,
        'examples': examples,
        'seconds': seconds,
        'cpuSamplesPerSec': examples / cpu_seconds if cpu_seconds > 0 else None,
        'cpuSeconds': cpu_seconds,
        'torch': torch.__version__,
        'threads': torch.get_num_threads(),
        'python': sys.version.split()[0]
    }))


if __name__ == '__main__':
    main()
