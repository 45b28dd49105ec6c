"""Benchmark of meddl.explain on CPU: seconds per explanation and peak memory.

Cases (each in a fresh subprocess, so its peak resident memory is its own):
  * a tabular patient (30 features, the ``default`` table MLP): Integrated
    Gradients (64 steps) and GradientSHAP (64 samples, 64 background rows), for
    one patient and per patient when 1,000 are explained in one call;
  * a 28x28x1 and a 224x224x3 image (the ``default`` image ResNet, 3 blocks):
    Grad-CAM and Integrated Gradients (64 steps), one image per call;
  * the 224x224 Integrated Gradients again with ``batch_size=64`` (all 64
    steps in one forward pass) to show what meddl's memory bound saves.

Peak memory is the process's peak resident set size (``resource.getrusage``)
minus the resident size just before the explanation, so it counts what the
explanation itself needed (PyTorch tensors included; ``tracemalloc`` would
miss those: they are not allocated through Python). Timings exclude the first
(warm-up) call. The models are untrained: the cost does not depend on the weights.

A second section (``--images PATH`` or ``MEDDL_BENCH_DATA=PATH``, the
PneumoniaMNIST subset ``.npz``) trains the default image model and measures,
per heat-map method, whether the explanations hold up on real images
(randomisation, deletion/insertion with 95% CIs over 200 test images, ROAD,
time per image) and what ``auto`` picks: see ``bench/explain_images.py``.

Run:  PYTHONPATH=src .venv/bin/python bench/explain.py [--threads 2] [--repeats 3] [--images PATH] [--images-only]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

CASES = {
    "table_ig_1": "tabular patient, Integrated Gradients (1 patient)",
    "table_ig_1000": "tabular patient, Integrated Gradients (per patient, 1,000 in one call)",
    "table_shap_1": "tabular patient, GradientSHAP (1 patient)",
    "table_shap_1000": "tabular patient, GradientSHAP (per patient, 1,000 in one call)",
    "image28_gradcam": "28x28 image, Grad-CAM",
    "image28_ig": "28x28 image, Integrated Gradients",
    "image224_gradcam": "224x224 image, Grad-CAM",
    "image224_ig": "224x224 image, Integrated Gradients",
    "image224_ig_unbounded": "224x224 image, Integrated Gradients, batch_size=64 (no memory bound)",
}


def _rss_mb() -> float:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def run_case(name: str, repeats: int) -> dict:
    """Time one case in this process; return seconds per explanation and memory figures."""
    import numpy as np
    import torch

    from meddl.explain import attribute, grad_cam
    from meddl.models.presets import build_model

    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    if name.startswith("table"):
        model = build_model("default", kind="table", input_shape=(30,), n_outputs=2, output_activation="softmax")
        n = 1000 if name.endswith("1000") else 1
        x = rng.normal(size=(n, 30)).astype(np.float32)
        background = rng.normal(size=(64, 30)).astype(np.float32)
        method = "integrated_gradients" if "_ig_" in name else "gradient_shap"

        def explain():
            return attribute(model, x, method, target=1, baseline=background if method == "gradient_shap" else None)
    else:
        size, channels = (28, 1) if name.startswith("image28") else (224, 3)
        model = build_model("default", kind="image", input_shape=(size, size, channels), n_outputs=2,
                            output_activation="softmax")
        n = 1
        x = rng.random((1, size, size, channels)).astype(np.float32)
        if name.endswith("gradcam"):
            def explain():
                return grad_cam(model, x, target=1)
        else:
            batch_size = 64 if name.endswith("unbounded") else None

            def explain():
                return attribute(model, x, "integrated_gradients", target=1, batch_size=batch_size)
    model.eval()
    before = _rss_mb()
    explain()  # warm-up (and the peak of the first call counts too)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        explain()
        times.append(time.perf_counter() - start)
    return {"case": name, "seconds_per_explanation": min(times) / n, "seconds_per_call": min(times),
            "peak_mb": _peak_mb() - before, "threads": torch.get_num_threads()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--cases", nargs="*", default=list(CASES))
    parser.add_argument("--case", help=argparse.SUPPRESS)  # internal: run one case and print JSON
    parser.add_argument("--images", default=os.environ.get("MEDDL_BENCH_DATA"),
                        help="PneumoniaMNIST subset .npz for the real-image section (default: $MEDDL_BENCH_DATA)")
    parser.add_argument("--images-only", action="store_true", help="run only the real-image section")
    parser.add_argument("--train-seconds", type=float, default=150, help="training budget of the real-image section")
    args = parser.parse_args()
    if args.case:
        import torch

        if args.threads:
            torch.set_num_threads(args.threads)
        print(json.dumps(run_case(args.case, args.repeats)))
        return
    if args.images_only:
        _image_section(args)
        return
    rows = []
    for name in args.cases:
        command = [sys.executable, __file__, "--case", name, "--repeats", str(args.repeats)]
        if args.threads:
            command += ["--threads", str(args.threads)]
        done = subprocess.run(command, capture_output=True, text=True, check=True, env=os.environ.copy())
        rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
        print(f"  done: {name}", file=sys.stderr)
    print(f"\nmeddl.explain on CPU ({rows[0]['threads']} torch thread(s)), best of {args.repeats} after a warm-up\n")
    print(f"{'case':<75} {'s / explanation':>16} {'peak MB':>9}")
    for row in rows:
        print(f"{CASES[row['case']]:<75} {row['seconds_per_explanation']:>16.4f} {row['peak_mb']:>9.1f}")
    if args.images:
        _image_section(args)


def _image_section(args) -> None:
    """Explanations on real images (bench/explain_images.py), in this process."""
    import torch

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import explain_images

    if not args.images:
        raise SystemExit("The real-image section needs the PneumoniaMNIST subset: --images PATH or MEDDL_BENCH_DATA.")
    if args.threads:
        torch.set_num_threads(args.threads)
    start = time.perf_counter()
    result = explain_images.run(args.images, train_seconds=args.train_seconds,
                                log=lambda text: print(f"  {text}", file=sys.stderr, flush=True))
    print("\n" + explain_images.report(result))
    print(f"(real-image section: {time.perf_counter() - start:.0f} s wall clock)")


if __name__ == "__main__":
    main()
