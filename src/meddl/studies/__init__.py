"""Studies of a config, beyond one run: cross-validation, learning curves, self-supervised pretraining,
hyperparameter search (``tune``, nested), experiment tracking."""

from meddl.studies.cross_validation import CrossValidationResult, cross_validate
from meddl.studies.learning_curve import LearningCurveResult, learning_curve
from meddl.studies.nested import nested_tune
from meddl.studies.pretrain import pretrain
from meddl.studies.tracking import log_to_mlflow
from meddl.studies.tuning import TuneResult, tune

__all__ = ["CrossValidationResult", "LearningCurveResult", "TuneResult", "cross_validate", "learning_curve",
           "log_to_mlflow", "nested_tune", "pretrain", "tune"]
