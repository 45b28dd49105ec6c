"""meddl vs TensorFlow/Keras on the seed's exact programs, side by side on this CPU.

The seed's MLP (100→64→64→10) and CNN (28×28×1) are trained at batch size 32
with Adam and sparse categorical cross-entropy on the same synthetic data, for
the same epochs, alternating TF and meddl runs. TensorFlow runs in its own
process (`--tf-python`, a Python where `tensorflow-cpu` is installed — a
bench-only tool, never a dependency of meddl); if none is given or it cannot
import TensorFlow, only meddl's figures are printed.

Targets (limited-compute issue): meddl/TF >= 2.5 (MLP) and >= 1.25 (CNN), with
the same final accuracy.

Usage:
  python -m venv /tmp/tf && /tmp/tf/bin/pip install tensorflow-cpu==2.21.0
  python bench/vs_tensorflow.py --tf-python /tmp/tf/bin/python [--epochs 3] [--repeats 2]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from seed_throughput import meddl_model, synthetic  # noqa: E402

from meddl import set_seed  # noqa: E402

# The seed's programs, verbatim but for data loading and timing.
TF_PROGRAM = textwrap.dedent('''
    import json, sys, time
    import numpy as np
    from tensorflow.keras.models import Sequential
    from tensorflow.keras.layers import Dense, Conv2D, MaxPooling2D, Flatten, Input
    import tensorflow as tf
    tf.keras.utils.set_random_seed(0)
    kind, path, epochs = sys.argv[1], sys.argv[2], int(sys.argv[3])
    data = np.load(path)
    x_train, y_train, x_test, y_test = data["x"], data["y"], data["x_test"], data["y_test"]
    model = Sequential()
    if kind == "mlp":
        model.add(Input(shape=(100,)))
        model.add(Dense(64, activation="relu"))
        model.add(Dense(64, activation="relu"))
        model.add(Dense(10, activation="softmax"))
    else:
        model.add(Input(shape=(28, 28, 1)))
        model.add(Conv2D(32, (3, 3), activation="relu"))
        model.add(MaxPooling2D((2, 2)))
        model.add(Conv2D(64, (3, 3), activation="relu"))
        model.add(MaxPooling2D((2, 2)))
        model.add(Flatten())
        model.add(Dense(10, activation="softmax"))
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x_train[:256], y_train[:256], epochs=1, batch_size=32, verbose=0)  # graph tracing, not timed
    start = time.perf_counter()
    model.fit(x_train, y_train, epochs=epochs, batch_size=32, verbose=0)
    seconds = time.perf_counter() - start
    accuracy = model.evaluate(x_test, y_test, verbose=0)[1]
    print(json.dumps({"samples_per_s": len(x_train) * epochs / seconds, "accuracy": accuracy}))
''')


def run_tf(python: str, kind: str, path: str, epochs: int) -> dict | None:
    done = subprocess.run([python, "-c", TF_PROGRAM, kind, path, str(epochs)], capture_output=True, text=True)
    if done.returncode != 0:
        print(f"TensorFlow run failed: {done.stderr.strip().splitlines()[-1] if done.stderr else done.returncode}")
        return None
    return json.loads(done.stdout.strip().splitlines()[-1])


def run_meddl(kind: str, data, epochs: int) -> dict:
    x, y, x_test, y_test = data
    set_seed(0)
    model = meddl_model(kind)
    model.fit(x[:256], y[:256], epochs=1, batch_size=32, verbose=0)  # warm-up, as TF's tracing run
    start = time.perf_counter()
    model.fit(x, y, epochs=epochs, batch_size=32, verbose=0)
    seconds = time.perf_counter() - start
    accuracy = model.evaluate(x_test, y_test, return_dict=True)["accuracy"]
    return {"samples_per_s": len(x) * epochs / seconds, "accuracy": accuracy}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tf-python", help="a Python with tensorflow-cpu installed")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--mlp-samples", type=int, default=30000)
    parser.add_argument("--cnn-samples", type=int, default=8000)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp())
    print(f"{'model':<6}{'TF (samples/s)':>16}{'meddl (samples/s)':>20}{'meddl/TF':>10}{'TF acc':>9}{'meddl acc':>11}")
    for kind, n in (("mlp", args.mlp_samples), ("cnn", args.cnn_samples)):
        x, y = synthetic(kind, n + 2000)
        data = (x[:n], y[:n], x[n:], y[n:])
        path = folder / f"{kind}.npz"
        np.savez(path, x=data[0], y=data[1], x_test=data[2], y_test=data[3])
        tf_runs, ours = [], []
        for _ in range(args.repeats):  # alternate, so drifting machine load hits both
            if args.tf_python:
                result = run_tf(args.tf_python, kind, str(path), args.epochs)
                if result:
                    tf_runs.append(result)
            ours.append(run_meddl(kind, data, args.epochs))
        m_rate = statistics.median(r["samples_per_s"] for r in ours)
        m_acc = ours[-1]["accuracy"]
        if tf_runs:
            t_rate = statistics.median(r["samples_per_s"] for r in tf_runs)
            print(f"{kind:<6}{t_rate:>16,.0f}{m_rate:>20,.0f}{m_rate / t_rate:>10.2f}{tf_runs[-1]['accuracy']:>9.3f}{m_acc:>11.3f}")
        else:
            print(f"{kind:<6}{'n/a':>16}{m_rate:>20,.0f}{'n/a':>10}{'n/a':>9}{m_acc:>11.3f}")


if __name__ == "__main__":
    main()
