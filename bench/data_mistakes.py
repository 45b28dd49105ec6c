"""Issue 13 (items 7-13): what meddl does with the data mistakes analysts make, one line per case.

Run it on any meddl version to get its "before" or "after" column (synthetic data only, about a minute):

    PYTHONPATH=src python bench/data_mistakes.py
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

import meddl
from meddl.data import read_table

FAST = {"epochs": 2, "batch_size": 8, "augmentation": False}
QUIET = {"n_resamples": 0, "conformal_coverage": None}


def _outcome(call) -> str:
    try:
        return call()
    except Exception as exc:  # noqa: BLE001 - the point is to show what a user sees
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        return f"{type(exc).__name__}: {first[:150]}"


def _images(root: Path, bits: int, n: int = 12):
    rng = np.random.default_rng(0)
    for label in ("normal", "opacity"):
        (root / label).mkdir(parents=True)
        for i in range(n):
            high = 4000 if bits == 16 else 255
            image = rng.uniform(0, high * 0.3, (16, 16))
            if label == "opacity":
                image[3:9, 3:9] = high * rng.uniform(0.6, 1.0)
            Image.fromarray(image.astype(np.uint16 if bits == 16 else np.uint8)).save(root / label / f"{i}.png")


def case_16_bit_png(tmp: Path) -> str:
    _images(tmp / "png16", 16)
    run = meddl.train({"task": "diagnosis", "data": {"source": "image_folder", "path": str(tmp / "png16")},
                       "model": "seed-cnn", "training": FAST, "evaluation": QUIET}, out=tmp / "run16")
    saved = pd.read_csv(run.path / "predictions_test.csv").set_index("row_id")
    again = run.predict(tmp / "png16").set_index("row_id").loc[saved.index]
    flips = int((again["predicted"] != saved["predicted"]).sum())
    differ = int((~np.isclose(again.filter(like="prob_"), saved.filter(like="prob_"), rtol=0, atol=1e-12)).any(axis=1).sum())
    return f"{flips} of {len(saved)} test labels flip, {differ} probabilities differ from predictions_test.csv"


def case_mixed_gray_rgb(tmp: Path) -> str:
    folder = tmp / "mixed"
    _images(folder, 8)
    Image.fromarray(np.zeros((20, 24, 3), np.uint8)).save(folder / "normal" / "rgb.png")
    run = meddl.train({"task": "diagnosis", "data": {"source": "image_folder", "path": str(folder), "image_size": 16},
                       "model": "seed-cnn", "training": FAST, "evaluation": QUIET}, out=tmp / "runmix")
    return _outcome(lambda: f"predicted {len(run.predict(folder))} images")


def _table(n=120, labels=("disease", "no disease"), seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    return pd.DataFrame({"x": x, "z": rng.normal(size=n), "dx": np.where(x + rng.normal(0, .5, n) > 0, *labels)})


def _train_table(tmp: Path, frame: pd.DataFrame, name: str, **data):
    frame.to_csv(tmp / f"{name}.csv", index=False)
    return meddl.train({"task": "diagnosis", "data": {"source": "csv", "path": str(tmp / f"{name}.csv"), "label": "dx",
                                                      **data},
                        "training": {"epochs": 2}, "evaluation": QUIET}, out=tmp / f"run_{name}")


def case_label_typos(tmp: Path) -> str:
    frame = _table(labels=("cancer", "healthy"))
    frame.loc[:3, "dx"] = ["Cancer", "cancer ", "cancr", "helthy"]
    return _outcome(lambda: f"trained a {len(_train_table(tmp, frame, 'typos').class_names)}-class model")


def case_positive_class(tmp: Path, labels) -> str:
    return _outcome(lambda: f"positive class {_train_table(tmp, _table(labels=labels), labels[0]).info['positive_class']!r}")


def case_identifiers(tmp: Path) -> str:
    frame = _table(40)
    frame.insert(0, "name", [f"{a} {b}" for a, b in zip(["Anna", "Ben", "Clara", "Dora"] * 10,
                                                           [f"Smith{i}" for i in range(40)])])
    frame.insert(1, "mrn", np.arange(40) * 7919 + 1_000_003)

    def train():
        run = _train_table(tmp, frame, "ids")
        stored = (run.path / "preprocessing.json").read_text().count("Smith")
        used = [c["name"] for c in run.info["input"]["columns"]]
        message = _outcome(lambda: run.predict(frame.assign(name="Zoe Quinn").head(1)))
        return f"features {used}; names stored {stored}x; predict error lists {message.count('Smith')} training names"
    return _outcome(train)


def _npz(path: Path, images=None, labels=None):
    arrays = {}
    for split in ("train", "val", "test"):
        arrays[f"{split}_images"] = np.random.default_rng(0).integers(0, 255, (40, 28, 28), np.uint8) \
            if images is None else images
        arrays[f"{split}_labels"] = (np.arange(40) % 2)[:, None] if labels is None else labels
    np.savez(path, **arrays)
    return path


def case_medmnist(tmp: Path, **arrays) -> str:
    path = _npz(tmp / f"m{len(list(tmp.iterdir()))}.npz", **arrays)
    run = lambda: meddl.train({"task": "diagnosis", "data": {"source": "medmnist", "path": str(path),  # noqa: E731
                                                             "positive_class": "1"},
                               "model": "seed-cnn", "training": {**FAST, "epochs": 1}, "evaluation": QUIET},
                              out=tmp / "runm").class_names
    return _outcome(lambda: f"trained, classes {run()}")


def case_file(tmp: Path, name: str, content: bytes, call) -> str:
    path = tmp / name
    path.write_bytes(content)
    return _outcome(lambda: call(path))


def main() -> None:
    cases = {
        "7 16-bit PNG folder, predicted from disk": case_16_bit_png,
        "7 grayscale + RGB of two sizes, predicted": case_mixed_gray_rgb,
        "8 'Cancer', 'cancer ', 'cancr', 'helthy'": case_label_typos,
        "9 'disease' / 'no disease'": lambda t: case_positive_class(t, ("disease", "no disease")),
        "9 'alive' / 'dead'": lambda t: case_positive_class(t, ("alive", "dead")),
        "10 name + MRN columns": case_identifiers,
        "11 MedMNIST labels -1": lambda t: case_medmnist(t, labels=np.where(np.arange(40) % 3 == 0, -1, np.arange(40) % 2)[:, None]),
        "11 npz of shape (40, 28, 28, 5)": lambda t: case_medmnist(t, images=np.zeros((40, 28, 28, 5), np.uint8)),
        "12 CSV with two 'age' columns": lambda t: case_file(t, "d.csv", b"age,age,dx\n50,27.1,a\n60,31.0,b\n",
                                                           lambda p: f"columns {list(read_table(p).columns)}"),
        "12 YAML with 'epochs' twice": lambda t: case_file(
            t, "c.yaml", b"task: diagnosis\ndata: {source: builtin, name: wisconsin-breast-cancer}\n"
                         b"training:\n  epochs: 5\n  epochs: 500\n",
            lambda p: f"loaded, epochs = {meddl.load_config(p).training.epochs}"),
        "12 config file in latin-1": lambda t: case_file(t, "l.yaml", "task: diagnosé\n".encode("latin-1"),
                                                         lambda p: str(meddl.load_config(p))),
        "13 latin-1 CSV": lambda t: case_file(t, "l.csv", "name,dx\nJosé,a\n".encode("latin-1"),
                                              lambda p: str(read_table(p).shape)),
        "13 semicolon CSV": lambda t: case_file(t, "s.csv", b"pid;age;dx\n1;50;a\n", lambda p: f"columns {list(read_table(p).columns)}"),
        "13 header-only CSV": lambda t: case_file(t, "h.csv", b"pid,age,dx\n", lambda p: f"shape {read_table(p).shape}"),
        "13 label 'diagnosis' for column 'Diagnosis'": lambda t: case_file(
            t, "D.csv", b"Age,Diagnosis\n50,a\n60,b\n",
            lambda p: str(meddl.train({"task": "diagnosis", "data": {"source": "csv", "path": str(p),
                                                                     "label": "diagnosis"}}, out=t / "r"))),
    }
    for name, case in cases.items():
        with tempfile.TemporaryDirectory() as folder:
            print(json.dumps({"case": name, "outcome": _outcome(lambda: case(Path(folder)))}), flush=True)


if __name__ == "__main__":
    main()
