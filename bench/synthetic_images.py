"""A MedMNIST-style .npz of synthetic 28x28 images for bench scripts that time training, not accuracy.

Class 1 has a bright square in the top-left corner; class 0 is noise only. Imported by
``bench/checkpoint_overhead.py`` and ``bench/inference.py`` (run as ``python bench/<script>.py``,
so this folder is on the import path).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["write_square_images"]


def write_square_images(path: Path, sizes: dict[str, int], seed: int = 0) -> Path:
    """Write ``{split}_images`` (N, 28, 28) uint8 and ``{split}_labels`` (N, 1) for each split; return ``path``."""
    rng = np.random.default_rng(seed)
    arrays = {}
    for split, n in sizes.items():
        labels = rng.integers(0, 2, (n, 1)).astype(np.uint8)
        images = rng.integers(0, 80, (n, 28, 28), dtype=np.uint8)
        images[labels[:, 0] == 1, 5:15, 5:15] = 250
        arrays[f"{split}_images"], arrays[f"{split}_labels"] = images, labels
    np.savez(path, **arrays)
    return path
