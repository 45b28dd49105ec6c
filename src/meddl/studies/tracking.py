"""Experiment tracking: log a train, cv or tune run to MLflow (off unless asked).

``tracking: {mlflow: URI}`` in the config, or ``--mlflow URI`` on ``meddl train``,
``meddl cv`` and ``meddl tune``. A URI like ``file:./mlruns`` (or a plain
folder) is a local file store; ``http://host:5000`` a tracking server. Each
run gets the flattened config as parameters, every metric with its 95% CI
(``test.auroc``, ``test.auroc.ci_low``, ``test.auroc.ci_high``), and the
report and the whole output folder as artifacts.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

from meddl.errors import ConfigError

__all__ = ["flatten_metrics", "flatten_params", "log_to_mlflow", "tracking_uri"]


def tracking_uri(uri: str) -> str:
    """``file:`` URIs (and plain folders) resolved to absolute paths, so the store does not depend on the cwd."""
    if "://" in uri and not uri.startswith("file:"):
        return uri
    path = uri.removeprefix("file://").removeprefix("file:")
    return Path(path).expanduser().resolve().as_uri()


def flatten_params(config: dict, prefix: str = "") -> dict[str, str]:
    """Nested config → ``{"training.learning_rate": "0.001", ...}`` (MLflow parameters are strings)."""
    flat: dict[str, str] = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            flat.update(flatten_params(value, name + "."))
        else:
            flat[name] = json.dumps(value) if not isinstance(value, str) else value
    return {k: v[:500] for k, v in flat.items()}


def flatten_metrics(metrics: dict, prefix: str = "") -> dict[str, float]:
    """``{"value": x, "ci95": [lo, hi]}`` entries anywhere in ``metrics`` → ``name``, ``name.ci_low``, ``name.ci_high``."""
    flat: dict[str, float] = {}
    for key, value in metrics.items():
        name = f"{prefix}{key}".replace("@", "_at_")
        if isinstance(value, dict) and "value" in value:
            if isinstance(value["value"], (int, float)) and math.isfinite(value["value"]):
                flat[name] = float(value["value"])
                if value.get("ci95"):
                    flat[name + ".ci_low"], flat[name + ".ci_high"] = (float(v) for v in value["ci95"])
        elif isinstance(value, dict):
            flat.update(flatten_metrics(value, name + "."))
        elif isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
            flat[name] = float(value)
    return flat


def log_to_mlflow(uri: str, folder: str | Path, *, kind: str, config: dict | None = None,
                  metrics: dict[str, Any] | None = None, experiment: str = "meddl", run_name: str | None = None) -> str:
    """Log one finished train/cv/tune folder to MLflow; return the MLflow run id.

    Args:
        uri: the tracking URI (``file:./mlruns`` for a local file store).
        folder: the run / cv / tune output folder (logged as artifacts; ``report.html`` at the top).
        kind: ``"train"``, ``"cv"`` or ``"tune"`` (an MLflow tag).
        config: the resolved config (logged as parameters).
        metrics: nested metrics with ``value``/``ci95`` entries.
    """
    try:
        import mlflow
    except ImportError:
        raise ConfigError("tracking.mlflow needs MLflow: pip install mlflow-skinny (or meddl[tracking]).") from None
    from mlflow.exceptions import MlflowException

    folder = Path(folder)
    client_uri = tracking_uri(uri)
    if client_uri.startswith("file:"):
        # MLflow 3 keeps its file store in "maintenance mode" behind this switch; a local folder
        # is what the user asked for (and what needs no server), so allow it unless they said otherwise.
        os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
    try:
        return _log(mlflow, client_uri, folder, kind, config, metrics, experiment, run_name)
    except MlflowException as exc:
        raise ConfigError(f"tracking.mlflow {uri!r}: MLflow refused the run ({str(exc).splitlines()[0][:300]}).") from None


def _log(mlflow, client_uri, folder: Path, kind, config, metrics, experiment, run_name) -> str:
    mlflow.set_tracking_uri(client_uri)
    mlflow.set_experiment(experiment)
    with mlflow.start_run(run_name=run_name or f"{kind}:{folder.name}") as run:
        mlflow.set_tags({"meddl.kind": kind, "meddl.folder": str(folder.resolve())})
        if config:
            mlflow.log_params(flatten_params(config))
        if metrics:
            flat = flatten_metrics(metrics)
            if flat:
                mlflow.log_metrics({k[:250]: v for k, v in flat.items()})
        if (folder / "report.html").is_file():
            mlflow.log_artifact(str(folder / "report.html"))
        mlflow.log_artifacts(str(folder), artifact_path="folder")
        return run.info.run_id
