"""What the per-epoch checkpoints of ``meddl train`` (for ``--resume``) cost: training time with vs without.

Trains one table run and one image run (synthetic data, written to a temporary
folder) through the task plug-in, alternating runs with and without the
checkpointing block, and reports per kind: the median wall and CPU seconds of
each, their ratio (with / without), the seconds spent writing checkpoints, and
the size of one checkpoint file. Everything else of the run (evaluation,
bootstrap CIs) is in both, so the ratio is a run's slowdown as the user sees it.

Usage: python bench/checkpoint_overhead.py [--repeats 3] [--epochs-table 40] [--epochs-image 8]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from meddl.runs import RunLog, get_task, load_config
from meddl.training.checkpoint import CheckpointStore, checkpointing


def table_config(folder: Path, epochs: int) -> dict:
    rng = np.random.default_rng(0)
    n = 2000
    x = rng.normal(size=(n, 12))
    frame = pd.DataFrame(x, columns=[f"v{i}" for i in range(12)])
    frame["label"] = np.where(x[:, 0] + 0.5 * x[:, 1] + rng.normal(0, 0.7, n) > 0, "yes", "no")
    frame.to_csv(folder / "table.csv", index=False)
    return {"task": "diagnosis", "data": {"source": "csv", "path": str(folder / "table.csv"), "label": "label"},
            "training": {"epochs": epochs, "early_stopping": None, "seed": 0}, "evaluation": {"n_resamples": 50}}


def image_config(folder: Path, epochs: int) -> dict:
    rng = np.random.default_rng(0)
    arrays = {}
    for split, n in (("train", 600), ("val", 150), ("test", 150)):
        labels = rng.integers(0, 2, (n, 1)).astype(np.uint8)
        images = rng.integers(0, 80, (n, 28, 28), dtype=np.uint8)
        images[labels[:, 0] == 1, 5:15, 5:15] = 250
        arrays[f"{split}_images"], arrays[f"{split}_labels"] = images, labels
    np.savez(folder / "images.npz", **arrays)
    return {"task": "diagnosis", "data": {"source": "medmnist", "path": str(folder / "images.npz")},
            "model": "seed-cnn", "training": {"epochs": epochs, "early_stopping": None, "seed": 0},
            "evaluation": {"n_resamples": 50}}


def timed_fit(config, store: CheckpointStore | None) -> tuple[float, float]:
    task = get_task(config.task)
    wall, cpu = time.perf_counter(), time.process_time()
    if store is None:
        task.fit(config, log=RunLog(echo=False))
    else:
        store.open({"bench": 1}, resume=False)
        with checkpointing(store):
            task.fit(config, log=RunLog(echo=False))
    return time.perf_counter() - wall, time.process_time() - cpu


def measure(name: str, raw: dict, folder: Path, repeats: int) -> None:
    config = load_config(raw)
    timed_fit(config, None)  # warm-up: imports, kernels
    plain, checked, writing = [], [], []
    size = 0
    for _ in range(repeats):
        plain.append(timed_fit(config, None))
        store = CheckpointStore(folder / f".{name}.checkpoint")
        checked.append(timed_fit(config, store))
        writing.append(store.seconds_writing)
        size = store.fit_file(0).stat().st_size
        store.remove()
    wall_plain, cpu_plain = (statistics.median(t[i] for t in plain) for i in (0, 1))
    wall_checked, cpu_checked = (statistics.median(t[i] for t in checked) for i in (0, 1))
    print(f"{name}: epochs {raw['training']['epochs']}; without checkpoints {wall_plain:.2f}s wall / {cpu_plain:.2f}s "
          f"CPU; with {wall_checked:.2f}s / {cpu_checked:.2f}s; ratio wall {wall_checked / wall_plain:.3f}, CPU "
          f"{cpu_checked / cpu_plain:.3f}; writing checkpoints {statistics.median(writing):.3f}s; one file "
          f"{size / 1024:.0f} KiB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--epochs-table", type=int, default=40)
    parser.add_argument("--epochs-image", type=int, default=8)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        measure("table", table_config(folder, args.epochs_table), folder, args.repeats)
        measure("image", image_config(folder, args.epochs_image), folder, args.repeats)


if __name__ == "__main__":
    main()
