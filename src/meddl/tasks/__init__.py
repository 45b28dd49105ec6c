"""Task pipelines: config → data → model → evaluation → run folder (diagnosis, regression, ...)."""

from meddl.tasks.api import train
from meddl.tasks.config import RunConfig, load_config
from meddl.tasks.run import Run, load_run

__all__ = ["Run", "RunConfig", "load_config", "load_run", "train"]
