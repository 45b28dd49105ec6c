"""Keras's confusion-matrix, regression and probabilistic metrics, and its other losses, give the values
Keras's documentation shows; the operating-point metrics are exact; they train, log and save in compile."""

import numpy as np
import pytest
from sklearn.metrics import f1_score
import torch

import meddl
from meddl import layers, losses, metrics
from meddl.errors import MeddlError

ROC_TRUE, ROC_SCORES = [0, 0, 0, 1, 1], [0, 0.3, 0.8, 0.3, 0.8]
MULTI_TRUE = [[1, 1, 1], [1, 0, 0], [1, 1, 0]]
MULTI_SCORES = [[0.2, 0.6, 0.7], [0.2, 0.6, 0.6], [0.6, 0.8, 0.0]]
PROBABILITIES_3 = [[0.05, 0.95, 0], [0.1, 0.8, 0.1]]


@pytest.mark.parametrize("metric, y_true, y_pred, expected", [
    (metrics.SensitivityAtSpecificity(0.5), ROC_TRUE, ROC_SCORES, 0.5),
    (metrics.SpecificityAtSensitivity(0.5), ROC_TRUE, ROC_SCORES, 2 / 3),
    (metrics.PrecisionAtRecall(0.5), ROC_TRUE, ROC_SCORES, 0.5),
    (metrics.RecallAtPrecision(0.8), [0, 0, 1, 1], [0, 0.5, 0.3, 0.9], 0.5),
    (metrics.TruePositives(), [0, 1, 1, 1], [1, 0, 1, 1], 2.0),
    (metrics.FalsePositives(), [0, 1, 0, 0], [0, 0, 1, 1], 2.0),
    (metrics.TrueNegatives(), [0, 1, 0, 0], [1, 1, 0, 0], 2.0),
    (metrics.FalseNegatives(), [0, 1, 1, 1], [0, 1, 0, 0], 2.0),
    (metrics.F1Score(threshold=0.5), MULTI_TRUE, MULTI_SCORES, [0.5, 0.8, 2 / 3]),
    (metrics.FBetaScore(beta=2.0, threshold=0.5), MULTI_TRUE, MULTI_SCORES, [0.3846154, 0.90909094, 0.8333334]),
    (metrics.RootMeanSquaredError(), [[0, 1], [0, 0]], [[1, 1], [0, 0]], 0.5),
    (metrics.R2Score(), [[1], [4], [3]], [[2], [4], [4]], 0.57142854),
    (metrics.MeanAbsolutePercentageError(), [[0, 1], [0, 0]], [[1, 1], [0, 0]], 250000000.0),
    (metrics.BinaryCrossentropy(), [[0, 1], [0, 0]], [[0.6, 0.4], [0.4, 0.6]], 0.81492424),
    (metrics.CategoricalCrossentropy(), [[0, 1, 0], [0, 0, 1]], PROBABILITIES_3, 1.1769392),
    (metrics.SparseCategoricalCrossentropy(), [1, 2], PROBABILITIES_3, 1.1769392),
])
def test_metrics_match_kerass_documented_results(metric, y_true, y_pred, expected):
    metric.update_state(y_true, y_pred)
    np.testing.assert_allclose(metric.result(), expected, rtol=1e-5)
    metric.reset_state()
    assert metric.result() == 0.0


def test_f_scores_average_as_keras_defines_it():
    micro = metrics.F1Score(average="micro", threshold=0.5)
    micro.update_state(MULTI_TRUE, MULTI_SCORES)
    assert micro.result() == pytest.approx(2 * 4 / (2 * 4 + 2 + 2))  # tp 4, fp 2, fn 2 over all classes
    for average, expected in (("macro", np.mean([0.5, 0.8, 2 / 3])),
                              ("weighted", (0.5 * 3 + 0.8 * 2 + 2 / 3 * 1) / 6)):
        metric = metrics.F1Score(average=average, threshold=0.5)
        metric.update_state(MULTI_TRUE, MULTI_SCORES)
        assert metric.result() == pytest.approx(expected)
    argmax = metrics.F1Score(average="macro")  # threshold None: each row's highest score is its prediction
    argmax.update_state([[0, 1], [1, 0], [1, 0]], [[0.2, 0.8], [0.9, 0.1], [0.4, 0.6]])
    assert argmax.result() == pytest.approx(np.mean([2 / 3, 2 / 3]))
    single = metrics.F1Score()  # one sigmoid column: 0.5, not Keras's arg-max that calls every case positive
    single.update_state([[1], [0], [0]], [[0.9], [0.2], [0.3]])
    assert single.result() == 1.0


def _brute_force(truth, scores, constrained, optimised, target):
    """Every threshold between distinct scores, as a definition."""
    best = 0.0
    for threshold in np.concatenate([[-np.inf], np.unique(scores)]):
        predicted = scores > threshold
        tp, fp = np.sum(predicted & truth), np.sum(predicted & ~truth)
        fn, tn = np.sum(~predicted & truth), np.sum(~predicted & ~truth)
        rates = {"sensitivity": tp / (tp + fn), "specificity": tn / (tn + fp),
                 "precision": tp / (tp + fp) if tp + fp else np.nan}
        if rates[constrained] >= target:
            best = max(best, rates[optimised])
    return best


@pytest.mark.parametrize("metric, constrained, optimised", [
    (metrics.SensitivityAtSpecificity(0.9), "specificity", "sensitivity"),
    (metrics.SpecificityAtSensitivity(0.95), "sensitivity", "specificity"),
    (metrics.PrecisionAtRecall(0.8), "sensitivity", "precision"),
    (metrics.RecallAtPrecision(0.7), "precision", "sensitivity"),
])
def test_operating_point_metrics_are_exact_over_all_thresholds(metric, constrained, optimised):
    rng = np.random.default_rng(3)
    truth = rng.random(300) < 0.3
    scores = np.round(rng.normal(truth * 1.2, 1.0), 2)  # ties included
    metric.update_state(truth.astype(float), scores)
    assert metric.result() == pytest.approx(_brute_force(truth, scores, constrained, optimised, metric.target))


def _binary_data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 4)).astype(np.float32)
    y = (x[:, 0] - x[:, 1] + rng.normal(scale=0.5, size=200) > 0).astype(np.float32)
    return x, y


def test_screening_metrics_in_compile_match_the_same_metrics_on_predict_and_save_with_their_settings(tmp_path):
    x, y = _binary_data()
    model = meddl.Sequential([layers.Input((4,)), layers.Dense(8, activation="relu"),
                              layers.Dense(1, activation="sigmoid")])
    chosen = [metrics.SensitivityAtSpecificity(0.9, name="sens_at_90"), metrics.FalseNegatives(thresholds=0.3),
              metrics.F1Score(threshold=0.4), "TruePositives", metrics.BinaryCrossentropy(label_smoothing=0.1)]
    model.compile(optimizer="adam", loss=losses.BinaryFocalCrossentropy(), metrics=chosen)
    history = model.fit(x, y, epochs=3, verbose=0, validation_split=0.25, seed=0)
    assert {"sens_at_90", "false_negatives", "f1_score", "true_positives", "binary_crossentropy",
            "val_sens_at_90"} <= set(history.history)
    scores = model.predict(x)
    results = model.evaluate(x, y, return_dict=True)
    assert results["false_negatives"] == np.sum((scores[:, 0] <= 0.3) & (y == 1))
    assert results["true_positives"] == np.sum((scores[:, 0] > 0.5) & (y == 1))
    assert results["sens_at_90"] == pytest.approx(_brute_force(y == 1, scores[:, 0], "specificity", "sensitivity", 0.9))
    smoothed = y * 0.9 + 0.05
    expected_log_loss = -np.mean(smoothed * np.log(scores[:, 0]) + (1 - smoothed) * np.log(1 - scores[:, 0]))
    assert results["binary_crossentropy"] == pytest.approx(expected_log_loss, rel=1e-4)
    model.save(tmp_path / "model")
    reloaded = meddl.load_model(tmp_path / "model")
    assert reloaded.evaluate(x, y, return_dict=True) == pytest.approx(results)
    assert reloaded.metric_specs[1] == {"class_name": "FalseNegatives",
                                        "config": {"name": "false_negatives", "thresholds": 0.3}}


def test_softmax_models_hand_these_metrics_the_positive_column_or_one_hot_labels():
    x, y = _binary_data()
    model = meddl.Sequential([layers.Input((4,)), layers.Dense(2, activation="softmax")])
    model.compile(loss="sparse_categorical_crossentropy",
                  metrics=[metrics.TruePositives(), metrics.F1Score(average="macro"),
                           metrics.CategoricalCrossentropy()])
    model.fit(x, y, epochs=2, verbose=0, seed=0)
    results, scores = model.evaluate(x, y, return_dict=True), model.predict(x)
    assert results["true_positives"] == np.sum((scores[:, 1] > 0.5) & (y == 1))
    assert results["categorical_crossentropy"] == pytest.approx(results["loss"], rel=1e-5)
    assert results["f1_score"] == pytest.approx(f1_score(y, scores.argmax(1), average="macro"))


def test_per_class_f1_in_compile_and_metrics_needing_arguments_are_refused_clearly():
    x, y = _binary_data()
    model = meddl.Sequential([layers.Input((4,)), layers.Dense(2, activation="softmax")])
    model.compile(loss="sparse_categorical_crossentropy", metrics=[metrics.F1Score()])
    with pytest.raises(MeddlError, match="one value per class.*average='macro'"):
        model.fit(x, y, epochs=1, verbose=0)
    with pytest.raises(MeddlError, match=r"needs arguments.*SensitivityAtSpecificity\(\.\.\.\)"):
        model.compile(loss="sparse_categorical_crossentropy", metrics=["SensitivityAtSpecificity"])
    with pytest.raises(MeddlError, match="'specificity' parameter of SensitivityAtSpecificity must be a float"):
        metrics.SensitivityAtSpecificity(95)
    with pytest.raises(MeddlError, match="class_id is not supported"):
        metrics.PrecisionAtRecall(0.5, class_id=1)


@pytest.mark.parametrize("loss, y_true, y_pred, expected", [
    (losses.Huber(), [[0, 1], [0, 0]], [[0.6, 0.4], [0.4, 0.6]], 0.155),
    (losses.LogCosh(), [[0.0, 1.0], [0.0, 0.0]], [[1.0, 1.0], [0.0, 0.0]], 0.108),
    (losses.BinaryFocalCrossentropy(gamma=2, from_logits=True), [0, 1, 0, 0], [-18.6, 0.51, 2.94, -12.8], 0.691),
    (losses.BinaryFocalCrossentropy(apply_class_balancing=True, gamma=2, from_logits=True), [0, 1, 0, 0],
     [-18.6, 0.51, 2.94, -12.8], 0.51),
])
def test_more_losses_match_kerass_documented_results(loss, y_true, y_pred, expected):
    assert float(loss(y_true, y_pred)) == pytest.approx(expected, abs=1e-3)


def test_loss_functions_and_stable_log_cosh():
    assert losses.huber([[0, 1], [0, 0]], [[0.6, 0.4], [0.4, 0.6]]).tolist() == pytest.approx([0.18, 0.13])
    assert float(losses.log_cosh([[0.0]], [[1000.0]])) == pytest.approx(1000 - np.log(2))  # no overflow
    assert float(losses.Huber(delta=2.0)([[0.0]], [[5.0]])) == pytest.approx(2 * (5 - 1))


def test_label_smoothing_is_the_loss_of_the_smoothed_labels():
    y, p = np.array([[1.0, 0.0], [0.0, 1.0]]), np.array([[0.7, 0.3], [0.4, 0.6]])
    smoothed = float(losses.BinaryCrossentropy(label_smoothing=0.2)(y, p))
    assert smoothed == pytest.approx(float(losses.BinaryCrossentropy()(y * 0.8 + 0.1, p)), rel=1e-6)
    smoothed = float(losses.CategoricalCrossentropy(label_smoothing=0.2)(y, p))
    assert smoothed == pytest.approx(float(losses.CategoricalCrossentropy()(y * 0.8 + 0.1, p)), rel=1e-6)
    logits = torch.tensor([[2.0], [-1.0]])
    from_logits = losses.BinaryCrossentropy(from_logits=True, label_smoothing=0.2)
    assert float(from_logits([[1.0], [0.0]], logits)) == pytest.approx(
        float(losses.BinaryCrossentropy(label_smoothing=0.2)([[1.0], [0.0]], torch.sigmoid(logits))), rel=1e-5)


def test_label_smoothing_trains_and_is_saved(tmp_path):
    x, y = _binary_data()
    model = meddl.Sequential([layers.Input((4,)), layers.Dense(1, activation="sigmoid")])
    model.compile(loss=losses.BinaryCrossentropy(label_smoothing=0.1), optimizer="adam")
    model.fit(x, y, epochs=2, verbose=0, seed=0)
    model.save(tmp_path / "model")
    reloaded = meddl.load_model(tmp_path / "model")
    assert reloaded.loss.label_smoothing == 0.1
    assert reloaded.evaluate(x, y) == pytest.approx(model.evaluate(x, y))


def test_loss_settings_meddl_does_not_apply_are_refused():
    with pytest.raises(MeddlError, match="reduction='sum' is not supported"):
        losses.MeanSquaredError(reduction="sum")
    with pytest.raises(MeddlError, match="ignore_class"):
        losses.SparseCategoricalCrossentropy(ignore_class=0)
    with pytest.raises(MeddlError, match="'label_smoothing' parameter of CategoricalCrossentropy"):
        losses.CategoricalCrossentropy(label_smoothing=2)
    with pytest.raises(MeddlError, match="axis=1 is not supported"):
        losses.CategoricalCrossentropy(axis=1)
    assert losses.BinaryCrossentropy(name="bce", reduction="sum_over_batch_size").get_config()["name"] == \
        "binary_crossentropy"


def test_r2_score_aggregations_as_keras_names_them():
    y_true, y_pred = [[1.0, 10.0], [4.0, 30.0], [3.0, 20.0]], [[2.0, 12.0], [4.0, 27.0], [4.0, 20.0]]
    per_output = metrics.R2Score(class_aggregation=None)
    per_output.update_state(y_true, y_pred)
    np.testing.assert_allclose(per_output.result(), [1 - 2 / (14 / 3), 1 - 13 / 200], rtol=1e-5)
    weighted = metrics.R2Score(class_aggregation="variance_weighted_average")
    weighted.update_state(y_true, y_pred)
    assert weighted.result() == pytest.approx(1 - (2 + 13) / (14 / 3 + 200), rel=1e-5)
    with pytest.raises(MeddlError, match="'variance_weighted_average' or None"):
        metrics.R2Score(class_aggregation="variance_weighted")


def test_binary_focal_label_smoothing_weighs_with_the_smoothed_labels_as_keras():
    y, p = np.array([[1.0], [0.0]]), np.array([[0.8], [0.3]])
    t = y * 0.8 + 0.1
    bce = -(t * np.log(p) + (1 - t) * np.log(1 - p))
    p_t = t * p + (1 - t) * (1 - p)
    expected = np.mean((1 - p_t) ** 2 * bce * (t * 0.25 + (1 - t) * 0.75))
    loss = losses.BinaryFocalCrossentropy(apply_class_balancing=True, label_smoothing=0.2)
    assert float(loss(y, p)) == pytest.approx(expected, rel=1e-5)
