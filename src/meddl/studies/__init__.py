"""Studies of a config, beyond one run: cross-validation, learning curves, self-supervised pretraining."""

from meddl.studies.cross_validation import CrossValidationResult, cross_validate
from meddl.studies.learning_curve import LearningCurveResult, learning_curve
from meddl.studies.pretrain import pretrain

__all__ = ["CrossValidationResult", "LearningCurveResult", "cross_validate", "learning_curve", "pretrain"]
