"""Inference cost of a trained run: PyTorch vs ONNX Runtime fp32 vs ONNX Runtime int8 on CPU.

Trains a run (the Wisconsin table with the default MLP, or a small image CNN with
--images), exports it, and measures single-prediction latency (p50, p99 over many
calls) and batch throughput, all in one process, plus the int8 model's change in
test metrics.

Usage: python bench/inference.py [--images] [--calls 2000]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

import meddl
from meddl.models.onnx import OnnxModel
from meddl.runs import export_onnx
from synthetic_images import write_square_images


def latency(fn, x: np.ndarray, calls: int) -> tuple[float, float]:
    times = []
    for i in range(calls):
        row = x[i % len(x):i % len(x) + 1]
        start = time.perf_counter()
        fn(row)
        times.append((time.perf_counter() - start) * 1e6)
    times.sort()
    return statistics.median(times), times[int(0.99 * len(times)) - 1]


def throughput(fn, x: np.ndarray, repeats: int = 5) -> float:
    start = time.perf_counter()
    for _ in range(repeats):
        fn(x)
    return repeats * len(x) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", action="store_true", help="a 28x28 image CNN instead of the table MLP")
    parser.add_argument("--calls", type=int, default=2000)
    args = parser.parse_args()
    out = Path(tempfile.mkdtemp()) / "run"
    if args.images:
        write_square_images(out.parent / "images.npz", {"train": 600, "val": 200, "test": 400})
        config = {"task": "diagnosis", "data": {"source": "medmnist", "path": str(out.parent / "images.npz")},
                  "model": "seed-cnn", "training": {"epochs": 3}, "evaluation": {"n_resamples": 0}}
    else:
        config = {"task": "diagnosis", "data": {"source": "builtin", "name": "wisconsin-breast-cancer",
                                                "positive_class": "malignant"}, "evaluation": {"n_resamples": 0}}
    run = meddl.train(config, out=out)
    report = export_onnx(run, quantize="int8")
    x, _ = run.split_data("test")
    model = run.model
    torch_fn = lambda b: model.predict_tensor(torch.from_numpy(b), logits=True)  # noqa: E731
    fp32, int8 = OnnxModel(run.path / "model.onnx"), OnnxModel(run.path / "model.int8.onnx")
    batch = np.concatenate([x] * max(1, 4096 // len(x)))
    print(f"{'runtime':<22}{'p50 (us)':>10}{'p99 (us)':>10}{'throughput (/s)':>18}{'vs torch':>10}")
    base = None
    for name, fn in (("PyTorch eager", torch_fn), ("ONNX Runtime fp32", fp32.logits), ("ONNX Runtime int8", int8.logits)):
        fn(batch[:8])
        p50, p99 = latency(fn, x, args.calls)
        rate = throughput(fn, batch)
        base = base or rate
        print(f"{name:<22}{p50:>10.0f}{p99:>10.0f}{rate:>18,.0f}{rate / base:>10.2f}")
    print(f"max |ONNX fp32 - PyTorch| logits on test: {report['max_abs_difference_vs_torch']:.2e}")
    for metric in ("auroc", "accuracy"):
        change = report["int8"]["metrics_change"][metric]
        print(f"int8 {metric}: {change['fp32']:.4f} -> {change['int8']:.4f} ({change['change']:+.4f})")


if __name__ == "__main__":
    main()
