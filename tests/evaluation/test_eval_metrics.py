"""Point metrics against scikit-learn, and every promised edge case and error."""

import numpy as np
import pytest
from scipy.optimize import minimize_scalar
from sklearn import metrics as skm
from sklearn.linear_model import LogisticRegression

from meddl.errors import ConfigError, DataError
from meddl.evaluation import MetricDict, binary_metrics, multiclass_metrics, regression_metrics

from .eval_helpers import make_binary, make_multiclass


@pytest.mark.parametrize("threshold", [0.3, 0.5, 0.71])
@pytest.mark.parametrize("round_to", [None, 1])  # None: continuous scores; 1: many ties
def test_binary_metrics_match_sklearn(threshold, round_to):
    y, p = make_binary(500, seed=3, round_to=round_to)
    m = binary_metrics(y, p, threshold=threshold)
    pred = (p >= threshold).astype(int)
    tn, fp, fn, tp = skm.confusion_matrix(y, pred).ravel()
    assert m["auroc"] == pytest.approx(skm.roc_auc_score(y, p), abs=1e-12)
    assert m["auprc"] == pytest.approx(skm.average_precision_score(y, p), abs=1e-12)
    assert m["accuracy"] == pytest.approx(skm.accuracy_score(y, pred))
    assert m["balanced_accuracy"] == pytest.approx(skm.balanced_accuracy_score(y, pred))
    assert m["sensitivity"] == pytest.approx(skm.recall_score(y, pred))
    assert m["specificity"] == pytest.approx(skm.recall_score(y, pred, pos_label=0))
    assert m["ppv"] == pytest.approx(skm.precision_score(y, pred))
    assert m["npv"] == pytest.approx(tn / (tn + fn))
    assert m["f1"] == pytest.approx(skm.f1_score(y, pred))
    assert m["brier"] == pytest.approx(skm.brier_score_loss(y, p))


def test_ece_is_the_weighted_gap_over_ten_equal_width_bins():
    y, p = make_binary(600, seed=5)
    bins = np.minimum((p * 10).astype(int), 9)
    expected = sum((bins == b).sum() / len(p) * abs(y[bins == b].mean() - p[bins == b].mean())
                   for b in range(10) if (bins == b).any())
    assert binary_metrics(y, p)["ece"] == pytest.approx(expected, abs=1e-12)


def test_calibration_slope_matches_an_unpenalised_logistic_fit():
    y, p = make_binary(800, seed=2)
    x = np.log(p / (1 - p))
    fit = LogisticRegression(C=np.inf, tol=1e-10, max_iter=1000).fit(x[:, None], y)
    assert binary_metrics(y, p)["calibration_slope"] == pytest.approx(fit.coef_[0, 0], rel=1e-5)


def test_calibration_fits_converge_when_many_probabilities_are_exactly_zero_or_one():
    # A confident model: most outputs are 0 or 1 (logit clipped at +-13.8), a few of them wrong.
    # Plain Newton from slope 1 diverges here; the safeguarded one must find the optimum.
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 150)
    p = np.where(y == 1, 1.0, 0.0)
    p[:12] = 1 - p[:12]
    p[12:40] = rng.uniform(0.05, 0.95, 28)
    x = np.log(np.clip(p, 1e-6, 1 - 1e-6) / (1 - np.clip(p, 1e-6, 1 - 1e-6)))
    fit = LogisticRegression(C=np.inf, tol=1e-12, max_iter=10000).fit(x[:, None], y)
    m = binary_metrics(y, p)
    assert m["calibration_slope"] == pytest.approx(fit.coef_[0, 0], rel=1e-5)
    assert m["calibration_slope"] < 0.5  # over-confident: a slope well below 1


def test_calibration_intercept_is_the_offset_model_with_slope_one():
    y, p = make_binary(800, seed=2)
    x = np.log(p / (1 - p))

    def nll(a):
        eta = a + x
        return np.sum(np.logaddexp(0, eta) - y * eta)

    best = minimize_scalar(nll, bounds=(-5, 5), method="bounded", options={"xatol": 1e-10}).x
    assert binary_metrics(y, p)["calibration_intercept"] == pytest.approx(best, abs=1e-6)


def test_a_perfectly_calibrated_model_has_slope_near_one_and_intercept_near_zero():
    rng = np.random.default_rng(0)
    p = rng.uniform(0.02, 0.98, 20000)
    y = (rng.random(p.size) < p).astype(int)
    m = binary_metrics(y, p)
    assert m["calibration_slope"] == pytest.approx(1.0, abs=0.08)
    assert m["calibration_intercept"] == pytest.approx(0.0, abs=0.05)
    assert m["ece"] < 0.02


def test_metrics_are_plain_python_floats():
    y, p = make_binary(100)
    m = binary_metrics(y, p)
    assert isinstance(m, MetricDict) and isinstance(m, dict)
    assert all(type(v) is float for v in m.values())
    assert m.reasons == {}


def test_one_class_split_gives_none_with_reasons():
    m = binary_metrics([0, 0, 0, 0], [0.1, 0.6, 0.3, 0.2])
    for name in ("auroc", "auprc", "sensitivity", "balanced_accuracy", "calibration_slope", "calibration_intercept"):
        assert m[name] is None
        assert "no positive cases" in m.reasons[name]
    assert m["specificity"] == 0.75 and m["accuracy"] == 0.75


def test_no_negatives_gives_specificity_none():
    m = binary_metrics([1, 1, 1], [0.9, 0.2, 0.7])
    assert m["specificity"] is None and "no negative cases" in m.reasons["specificity"]
    assert m["auroc"] is None and m["auprc"] is None and "needs both classes" in m.reasons["auprc"]
    assert m["sensitivity"] == pytest.approx(2 / 3)


def test_ppv_and_npv_are_none_when_nothing_is_predicted_on_that_side():
    y, p = [0, 1, 0, 1], [0.1, 0.2, 0.3, 0.4]
    high = binary_metrics(y, p, threshold=0.9)
    assert high["ppv"] is None and "at or above the threshold 0.9" in high.reasons["ppv"]
    low = binary_metrics(y, p, threshold=0.0)
    assert low["npv"] is None and "below the threshold" in low.reasons["npv"]


def test_separated_classes_leave_the_calibration_slope_undefined():
    m = binary_metrics([0, 0, 0, 1, 1, 1], [0.1, 0.2, 0.3, 0.7, 0.8, 0.9])
    assert m["auroc"] == 1.0
    assert m["calibration_slope"] is None and "separate" in m.reasons["calibration_slope"]


def test_threshold_is_inclusive():
    m = binary_metrics([0, 1], [0.5, 0.5], threshold=0.5)
    assert m["sensitivity"] == 1.0 and m["specificity"] == 0.0


def test_nan_scores_raise_naming_the_argument_count_and_index():
    p = np.full(10, 0.5)
    p[[5, 7, 8]] = [np.nan, np.inf, np.nan]
    with pytest.raises(DataError, match=r"y_score contains 3 NaN or infinite values \(first at index 5\); "
                                        r"the model output must be finite\."):
        binary_metrics(np.zeros(10), p)


def test_probabilities_outside_zero_one_raise():
    with pytest.raises(DataError, match=r"y_score must contain probabilities in \[0, 1\]; got 2 values outside "
                                        r".*first at index 1"):
        binary_metrics([0, 1, 0], [0.2, 1.3, -0.1])


def test_length_mismatch_raises():
    with pytest.raises(DataError, match="y_true and y_score must have the same length; got 3 and 2"):
        binary_metrics([0, 1, 0], [0.2, 0.3])


def test_labels_other_than_zero_and_one_raise():
    with pytest.raises(DataError, match=r"y_true must contain only 0 and 1 for a binary task; got values \[0, 1, 2\]"):
        binary_metrics([0, 1, 2], [0.2, 0.3, 0.4])


def test_bad_threshold_raises_a_config_error():
    with pytest.raises(ConfigError, match=r"The 'threshold' parameter of binary_metrics must be a float in the "
                                          r"range \[0, 1\]\. Got 1\.5 instead\."):
        binary_metrics([0, 1], [0.2, 0.3], threshold=1.5)


def test_empty_input_raises():
    with pytest.raises(DataError, match="y_true is empty"):
        binary_metrics([], [])


def test_two_column_probabilities_use_the_positive_column():
    y, p = make_binary(50)
    assert binary_metrics(y, np.column_stack([1 - p, p])) == binary_metrics(y, p)


def test_multiclass_metrics_match_sklearn():
    y, proba = make_multiclass(400, 4, seed=1)
    names = ["a", "b", "c", "d"]
    m = multiclass_metrics(y, proba, class_names=names)
    pred = proba.argmax(axis=1)
    assert m["accuracy"] == pytest.approx(skm.accuracy_score(y, pred))
    assert m["auroc"] == pytest.approx(skm.roc_auc_score(y, proba, multi_class="ovr", average="macro"), abs=1e-12)
    assert m["balanced_accuracy"] == pytest.approx(skm.balanced_accuracy_score(y, pred))
    recall = skm.recall_score(y, pred, average=None)
    precision = skm.precision_score(y, pred, average=None)
    for c, name in enumerate(names):
        assert m[f"sensitivity[{name}]"] == pytest.approx(recall[c])
        assert m[f"ppv[{name}]"] == pytest.approx(precision[c])
    assert m["confusion_matrix"] == skm.confusion_matrix(y, pred).tolist()


def test_multiclass_accepts_class_names_as_labels():
    proba = np.array([[0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [0.2, 0.2, 0.6], [0.5, 0.4, 0.1]])
    by_name = multiclass_metrics(["x", "y", "z", "y"], proba, class_names=["x", "y", "z"])
    by_index = multiclass_metrics([0, 1, 2, 1], proba, class_names=["x", "y", "z"])
    assert by_name == by_index


def test_multiclass_missing_class_gives_none_with_reason():
    proba = np.array([[0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [0.6, 0.3, 0.1]])
    m = multiclass_metrics([0, 1, 0], proba, class_names=["a", "b", "c"])
    assert m["auroc"] is None and "['c']" in m.reasons["auroc"]
    assert m["sensitivity[c]"] is None and "no cases" in m.reasons["sensitivity[c]"]
    assert m["ppv[c]"] is None and "never predicted" in m.reasons["ppv[c]"]


def test_multiclass_rejects_rows_that_do_not_sum_to_one():
    with pytest.raises(DataError, match="Each row of proba must sum to 1.*not logits"):
        multiclass_metrics([0, 1], [[0.5, 0.9], [0.3, 0.3]])


def test_multiclass_rejects_labels_out_of_range_and_unknown_names():
    with pytest.raises(DataError, match=r"class indices in \[0, 1\]"):
        multiclass_metrics([0, 2], [[0.5, 0.5], [0.3, 0.7]])
    with pytest.raises(DataError, match="not in class_names"):
        multiclass_metrics(["a", "q"], [[0.5, 0.5], [0.3, 0.7]], class_names=["a", "b"])


def test_regression_metrics_match_sklearn():
    rng = np.random.default_rng(0)
    y = rng.normal(size=200)
    pred = y + rng.normal(0, 0.5, 200)
    m = regression_metrics(y, pred)
    assert m["mse"] == pytest.approx(skm.mean_squared_error(y, pred))
    assert m["mae"] == pytest.approx(skm.mean_absolute_error(y, pred))
    assert m["r2"] == pytest.approx(skm.r2_score(y, pred))


def test_regression_r2_is_none_for_a_constant_outcome():
    m = regression_metrics([3.0, 3.0, 3.0], [2.0, 3.0, 4.0])
    assert m["r2"] is None and "constant" in m.reasons["r2"]
    assert m["mae"] == pytest.approx(2 / 3)


def test_regression_rejects_non_finite_predictions():
    with pytest.raises(DataError, match=r"y_pred contains 1 NaN or infinite values \(first at index 1\)"):
        regression_metrics([1.0, 2.0], [1.0, np.nan])
