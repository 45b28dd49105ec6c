"""``History``: what ``fit`` returns: per-epoch loss and metrics."""

from __future__ import annotations

import pandas as pd

__all__ = ["History"]


class History:
    """Per-epoch logs: ``history.history["val_loss"]`` is a list with one value per epoch.

    ``to_frame()`` gives a pandas DataFrame with an ``epoch`` column (1-based), as saved in run folders.
    """

    def __init__(self, params: dict | None = None):
        self.history: dict[str, list[float]] = {}
        self.epoch: list[int] = []
        self.params: dict = dict(params or {})  # Keras's: verbose, epochs, steps (per epoch)

    def append(self, epoch: int, logs: dict[str, float]) -> None:
        self.epoch.append(epoch)
        for key, value in logs.items():
            self.history.setdefault(key, []).append(float(value))

    def to_frame(self):
        frame = pd.DataFrame(self.history)
        frame.insert(0, "epoch", [e + 1 for e in self.epoch])
        return frame

    def __repr__(self) -> str:
        return f"History(epochs={len(self.epoch)}, keys={list(self.history)})"
