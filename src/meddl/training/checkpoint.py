"""Checkpoints that let a killed training run continue where it stopped, with the same result.

Inside a ``with checkpointing(store):`` block, every ``TrainingLoop.fit`` gets
the next number k (0, 1, ...: ensemble members, survival ensembles and
cross-fitting call ``fit`` in a fixed order) and, after each finished epoch,
writes its whole state to ``fit_<k>.safetensors`` in the store's folder: the
network's weights, the optimizer's state (and a learning-rate schedule's step
count), the global random generators of Python, NumPy and torch, the loop's
shuffling seed, the epoch, the history so far, the state of every callback
with ``get_state()`` (early stopping with its best weights, ReduceLROnPlateau)
and of the model's ``batch_transform`` (the image augmenter's generators).
When a fit ends, its file is marked finished, with the final weights and the
generators' states after it.

A process that runs the same code again with the same store then *skips* each
finished fit (it loads the weights, history and generator states instead of
training) and continues the unfinished one from the epoch after its last
checkpoint. As every random draw comes from restored generators, the result is
bit-identical to an uninterrupted run (on the same machine and torch thread
count: float sums in other orders differ in the last bits).

Like Keras's ``BackupAndRestore`` this is a blunt instrument: it works for any
code that calls ``fit`` in the same order, and needs nothing threaded through
the pipelines (``meddl.runs.train`` opens the block). No pickle: tensors go to
safetensors, everything else to JSON kept in the safetensors header. Each file
is written atomically (a temporary, then a rename), so a kill while writing
leaves the previous epoch's file.

Example:
    >>> from meddl.training.checkpoint import CheckpointStore, checkpointing
    >>> store = CheckpointStore(".run.checkpoint")          # doctest: +SKIP
    >>> with checkpointing(store):                           # doctest: +SKIP
    ...     model.fit(x, y, epochs=40)                       # a second process with the same store resumes
"""

from __future__ import annotations

import contextlib
import json
import random
import shutil
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load as load_tensors
from safetensors.torch import save as save_tensors

from meddl.errors import MeddlError
from meddl.io import atomic_write_bytes, atomic_write_text
from meddl.training.callbacks import Callback
from meddl.training.history import History

__all__ = ["CHECKPOINT_FORMAT", "CheckpointStore", "FitProgress", "active_checkpoint", "checkpointing"]

CHECKPOINT_FORMAT = 1
_STATE_KEY = "meddl_checkpoint"
_ACTIVE: list[CheckpointStore] = []


@dataclass
class FitProgress:
    """What :meth:`CheckpointStore.start_fit` restored for one fit.

    ``history is None``: nothing was saved, train from the start. ``finished``: the fit is done
    (weights, history, callbacks and generators restored): return ``history`` without training.
    Otherwise continue from ``next_epoch`` with ``shuffle_seed`` and ``history``.
    """

    index: int
    history: History | None = None
    finished: bool = False
    next_epoch: int = 0
    shuffle_seed: int = 0


class CheckpointStore:
    """A folder of per-fit checkpoints: ``checkpoint.json`` (what it belongs to) and ``fit_<k>.safetensors``.

    Args:
        folder: where the files go (created on :meth:`open`).
        max_overhead: the share of training time that writing checkpoints may take. An epoch is saved
            when the time since the last save is at least the last save's duration / ``max_overhead``;
            0 saves every epoch. A finished fit is always saved; a kill loses the epochs since the last save.

    Measured (bench/checkpoint_overhead.py, shared 2-core CPU at load ~6): a save of the default table model
    (145 KiB) took 4-9 ms against epochs of 10-25 ms, so saving every epoch cost 32% of a 40-epoch table run
    (wall ratio 1.38); the default 2% budget cut that to 2.6% (saves about every 0.2-0.5 s). The seed CNN's
    epochs are longer: every epoch cost 3.4% of its run, the budget 1.3%. Epochs of seconds are all saved.
    """

    INDEX = "checkpoint.json"

    def __init__(self, folder: str | Path, *, max_overhead: float = 0.02):
        if not 0 <= max_overhead < 1:
            raise MeddlError(f"The 'max_overhead' of a CheckpointStore must be in [0, 1). "
                             f"Got {max_overhead!r} instead.")
        self.folder = Path(folder)
        self.max_overhead = float(max_overhead)
        self._next_fit = 0
        self._current: FitProgress | None = None
        self._last_write = 0.0
        self._last_cost = 0.0
        self.seconds_writing = 0.0  # time spent saving, for the overhead measurement

    # -- the store as a whole ---------------------------------------------------
    def fit_file(self, index: int) -> Path:
        return self.folder / f"fit_{index}.safetensors"

    def exists(self) -> bool:
        return (self.folder / self.INDEX).is_file()

    def fingerprint(self) -> dict[str, Any] | None:
        """What the stored checkpoint was made for (``None`` when there is none or it is unreadable)."""
        try:
            index = json.loads((self.folder / self.INDEX).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(index, dict) or index.get("format") != CHECKPOINT_FORMAT:
            return None
        return index.get("fingerprint")

    def open(self, fingerprint: dict[str, Any], *, resume: bool) -> str:
        """Get the folder ready for a run identified by ``fingerprint``; return one line saying what happens.

        With ``resume`` and a checkpoint made for the same ``fingerprint``, the fits it holds are reused;
        with a different one, ``MeddlError`` names what changed. Without ``resume`` an old checkpoint
        is replaced.
        """
        fingerprint = json.loads(json.dumps(fingerprint))  # the form it has once read back
        stored = self.fingerprint()
        self._next_fit, self._current = 0, None
        if resume and stored is not None:
            changed = sorted(key for key in set(stored) | set(fingerprint) if stored.get(key) != fingerprint.get(key))
            if changed:
                raise MeddlError(f"--resume: the checkpoint '{self.folder}' was written for a different run "
                                 f"(changed: {', '.join(changed)}); resume with the same config and data, or run "
                                 "without --resume to start again.")
            return "Resuming from checkpoint: " + self.describe() + "."
        replaced = self.exists()
        if self.folder.exists():
            shutil.rmtree(self.folder)
        self.folder.mkdir(parents=True)
        atomic_write_text(self.folder / self.INDEX, json.dumps({"format": CHECKPOINT_FORMAT,
                                                                "fingerprint": fingerprint}, indent=2) + "\n")
        if resume:
            return f"--resume: no checkpoint at '{self.folder}'; training from the start."
        if replaced:
            return (f"Replaced the checkpoint of an interrupted run at '{self.folder}' (use --resume to continue "
                    "it instead).")
        return ""

    def describe(self) -> str:
        """``fit 1 finished, fit 2 after epoch 7 of 40`` (fits and epochs numbered from 1), from the files' headers."""
        parts = []
        index = 0
        while self.fit_file(index).is_file():
            state = _read_header(self.fit_file(index))
            if state.get("finished"):
                parts.append(f"fit {index + 1} finished")
            else:
                parts.append(f"fit {index + 1} after epoch {state['epoch'] + 1} of {state['epochs']}")
            index += 1
        return ", ".join(parts) if parts else "no epoch finished yet"

    def remove(self) -> None:
        """Delete the checkpoint (once the run it served is safely written)."""
        shutil.rmtree(self.folder, ignore_errors=True)

    # -- one fit, called by the training loop ------------------------------------
    def start_fit(self, loop, callbacks: Sequence[Callback], *, shuffle_seed: int, epochs: int) -> FitProgress:
        """Number this fit and restore what was saved of it (see :class:`FitProgress`)."""
        progress = FitProgress(index=self._next_fit, shuffle_seed=shuffle_seed)
        self._next_fit += 1
        self._current, self._last_write = progress, time.perf_counter()
        path = self.fit_file(progress.index)
        if not path.is_file():
            return progress
        state, tensors = _read(path)
        if state.get("epochs") != epochs:
            raise MeddlError(f"The checkpoint '{path}' is of a fit of {state.get('epochs')} epochs; this fit has "
                             f"{epochs}. Run without --resume to start again.")
        _restore_loop(loop, callbacks, state, tensors)
        progress.history = _history_from(state["history"])
        progress.finished = bool(state.get("finished"))
        progress.shuffle_seed = int(state["shuffle_seed"])
        progress.next_epoch = int(state["epoch"]) + 1
        return progress

    def end_epoch(self, loop, callbacks: Sequence[Callback], *, epoch: int, epochs: int, history: History,
                  stopping: bool) -> None:
        """Save the fit's state after ``epoch``, within the ``max_overhead`` budget (a last or stopping epoch is
        not: :meth:`end_fit` follows at once)."""
        progress = self._current
        if progress is None or stopping or epoch + 1 >= epochs:
            return
        if self.max_overhead and time.perf_counter() - self._last_write < self._last_cost / self.max_overhead:
            return
        self._write(progress, loop, callbacks, history, epoch=epoch, epochs=epochs, finished=False)

    def end_fit(self, loop, callbacks: Sequence[Callback], *, epochs: int, history: History) -> None:
        """Mark the fit finished, with its final weights and the generators' states after it."""
        progress, self._current = self._current, None
        if progress is not None:
            last = history.epoch[-1] if history.epoch else -1
            self._write(progress, loop, callbacks, history, epoch=last, epochs=epochs, finished=True)

    def _write(self, progress: FitProgress, loop, callbacks, history: History, **fields) -> None:
        started = time.perf_counter()
        tensors: dict[str, torch.Tensor] = {}
        state = {**fields, "shuffle_seed": progress.shuffle_seed,
                 "history": _encode(_history_state(history), tensors, "history"),
                 **_capture_loop(loop, callbacks, tensors)}
        header = json.dumps({"format": CHECKPOINT_FORMAT, **state})
        data = save_tensors(_unshared(tensors), metadata={_STATE_KEY: header})
        atomic_write_bytes(self.fit_file(progress.index), data)
        self._last_write = time.perf_counter()
        self._last_cost = self._last_write - started
        self.seconds_writing += self._last_cost


@contextlib.contextmanager
def checkpointing(store: CheckpointStore) -> Iterator[CheckpointStore]:
    """Checkpoint (and resume) every ``TrainingLoop.fit`` inside the block in ``store`` (the innermost block wins)."""
    _ACTIVE.append(store)
    try:
        yield store
    finally:
        _ACTIVE.remove(store)


def active_checkpoint() -> CheckpointStore | None:
    """The store of the innermost ``checkpointing`` block, or ``None`` outside one."""
    return _ACTIVE[-1] if _ACTIVE else None


# -- what is saved -----------------------------------------------------------------------
def _capture_loop(loop, callbacks: Sequence[Callback], tensors: dict[str, torch.Tensor]) -> dict[str, Any]:
    optimizer = loop.optimizer
    transform = getattr(loop.module, "batch_transform", None)
    scaler = getattr(loop, "_scaler", None)
    return {
        "module": _encode(loop.module.state_dict(), tensors, "module"),
        "optimizer": _encode(optimizer.state_dict(), tensors, "optimizer"),
        "schedule_steps": getattr(optimizer, "meddl_steps", None),
        "precision": loop.precision,
        "scaler": _encode(scaler.state_dict(), tensors, "scaler") if scaler is not None else None,
        "callbacks": [[type(c).__name__, _encode(state, tensors, f"callback/{i}")]
                      for i, (c, state) in enumerate(_stateful(callbacks))],
        "batch_transform": _encode(transform.get_state(), tensors, "batch_transform")
        if hasattr(transform, "get_state") else None,
        "random": _encode(_random_states(), tensors, "random"),
    }


def _restore_loop(loop, callbacks: Sequence[Callback], state: dict, tensors: dict[str, torch.Tensor]) -> None:
    saved_callbacks = state["callbacks"]
    stateful = [callback for callback, _ in _stateful(callbacks)]
    names = [type(c).__name__ for c in stateful]
    if [name for name, _ in saved_callbacks] != names:
        raise MeddlError(f"The checkpoint was saved with the callbacks {[n for n, _ in saved_callbacks]}; this fit "
                         f"has {names}. Run without --resume to start again.")
    loop.module.load_state_dict(_decode(state["module"], tensors))
    loop.optimizer.load_state_dict(_decode(state["optimizer"], tensors))
    if state.get("schedule_steps") is not None:
        loop.optimizer.meddl_steps = int(state["schedule_steps"])
    loop.precision = state["precision"]
    if state.get("scaler") is not None and getattr(loop, "_scaler", None) is not None:
        loop._scaler.load_state_dict(_decode(state["scaler"], tensors))
    for callback, (_, saved) in zip(stateful, saved_callbacks):
        callback.set_state(_decode(saved, tensors))
    transform = getattr(loop.module, "batch_transform", None)
    if state.get("batch_transform") is not None and hasattr(transform, "set_state"):
        transform.set_state(_decode(state["batch_transform"], tensors))
    _set_random_states(_decode(state["random"], tensors))


def _stateful(callbacks: Sequence[Callback]) -> list[tuple[Callback, dict]]:
    """The callbacks with a state to keep, and their states. Stateless ones (the per-epoch progress lines
    ``meddl train`` adds without ``--verbose``) are left out, so a run resumes whichever of them are on."""
    states = [(callback, callback.get_state()) for callback in callbacks]
    return [(callback, state) for callback, state in states if state]


def _random_states() -> dict[str, Any]:
    states = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        states["cuda"] = list(torch.cuda.get_rng_state_all())
    return states


def _set_random_states(states: dict[str, Any]) -> None:
    version, internal, gauss = states["python"]
    random.setstate((version, tuple(internal), gauss))
    np.random.set_state(tuple(states["numpy"]))
    torch.set_rng_state(states["torch"])
    if states.get("cuda") is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])


def _history_state(history: History) -> dict[str, Any]:
    return {"epoch": list(history.epoch), "history": history.history}


def _history_from(state: dict[str, Any]) -> History:
    history = History()
    history.epoch = [int(e) for e in state["epoch"]]
    history.history = {key: [float(v) for v in values] for key, values in state["history"].items()}
    return history


# -- JSON + tensors, no pickle ----------------------------------------------------------------
def _encode(value: Any, tensors: dict[str, torch.Tensor], key: str) -> Any:
    """JSON-able form of ``value``: tensors move to ``tensors`` (under ``key``) and leave a reference."""
    if isinstance(value, torch.Tensor):
        tensors[key] = value.detach().to("cpu").contiguous()
        return {"__tensor__": key}
    if isinstance(value, np.ndarray):
        return {"__ndarray__": value.tolist(), "dtype": str(value.dtype)}
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        if all(isinstance(k, str) for k in value):
            return {k: _encode(v, tensors, f"{key}/{k}") for k, v in value.items()}
        return {"__items__": [[k, _encode(v, tensors, f"{key}/{k}")] for k, v in value.items()]}
    if isinstance(value, tuple):
        return {"__tuple__": [_encode(v, tensors, f"{key}/{i}") for i, v in enumerate(value)]}
    if isinstance(value, list):
        return [_encode(v, tensors, f"{key}/{i}") for i, v in enumerate(value)]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise MeddlError(f"Cannot checkpoint a value of type {type(value).__name__} (at '{key}'); a callback's "
                     "get_state() must return tensors, arrays, numbers, strings, lists, tuples and dicts.")


def _decode(value: Any, tensors: dict[str, torch.Tensor]) -> Any:
    if isinstance(value, list):
        return [_decode(v, tensors) for v in value]
    if not isinstance(value, dict):
        return value
    if "__tensor__" in value:
        return tensors[value["__tensor__"]]
    if "__ndarray__" in value:
        return np.asarray(value["__ndarray__"], dtype=value["dtype"])
    if "__items__" in value:
        return {k: _decode(v, tensors) for k, v in value["__items__"]}
    if "__tuple__" in value:
        return tuple(_decode(v, tensors) for v in value["__tuple__"])
    return {k: _decode(v, tensors) for k, v in value.items()}


def _unshared(tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """safetensors refuses tensors that share memory (tied weights): copy all but the first of each."""
    seen: set[int] = set()
    result = {}
    for key, tensor in tensors.items():
        where = tensor.untyped_storage().data_ptr() if tensor.numel() else None
        result[key] = tensor.clone() if where is not None and where in seen else tensor
        seen.add(where)
    return result


def _read_header(path: Path) -> dict[str, Any]:
    try:
        with safe_open(str(path), framework="pt") as handle:
            return json.loads(handle.metadata()[_STATE_KEY])
    except (OSError, ValueError, KeyError, TypeError, SafetensorError) as exc:
        raise MeddlError(f"The checkpoint file '{path}' is unreadable ({exc}); run without --resume to start "
                         "again.") from None


def _read(path: Path) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    state = _read_header(path)
    if state.get("format") != CHECKPOINT_FORMAT:
        raise MeddlError(f"The checkpoint file '{path}' has format {state.get('format')!r}; this meddl reads "
                         f"format {CHECKPOINT_FORMAT}. Run without --resume to start again.")
    try:
        return state, load_tensors(path.read_bytes())
    except (OSError, SafetensorError) as exc:
        raise MeddlError(f"The checkpoint file '{path}' is unreadable ({exc}); run without --resume to start "
                         "again.") from None
