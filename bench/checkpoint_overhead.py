"""What the per-epoch checkpoints of ``meddl train`` (for ``--resume``) cost: training time with vs without.

Trains one table run and one image run (synthetic data, written to a temporary
folder) through the task plug-in, alternating runs with and without the
checkpointing block, and reports per kind: the median wall and CPU seconds of
setting (none, every epoch, the default 2% budget): the fastest of the repeats in
wall and CPU seconds (on a shared machine the fastest is the least disturbed),
their ratio to no checkpoints, and the seconds spent writing checkpoints (a
direct figure, less noisy than the ratio). Everything else of the run
(evaluation, bootstrap CIs) is in all, so the ratio is the slowdown a user
sees. One torch thread, so that other processes disturb the timings less.

Usage: python bench/checkpoint_overhead.py [--repeats 3] [--epochs-table 40] [--epochs-image 8]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from meddl.runs import RunLog, get_task, load_config
from meddl.training.checkpoint import CheckpointStore, checkpointing
from synthetic_images import write_square_images


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
    write_square_images(folder / "images.npz", {"train": 600, "val": 150, "test": 150})
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


SETTINGS = {"none": None, "every epoch": 0.0, "2% budget (default)": 0.02}


def measure(name: str, raw: dict, folder: Path, repeats: int) -> None:
    config = load_config(raw)
    timed_fit(config, None)  # warm-up: imports, kernels
    times: dict[str, list] = {setting: [] for setting in SETTINGS}
    writing: dict[str, list] = {setting: [] for setting in SETTINGS}
    size = 0
    for _ in range(repeats):  # alternate the settings, so load on the machine hits them alike
        for setting, overhead in SETTINGS.items():
            store = None if overhead is None else CheckpointStore(folder / f".{name}.checkpoint", max_overhead=overhead)
            times[setting].append(timed_fit(config, store))
            if store is not None:
                writing[setting].append(store.seconds_writing)
                size = store.fit_file(0).stat().st_size
                store.remove()
    base_wall = min(t[0] for t in times["none"])
    base_cpu = min(t[1] for t in times["none"])
    print(f"{name}: {raw['training']['epochs']} epochs; one checkpoint file {size / 1024:.0f} KiB")
    for setting in SETTINGS:
        wall = min(t[0] for t in times[setting])
        cpu = min(t[1] for t in times[setting])
        spent = min(writing[setting]) if writing[setting] else 0.0
        spent = f"; writing {spent:.3f}s = {spent / base_wall:.1%} of the run" if writing[setting] else ""
        print(f"  {setting:<20} {wall:6.2f}s wall {cpu:6.2f}s CPU; ratio to none: wall {wall / base_wall:.3f}, "
              f"CPU {cpu / base_cpu:.3f}{spent}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--epochs-table", type=int, default=40)
    parser.add_argument("--epochs-image", type=int, default=8)
    args = parser.parse_args()
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        measure("table", table_config(folder, args.epochs_table), folder, args.repeats)
        measure("image", image_config(folder, args.epochs_image), folder, args.repeats)


if __name__ == "__main__":
    main()
