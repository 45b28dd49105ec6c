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
        self.logged_epochs: dict[str, list[int]] = {}  # the epochs each key was logged in (val_* every few)

    def append(self, epoch: int, logs: dict[str, float]) -> None:
        for key, value in logs.items():
            values = self.history.setdefault(key, [])
            # values restored from a checkpoint without their epochs were logged in the first epochs
            logged = self.logged_epochs.setdefault(key, self.epoch[:len(values)])
            values.append(float(value))
            logged.append(epoch)
        self.epoch.append(epoch)

    def last_logs(self) -> dict[str, float]:
        """The values logged in the last epoch (what Keras passes to ``on_train_end``); empty before any epoch."""
        if not self.epoch:
            return {}
        last = self.epoch[-1]
        return {key: values[-1] for key, values in self.history.items()
                if self.logged_epochs.get(key, self.epoch[:len(values)])[-1:] == [last]}

    def to_frame(self):
        """One row per epoch; a value not logged in an epoch (validation every few epochs) is empty."""
        frame = pd.DataFrame({"epoch": [e + 1 for e in self.epoch]})
        for key, values in self.history.items():
            epochs = self.logged_epochs.get(key, self.epoch[:len(values)])
            frame[key] = pd.Series(values, index=[self.epoch.index(e) for e in epochs], dtype=float)
        return frame

    def __repr__(self) -> str:
        return f"History(epochs={len(self.epoch)}, keys={list(self.history)})"
