"""Training throughput of the seed's MLP and CNN: meddl vs a hand-written plain PyTorch loop.

Both train the same architecture with Adam and cross-entropy at batch size 32
on the same synthetic data, in the same process, alternating runs; the figure
is samples per second (median of the repeats) and the ratio meddl / plain.
Target (core engine issue): ratio >= 0.90 for both models.

Usage: python bench/seed_throughput.py [--epochs 2] [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch
from torch import nn

from meddl import Sequential, set_seed
from meddl.layers import Conv2D, Dense, Flatten, MaxPooling2D
from meddl.training import MemoryMonitor, peak_memory_mb

MEMORY: dict[str, float] = {}


def synthetic(kind: str, n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    if kind == "mlp":
        x = rng.normal(size=(n, 100)).astype(np.float32)
        y = (x @ rng.normal(size=(100, 10))).argmax(axis=1)
    else:
        x = rng.random((n, 28, 28, 1), dtype=np.float32)
        y = rng.integers(0, 10, n)
        for label in range(10):  # a class-specific bright square makes the task learnable
            rows = y == label
            x[rows, 2 * label:2 * label + 6, 4:10, 0] += 1.0
    return x, y.astype(np.int64)


def meddl_model(kind: str) -> Sequential:
    if kind == "mlp":
        model = Sequential([Dense(64, activation="relu", input_shape=(100,)), Dense(64, activation="relu"),
                            Dense(10, activation="softmax")])
    else:
        model = Sequential([Conv2D(32, (3, 3), activation="relu", input_shape=(28, 28, 1)), MaxPooling2D((2, 2)),
                            Conv2D(64, (3, 3), activation="relu"), MaxPooling2D((2, 2)), Flatten(),
                            Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"], device="cpu")
    return model


def plain_model(kind: str) -> nn.Module:
    if kind == "mlp":
        return nn.Sequential(nn.Linear(100, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))
    return nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3), nn.ReLU(),
                         nn.MaxPool2d(2), nn.Flatten(), nn.Linear(1600, 10))


def run_meddl(kind, x, y, epochs) -> float:
    set_seed(0)
    model = meddl_model(kind)
    monitor = MemoryMonitor()
    start = time.perf_counter()
    model.fit(x, y, epochs=epochs, batch_size=32, verbose=0, callbacks=[monitor])
    rate = len(x) * epochs / (time.perf_counter() - start)
    MEMORY[kind] = monitor.growth_mb(skip=1)
    return rate


def run_plain(kind, x, y, epochs) -> float:
    torch.manual_seed(0)
    model = plain_model(kind)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
    loss_fn = nn.CrossEntropyLoss()
    start = time.perf_counter()
    xt = torch.from_numpy(x if kind == "mlp" else np.ascontiguousarray(x.transpose(0, 3, 1, 2)))
    yt = torch.from_numpy(y)
    n = len(xt)
    for _ in range(epochs):
        order = torch.randperm(n)
        xs, ys = xt[order], yt[order]
        for i in range(0, n, 32):
            optimizer.zero_grad()
            loss = loss_fn(model(xs[i:i + 32]), ys[i:i + 32])
            loss.backward()
            optimizer.step()
    return n * epochs / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--mlp-samples", type=int, default=30000)
    parser.add_argument("--cnn-samples", type=int, default=6000)
    args = parser.parse_args()
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, batch size 32, epochs {args.epochs}")
    print(f"{'model':<6}{'plain torch (samples/s)':>26}{'meddl (samples/s)':>20}{'ratio':>8}")
    for kind, n in (("mlp", args.mlp_samples), ("cnn", args.cnn_samples)):
        x, y = synthetic(kind, n)
        run_meddl(kind, x[:2000], y[:2000], 1)  # warm-up both paths
        run_plain(kind, x[:2000], y[:2000], 1)
        plain, ours = [], []
        for _ in range(args.repeats):  # alternate, so drift in machine load hits both
            plain.append(run_plain(kind, x, y, args.epochs))
            ours.append(run_meddl(kind, x, y, args.epochs))
        p, m = statistics.median(plain), statistics.median(ours)
        print(f"{kind:<6}{p:>26,.0f}{m:>20,.0f}{m / p:>8.2f}   memory growth epoch 1 -> {args.epochs}: "
              f"{MEMORY[kind]:+.1f} MB")
    print(f"peak resident memory of the process: {peak_memory_mb():.0f} MB")


if __name__ == "__main__":
    main()
