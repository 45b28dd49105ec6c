"""All trust checks of one image heat-map method on a sample of images, as one JSON-ready dict.

* ``randomization`` -- the cascading randomisation test (:func:`meddl.explain.cascading_randomization`);
* ``faithfulness`` -- deletion/insertion gains over random orders per image, with 95% CIs, and the
  faithfulness score (:func:`meddl.explain.faithfulness`);
* ``road`` -- remove-and-debias (:func:`meddl.explain.road`);
* ``deletion_insertion`` -- the mean curves (as :func:`meddl.explain.deletion_insertion` gives them) with
  ``faithful`` and ``status``.

Every check carries ``status`` (``"passed"``, ``"failed"`` or ``"undefined"``) and
``reason`` (why, in words); undefined is never reported as failed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from meddl.explain.faithfulness import faithfulness, road
from meddl.explain.randomization import cascading_randomization

__all__ = ["image_trust", "CHECK_STATUSES", "status_text"]

CHECK_STATUSES = ("passed", "failed", "undefined")
#: Steps of the cascading randomisation for image runs (output layer, the upper half, everything).
IMAGE_CASCADE_STEPS = 3
#: ROAD's removed fractions in explain_run (fewer than the paper's nine: each is a linear solve per image).
IMAGE_ROAD_FRACTIONS = (0.1, 0.3, 0.5, 0.7, 0.9)


def status_text(check: dict[str, Any] | None) -> str:
    """A check's status for a summary line: ``passed``, ``FAILED`` or ``undefined (why)``.

    Example:
        >>> status_text({"status": "undefined", "reason": "too few rows"}), status_text({"status": "failed"})
        ('undefined (too few rows)', 'FAILED')
    """
    if not check:
        return "not computed"
    status = check.get("status")
    if status is None:  # results written before statuses existed
        status = {True: "passed", False: "failed"}.get(check.get("passed"), "undefined")
    if status == "undefined":
        return f"undefined ({check['reason']})" if check.get("reason") else "undefined"
    return "FAILED" if status == "failed" else status


def image_trust(f: Any, images: np.ndarray, maps: np.ndarray, explain: Callable[[Any, Any], np.ndarray], *,
                targets: np.ndarray, baseline: Any, seed: int = 0, batch_size: int | None = None,
                cascade_steps: int = IMAGE_CASCADE_STEPS, n_random: int = 2) -> dict[str, Any]:
    """Randomisation, deletion/insertion with CIs, and ROAD for one method's ``maps`` of ``images``.

    Args:
        f: the explained module (for the curves, and randomised for the test).
        images: ``(n, H, W, C)``; maps: the method's heat maps ``(n, H, W)``.
        explain: ``explain(module, images) -> maps`` (recomputes the method for a randomised copy).
        targets: explained output per image; baseline: the removal reference (e.g. the blurred images).

    Example:
        >>> import numpy as np, torch
        >>> from meddl import Sequential
        >>> from meddl.layers import Conv2D, Dense, GlobalAveragePooling2D
        >>> from meddl.explain import grad_cam
        >>> torch.manual_seed(0) and None
        >>> model = Sequential([Conv2D(4, 3, padding="same", activation="relu", input_shape=(8, 8, 1)),
        ...                     GlobalAveragePooling2D(), Dense(2, activation="softmax")])
        >>> images = np.random.default_rng(0).random((4, 8, 8, 1)).astype("float32")
        >>> explain = lambda module, x: grad_cam(module, x, target=1)
        >>> checks = image_trust(model, images, explain(model, images), explain, targets=np.ones(4, int), baseline=0.0)
        >>> sorted(checks), checks["faithfulness"]["status"] in ("passed", "failed", "undefined")
        (['deletion_insertion', 'faithfulness', 'randomization', 'road'], True)
    """
    randomization = cascading_randomization(f, images, explain, seed=seed, max_steps=cascade_steps)
    faith = faithfulness(f, images, maps, baseline=baseline, target=targets, n_random=n_random, seed=seed,
                         batch_size=batch_size)
    removed = road(f, images, maps, target=targets, fractions=IMAGE_ROAD_FRACTIONS, seed=seed, batch_size=batch_size)
    curves = {"deletion": faith.pop("deletion"), "insertion": faith.pop("insertion"), "fractions": faith["fractions"],
              "n_rows": faith["n_rows"], "n_random": n_random, "faithful": faith["status"] == "passed",
              "status": faith["status"], "reason": faith["reason"]}
    return {"randomization": randomization, "faithfulness": faith, "road": removed, "deletion_insertion": curves}
