"""Diagnosis (classification) and progression (regression) from tables or images, end to end.

``train_supervised(config)`` loads the data, splits it without leakage, fits the
preprocessing on the training split only, trains the preset model with early
stopping on the validation split, picks the operating threshold on validation,
and evaluates validation and test with confidence intervals. The diagnosis and
regression task plug-ins (:mod:`meddl.runs.diagnosis`) call it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from meddl.data import ImagePreprocessor, TabularPreprocessor, choose_positive_class
from meddl.data.image_preprocessing import IMAGE_SCALINGS
from meddl.errors import ConfigError, DataError
from meddl.evaluation.calibration_choice import choose_calibration
from meddl.evaluation import (ConformalClassifier, PlattScaler, TemperatureScaler, choose_threshold,
                              coverage_chance_range, evaluate_predictions)
from meddl.models.ensemble import describe_tta, spread_columns
from meddl.runs.calibration_rows import calibration_rows
from meddl.runs.config import RunConfig
from meddl.runs.datasets import (LoadedData, PreparedSplits, load_data, missingness, split_labels, split_rows,
                                 table_schema)
from meddl.runs.fitting import fit_models, recipe_outputs
from meddl.runs.input_profile import input_profile_files
from meddl.runs.log import RunLog
from meddl.runs.result import RunInfo, RunResult

__all__ = ["train_supervised", "encode_classes", "output_to_scores", "calibrated_members", "prediction_frame", "truth_labels"]

# A class is "imbalanced" (class_weight: auto -> balanced) when it has fewer than this share of the majority.
_IMBALANCE_RATIO = 0.5


def _sort_key(value: Any):
    try:
        return (0, float(value), "")
    except (TypeError, ValueError):
        return (1, 0.0, str(value))


_SAVED_ORDER = "<keep the given class order>"


def encode_classes(target: np.ndarray, *, class_names: list[str] | None = None,
                   positive_class: str | None = _SAVED_ORDER) -> tuple[np.ndarray, list[str]]:
    """Class names (binary: the positive class last) and each row's class index.

    Training passes ``positive_class`` (``data.positive_class``, possibly ``None``): for two
    classes :func:`meddl.data.choose_positive_class` decides, or asks for it. A saved run
    passes its ``class_names`` only, and their order is kept.
    """
    as_text = np.asarray([str(v) for v in target], dtype=object)
    present = sorted(set(as_text), key=_sort_key)
    names = list(class_names) if class_names else present
    unknown = sorted(set(present) - set(names))
    if unknown:
        raise DataError(f"Labels {unknown[:5]} are not among the class names {names}.")
    if len(names) < 2:
        raise DataError(f"Diagnosis needs at least two classes in the label column; found only {names}.")
    if positive_class is not _SAVED_ORDER and (positive_class is not None or len(names) == 2):
        positive, _ = choose_positive_class(names, positive_class)
        names = [n for n in names if n != positive] + [positive]
    index = {name: i for i, name in enumerate(names)}
    return np.asarray([index[v] for v in as_text], dtype=np.int64), names


def _fit_features(data: LoadedData, splits: PreparedSplits, config: RunConfig, log: RunLog):
    """Fit preprocessing on the training rows only; return it and the three feature matrices."""
    if data.kind == "table":
        preprocessor = TabularPreprocessor(numeric=config.data.numeric, categorical=config.data.categorical)
        frame = data.features
        preprocessor.fit(frame.iloc[splits.train])
        log(f"Preprocessing fitted on {len(splits.train)} training rows: {len(preprocessor.input_columns_)} columns "
            f"-> {preprocessor.n_features_out_} features ({len(preprocessor.categorical_columns_)} categorical, "
            f"{len(preprocessor.missing_indicator_columns_)} missing-value indicators).")
        matrices = [preprocessor.transform(frame.iloc[rows]) if len(rows) else None
                    for rows in (splits.train, splits.val, splits.test)]
    else:
        # a DICOM window already maps every image's values to [0, 1] alike: scaling each image again would undo it
        windowed = getattr(config.data, "window", None) is not None
        preprocessor = ImagePreprocessor(scaling="none" if windowed else "auto").fit(data.features[splits.train])
        matrices = [preprocessor.transform(data.features[rows]) if len(rows) else None
                    for rows in (splits.train, splits.val, splits.test)]
        log(f"Images {preprocessor.input_shape_} scaled by {preprocessor.scaling_}: "
            f"{IMAGE_SCALINGS[preprocessor.scaling_]}"
            + ("; set data.window: [center, width] to keep absolute values such as Hounsfield units."
               if config.data.source in ("dicom", "nifti")
               and preprocessor.scaling_ == "per_image_minmax" else "."))
    return preprocessor, matrices


def _class_weight(y_train: np.ndarray, setting: str, log: RunLog):
    if setting == "none":
        return None
    counts = np.bincount(y_train)
    if setting == "balanced" or counts.min() < _IMBALANCE_RATIO * counts.max():
        log(f"Class weights: balanced (training counts {counts.tolist()}).")
        return "balanced"
    return None


def load_supervised_data(config: RunConfig, *, classification: bool) -> LoadedData:
    """The labelled table or images a diagnosis/regression config names (subgroup columns kept aside)."""
    subgroups = list(config.evaluation.subgroups)
    return load_data(config.data, classification=classification,
                     extra_columns=[c for c in subgroups if not config.data.features or c not in config.data.features])


def train_supervised(config: RunConfig, *, log: RunLog, classification: bool, data: LoadedData | None = None,
                     splits: PreparedSplits | None = None) -> RunResult:
    """Train and evaluate; return everything the run folder needs.

    ``data`` (from ``load_supervised_data``) and ``splits`` let cross-validation and learning curves reuse
    loaded data with rows of their own; an empty ``splits.test`` (a model refitted on all
    data) gives validation metrics and predictions only.
    """
    task = config.task
    subgroup_columns = list(config.evaluation.subgroups)
    if data is None:
        data = load_supervised_data(config, classification=classification)
        for note in data.notes:
            log(note)
        log(f"Loaded {len(data)} rows from {data.source}.")
    if classification:
        y, class_names = encode_classes(data.target, class_names=data.class_names,
                                        positive_class=config.data.positive_class)
        if len(class_names) == 2:
            log(f"Positive class: {class_names[-1]!r} ({choose_positive_class(class_names, config.data.positive_class)[1]}); "
                f"sensitivity, PPV and the threshold are about it.")
    else:
        y = pd.to_numeric(pd.Series(data.target), errors="coerce").to_numpy(dtype=np.float64)
        if not np.isfinite(y).all():
            bad = np.flatnonzero(~np.isfinite(y))[:5].tolist()
            raise DataError(f"The outcome column {config.data.label!r} must be numeric and finite for task 'regression'; "
                            f"rows {bad} are not.")
        class_names = None
    if splits is None:
        splits = split_rows(data, y, config.data.split, stratify=None if classification else False)
    for note in splits.notes:
        log(note)
    evaluated = ("val", "test") if len(splits.test) else ("val",)
    preprocessor, (x_train, x_val, x_test) = _fit_features(data, splits, config, log)
    y_train, y_val, y_test = y[splits.train], y[splits.val], y[splits.test]
    target_scaling = None
    if not classification:
        mean, std = float(y_train.mean()), float(y_train.std() or 1.0)
        target_scaling = {"mean": mean, "std": std}
        scale = lambda v: (v - mean) / std  # noqa: E731
        y_fit, y_val_fit = scale(y_train), scale(y_val)
    else:
        y_fit, y_val_fit = y_train, y_val

    training = config.training
    seed = training.seed
    n_outputs = len(class_names) if classification else 1
    members = config.ensemble_members
    # Balanced sampling already evens out the classes; weighting them as well would correct twice.
    class_weight = (_class_weight(y_train, training.class_weight, log)
                    if classification and training.sampling != "balanced" else None)
    fitted = fit_models(config, kind=data.kind, x_train=x_train, y_train=y_fit, x_val=x_val, y_val=y_val_fit,
                        classification=classification, n_outputs=n_outputs, class_weight=class_weight, log=log)
    model, history = fitted.model, fitted.history

    calibrator = None
    if fitted.tta != "none":
        log(describe_tta(fitted.tta))
    combined = {name: fitted.outputs(x, classification) for name, x in (("val", x_val), ("test", x_test))
                if name in evaluated}
    outputs = {name: out for name, (out, _) in combined.items()}
    metrics: dict[str, Any] = {}
    calibration_choice = None
    if classification and config.evaluation.calibration != "none":  # meddl.runs.calibration_rows
        fit_on = calibration_rows(config, data=data, y=y, splits=splits, val_logits=outputs["val"], fitted=fitted,
                                  n_outputs=n_outputs, class_weight=class_weight, fit_features=_fit_features, log=log)
        if config.evaluation.calibration == "auto":  # meddl.evaluation.calibration_choice
            choice = choose_calibration(fit_on.logits, fit_on.y, seed=seed)
            calibrator, calibration_choice = choice.calibrator, {**choice.to_dict(), "fitted_on": fit_on.to_dict()}
            log(f"Post-hoc calibration: {choice.method}, chosen{' and fitted' if choice.calibrator else ''} on "
                f"{fit_on.description} ({choice.reason}).")
        else:
            calibrator = _fit_calibrator(config.evaluation.calibration, fit_on.logits, fit_on.y, len(class_names))
            calibration_choice = {"method": config.evaluation.calibration, "reason": "set by evaluation.calibration",
                                  "fitted_on": fit_on.to_dict()}
            log(f"Post-hoc calibration ({config.evaluation.calibration}) fitted on {fit_on.description}.")
        metrics["calibration"] = {"method": calibration_choice["method"], "fitted_on": fit_on.description}
    scores = {name: output_to_scores(out, classification, calibrator, target_scaling)
              for name, out in outputs.items()}
    uncalibrated = ({name: output_to_scores(out, classification, None, None) for name, out in outputs.items()}
                    if calibrator is not None else None)

    problem = ("binary" if len(class_names) == 2 else "multiclass") if classification else "regression"
    threshold = None
    if problem == "binary":
        rule = config.evaluation.threshold
        threshold = choose_threshold(y_val, scores["val"], method=rule.method,
                                     target=rule.value if rule.method == "fixed" else rule.target)
        log(f"Decision threshold {threshold:.4f} chosen on validation ({rule.method}).")

    frame = data.frame
    for name, rows, truth in (("val", splits.val, y_val), ("test", splits.test, y_test))[:len(evaluated)]:
        subgroups = {c: frame[c].astype(str).to_numpy()[rows] for c in subgroup_columns} if subgroup_columns else None
        groups = data.groups[rows] if data.groups is not None else None
        metrics[name] = evaluate_predictions(problem, truth, scores[name], threshold=threshold, class_names=class_names,
                                             groups=groups, subgroups=subgroups,
                                             n_resamples=config.evaluation.n_resamples, seed=seed)
        if uncalibrated is not None:
            metrics[name]["before_calibration"] = evaluate_predictions(
                problem, truth, uncalibrated[name], threshold=threshold, class_names=class_names,
                groups=groups, n_resamples=config.evaluation.n_resamples, seed=seed)["metrics"]
    conformal = None
    if classification and config.evaluation.conformal_coverage:
        conformal = _fit_conformal(config.evaluation.conformal_coverage, scores, y_val, y_test, problem, metrics, log)
    metrics["threshold"] = threshold
    if problem == "binary":
        metrics["positive_class"] = class_names[-1]

    spreads = ({name: spread_columns(calibrated_members(per_member, calibrator), class_names, target_scaling)
                for name, (_, per_member) in combined.items()}
               if members > 1 else {})
    predictions = {name: prediction_frame(data.row_ids[rows], truth_labels(truth, class_names), scores[name],
                                          class_names, threshold, conformal,
                                          extra={**({"patient_id": data.groups[rows]} if data.groups is not None else {}),
                                                 **{c: frame[c].to_numpy()[rows] for c in subgroup_columns},
                                                 **spreads.get(name, {})})
                   for name, rows, truth in (("val", splits.val, y_val), ("test", splits.test, y_test))
                   if name in evaluated}
    info = RunInfo(
        task=task, problem=problem, class_names=class_names,
        positive_class=class_names[-1] if problem == "binary" else None, threshold=threshold, label=data.label,
        input=_input_schema(data, preprocessor),
        data_summary={
            "source": data.source,
            "n_rows": int(len(data)),
            "split_sizes": {name: int(len(rows)) for name, rows in splits.items()},
            "class_balance": ({name: {class_names[k]: int(v) for k, v in enumerate(np.bincount(y[rows], minlength=len(class_names)))}
                               for name, rows in splits.items()} if classification else None),
            "missingness": missingness(data.features) if data.kind == "table" else {},
        },
        model={"preset": config.model.preset, "n_parameters": int(model.count_params()),
               "epochs_trained": len(history.epoch)},
        seed=seed,
        details={"target_scaling": target_scaling,
                 "calibration": None if calibrator is None else calibrator.to_dict(),
                 "calibration_choice": calibration_choice,
                 "conformal": None if conformal is None else conformal.to_dict(),
                 "training_recipe": fitted.recipe, "transfer": fitted.transfer,
                 "test_time_augmentation": fitted.tta,
                 "ensemble": {"members": members} if members > 1 else None})
    outputs_of_recipe = recipe_outputs(fitted, combined, predictions, metrics, x_train=x_train, y_train=y_train,
                                       problem=problem, class_names=class_names, target_scaling=target_scaling,
                                       truths={"val": y_val, "test": y_test}, seed=seed, log=log)
    return RunResult(config=config, info=info, model=model, preprocessor=preprocessor, history=history,
                     metrics=metrics, predictions=predictions,
                     split=pd.DataFrame({"row_id": data.row_ids, "split": split_labels(len(data), splits),
                                         **({"patient_id": data.groups} if data.groups is not None else {})}),
                     extra_files={**outputs_of_recipe.files,
                                  **input_profile_files(_training_frame(data, splits), preprocessor)},
                     sections=outputs_of_recipe.sections,
                     members=outputs_of_recipe.members, member_histories=outputs_of_recipe.member_histories)


def truth_labels(y: np.ndarray, class_names: list[str] | None) -> np.ndarray:
    """Class indices back to class names (regression values pass through)."""
    return np.asarray([class_names[int(v)] for v in y], dtype=object) if class_names else y


def calibrated_members(per_member: np.ndarray, calibrator) -> np.ndarray:
    """Each ensemble member's class probabilities after the run's post-hoc calibration.

    So the members' spread (the prediction's interval) is on the same scale as the
    calibrated probability it surrounds. Regression outputs pass through unchanged.
    """
    if calibrator is None or per_member.shape[-1] < 2:
        return per_member
    calibrated = []
    for proba in per_member:
        scores = output_to_scores(np.log(np.clip(proba, np.finfo(np.float64).tiny, None)), True, calibrator)
        calibrated.append(np.column_stack([1 - scores, scores]) if scores.ndim == 1 else scores)
    return np.stack(calibrated)


def output_to_scores(outputs: np.ndarray, classification: bool, calibrator=None, target_scaling=None) -> np.ndarray:
    """Model outputs (logits) → binary: P(positive) (n,); multiclass: (n, k); regression: predictions (n,)."""
    if not classification:
        values = outputs[:, 0]
        if target_scaling:
            values = values * target_scaling["std"] + target_scaling["mean"]
        return values
    if calibrator is not None:
        proba = calibrator.transform(outputs if outputs.shape[1] > 2 else outputs[:, 1] - outputs[:, 0])
        proba = np.asarray(proba, dtype=np.float64)
        if proba.ndim == 1:
            return proba
    else:
        shifted = outputs - outputs.max(axis=1, keepdims=True)
        proba = np.exp(shifted)
        proba /= proba.sum(axis=1, keepdims=True)
    return proba[:, 1] if proba.shape[1] == 2 else proba


def _fit_calibrator(kind: str, val_logits: np.ndarray, y_val: np.ndarray, n_classes: int):
    if kind == "platt":
        if n_classes != 2:
            raise ConfigError("evaluation.calibration 'platt' is for two classes; use 'temperature' for several.")
        return PlattScaler().fit(val_logits[:, 1] - val_logits[:, 0], y_val)
    logits = val_logits[:, 1] - val_logits[:, 0] if n_classes == 2 else val_logits
    return TemperatureScaler().fit(logits, y_val)


def _fit_conformal(coverage, scores, y_val, y_test, problem, metrics, log):
    def matrix(s):
        return np.column_stack([1 - s, s]) if problem == "binary" else s

    try:
        conformal = ConformalClassifier(coverage=coverage).fit(matrix(scores["val"]), y_val)
    except DataError as exc:
        log(f"Conformal prediction sets skipped: {exc}")
        return None
    if "test" in scores:
        metrics["test"]["conformal"] = conformal.summary(matrix(scores["test"]), y_test)
        log(f"Conformal sets ({coverage:.0%} target) on test: coverage {metrics['test']['conformal']['coverage']:.3f}, "
            f"mean set size {metrics['test']['conformal']['mean_set_size']:.2f}.")
        low, high = coverage_chance_range(coverage, conformal.n_calibration_, len(y_test))
        if not low <= metrics["test"]["conformal"]["coverage"] <= high:
            log(f"Warning: that coverage is outside the {low:.3f} to {high:.3f} that chance allows for test cases like "
                "the validation cases; the test cases differ from them, so what was fitted on validation (calibration, "
                "threshold, sets) may not carry over. The model card says so.")
    return conformal


def prediction_frame(row_ids, truth, scores: np.ndarray, class_names, threshold, conformal, extra=None) -> pd.DataFrame:
    """One row per case: id, (true label), class probabilities, predicted class, (conformal set)."""
    columns: dict[str, Any] = {"row_id": row_ids}
    if truth is not None:
        columns["y_true"] = truth
    if class_names is None:
        columns["predicted"] = scores
    else:
        proba = np.column_stack([1 - scores, scores]) if scores.ndim == 1 else scores
        for k, name in enumerate(class_names):
            columns[f"prob_{name}"] = proba[:, k]
        if scores.ndim == 1:
            chosen = (scores >= threshold).astype(int)
        else:
            chosen = proba.argmax(axis=1)
        columns["predicted"] = np.asarray([class_names[k] for k in chosen], dtype=object)
        if conformal is not None:
            sets = conformal.predict_sets(proba)
            columns["prediction_set"] = ["|".join(n for n, keep in zip(class_names, row) if keep) for row in sets]
    for key, values in (extra or {}).items():
        columns.setdefault(key, values)
    return pd.DataFrame(columns)


def _training_frame(data: LoadedData, splits: PreparedSplits) -> pd.DataFrame | None:
    return data.features.iloc[splits.train] if data.kind == "table" else None


def _input_schema(data: LoadedData, preprocessor) -> dict[str, Any]:
    if data.kind == "table":
        return table_schema(data.features, preprocessor)
    return {"kind": "image", "input_shape": list(preprocessor.input_shape_)}
