"""Task pipelines: config → data → model → evaluation → run folder (diagnosis, regression, ...)."""

from meddl.tasks.api import train
from meddl.tasks.config import RunConfig, load_config
from meddl.tasks.cross_validation import cross_validate
from meddl.tasks.learning_curve import learning_curve
from meddl.tasks.pretrain import pretrain
from meddl.tasks.run import Run, load_run

__all__ = ["Run", "RunConfig", "cross_validate", "learning_curve", "load_config", "load_run", "pretrain", "train"]
