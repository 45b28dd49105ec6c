"""Keras's ``keras.metrics`` namespace: metric objects and metric functions ``(y_true, y_pred)``.

Any of these can go in ``compile(metrics=[...])`` next to names such as
``"accuracy"`` or ``"auc"`` (or a class name, ``"F1Score"``); meddl computes them over each
whole epoch. For a screening test: ``SensitivityAtSpecificity(0.95)``, ``FalseNegatives()``.

Example:
    >>> import meddl
    >>> model = meddl.Sequential([meddl.layers.Dense(1, activation="sigmoid")])
    >>> model.compile(optimizer="adam", loss="binary_crossentropy",
    ...               metrics=[meddl.metrics.Precision(), meddl.metrics.Recall(), meddl.metrics.AUC()])
"""

from meddl.training.metric_objects import (AUC, Accuracy, BinaryAccuracy, BinaryIoU, CategoricalAccuracy,
                                           DiceCoefficient, Mean, MeanAbsoluteError, MeanSquaredError, Metric,
                                           Precision, Recall, SparseCategoricalAccuracy,
                                           SparseTopKCategoricalAccuracy, TopKCategoricalAccuracy, binary_accuracy,
                                           categorical_accuracy, sparse_categorical_accuracy,
                                           sparse_top_k_categorical_accuracy, top_k_categorical_accuracy)
from meddl.training.confusion_metrics import (F1Score, FalseNegatives, FalsePositives, FBetaScore, PrecisionAtRecall,
                                              RecallAtPrecision, SensitivityAtSpecificity, SpecificityAtSensitivity,
                                              TrueNegatives, TruePositives)
from meddl.training.metrics import get
from meddl.training.value_metrics import (BinaryCrossentropy, CategoricalCrossentropy, MeanAbsolutePercentageError,
                                          R2Score, RootMeanSquaredError, SparseCategoricalCrossentropy)
from meddl.errors import missing_name

__all__ = ["AUC", "Accuracy", "BinaryAccuracy", "BinaryCrossentropy", "BinaryIoU", "CategoricalAccuracy",
           "CategoricalCrossentropy", "DiceCoefficient", "F1Score", "FBetaScore", "FalseNegatives", "FalsePositives",
           "Mean", "MeanAbsoluteError", "MeanAbsolutePercentageError", "MeanSquaredError", "Metric",
           "Precision", "PrecisionAtRecall", "R2Score", "Recall", "RecallAtPrecision", "RootMeanSquaredError",
           "SensitivityAtSpecificity", "SparseCategoricalAccuracy", "SparseCategoricalCrossentropy",
           "SparseTopKCategoricalAccuracy", "SpecificityAtSensitivity", "TopKCategoricalAccuracy", "TrueNegatives",
           "TruePositives", "binary_accuracy", "categorical_accuracy", "get", "sparse_categorical_accuracy",
           "sparse_top_k_categorical_accuracy", "top_k_categorical_accuracy"]

def __getattr__(name: str):
    raise missing_name("meddl.metrics", name, __all__)
