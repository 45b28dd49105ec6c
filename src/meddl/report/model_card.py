"""The model card of a run, for every task: what it predicts, the model, the data, the evaluation, the limits.

The report (``report.html``) and the clinician's web page show the same card, so it is
built once here from the two JSON files every run writes (``run.json`` as a dict, and
``metrics.json``). Each field is filled for each task; a value the run did not record is
said in words ("not recorded"), never left as ``None``, ``?`` or a dash.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from meddl.evaluation import coverage_chance_range
from meddl.sections import metric_label

__all__ = ["ModelCard", "coverage_shift_note", "model_card", "recalibration_text"]

NOT_RECORDED = "not recorded"


@dataclass(frozen=True)
class ModelCard:
    """The fields of a model card, as plain sentences."""

    intended_use: str
    model: str
    data: str
    evaluation: str
    limitations: list[str] = field(default_factory=list)
    created: str = NOT_RECORDED

    def rows(self) -> list[tuple[str, str | list[str]]]:
        """``(field name, text or list of texts)`` in display order."""
        return [("Intended use", self.intended_use), ("Model", self.model), ("Data", self.data),
                ("How it was evaluated", self.evaluation), ("Known limitations", self.limitations),
                ("Created", self.created)]


def _quoted(name: object) -> str:
    return f"'{name}'"


def _survival_target(run: dict) -> str:
    horizons = ", ".join(f"{h:g}" for h in run.get("horizons") or [])
    return (f"the time until the event {_quoted(run.get('event', 'event'))} (time column "
            f"{_quoted(run.get('duration', 'duration'))}): a survival curve, median survival and a risk score for "
            f"each patient" + (f", with survival at {horizons}" if horizons else ""))


def _treatment_target(run: dict) -> str:
    label = run.get("label")
    outcome = f"the outcome {_quoted(label)}" if label else "the time to the event"
    direction = "higher is better" if run.get("higher_is_better", True) else "lower is better"
    return (f"{outcome} under each arm of the treatment {_quoted(run.get('treatment') or 'treatment')} "
            f"(treated or control; {direction}), the effect of treatment and a recommended arm")


def _class_or_value_target(run: dict) -> str:
    problem, label = run.get("problem"), run.get("label")
    classes = run.get("class_names") or []
    if problem == "regression":
        return f"the value of {_quoted(label)}" if label else "a continuous value"
    target = f"the outcome {_quoted(label)}" if label else "the class of an image"
    if problem == "binary" and len(classes) == 2:
        positive = run.get("positive_class") or classes[1]
        return f"{target}: the probability of {_quoted(positive)} (classes {', '.join(map(_quoted, classes))})"
    if classes:
        return f"{target}: one of {len(classes)} classes ({', '.join(map(_quoted, classes))}) with their probabilities"
    return target


def _model(run: dict) -> str:
    model = run.get("model") or {}
    text = _quoted(model.get("preset") or "custom")
    size = model.get("n_parameters")
    members = int(model.get("ensemble") or 1)
    if members > 1:
        text += f", an ensemble of {members} networks"
    text += f" ({size:,} trained parameters in all)" if isinstance(size, int) else " (parameter count not recorded)"
    if model.get("epochs_trained"):
        text += f"; {model['epochs_trained']} epochs"
    return text


def _data(run: dict) -> str:
    summary = run.get("data_summary") or {}
    source = str(summary.get("source") or NOT_RECORDED).strip("'")
    text = f"{source}: {summary['n_rows']:,} rows" if summary.get("n_rows") is not None else f"{source}"
    splits = summary.get("split_sizes") or {}
    if splits:
        text += "; splits " + ", ".join(f"{name} {size:,}" for name, size in splits.items())
    for key, noun in (("events", "events"), ("treated", "treated patients")):
        counts = summary.get(key) or {}
        if counts:
            text += f"; {noun} " + ", ".join(f"{name} {count:,}" for name, count in counts.items())
    return text + "."


def _resampling(entry: dict, unit: str = "rows") -> str:
    boot = entry.get("bootstrap") or {}
    if boot.get("n_resamples"):
        return f"percentile bootstrap 95% CIs ({boot['n_resamples']:,} resamples of {boot.get('resampled', unit)})"
    return "95% CIs (resampling not recorded)"


def _survival_evaluation(run: dict, test: dict, cases: str) -> str:
    text = (f"Held-out test split of {cases} ({test.get('n_events', 0):,} events): concordance (Harrell, Uno), "
            f"time-dependent AUROC, calibration and integrated Brier score with {_resampling(test, 'patients')}.")
    text += f" {test['reason'].capitalize()}." if test.get("reason") else ""
    recalibration = run.get("recalibration") or {}
    if recalibration.get("method") == "slope":
        fitted_on = (recalibration.get("fitted_on") or {}).get("description", "held-out rows")
        text += (f" Risks recalibrated: rescaled by {recalibration['factor']:.3g}, the calibration slope over follow-up "
                 f"on {fitted_on}; the test rows were not used.")
    site = run.get("site_recalibration")
    if site:
        text += f" {_survival_site_update_text(site)}"
    return text


def _survival_site_update_text(site: dict) -> str:
    """What ``meddl recalibrate`` did to a survival run's curves, in one sentence."""
    cases = site.get("cases") or {}
    n, events = cases.get("n"), cases.get("n_events")
    counted = (f"{n:,} local patients ({events:,} events)" if isinstance(n, int) and isinstance(events, int)
               else f"local patients (their number {NOT_RECORDED})")
    factor, slope = site.get("factor"), site.get("slope")
    if not (isinstance(factor, (int, float)) and isinstance(slope, (int, float))):
        update = f"an update ({site.get('update') or NOT_RECORDED})"
    elif site.get("update") == "baseline":
        update = f"a new baseline hazard (every cumulative hazard x {factor:.3g})"
    else:
        update = (f"a new baseline hazard and risk slope (cumulative hazard x {factor:.3g} at the site's mean risk, "
                  f"risk slope {slope:.3g})")
    return (f"Then updated for another site on {counted} from {cases.get('source') or 'a source ' + NOT_RECORDED}: "
            f"{update} (meddl recalibrate); the validation and test figures are of the updated curves on the run's "
            "own patients, not the site's, and the risk order (so the C-index) is as before.")


def _treatment_evaluation(run: dict, test: dict, cases: str) -> str:
    text = f"Held-out test split of {cases}: "
    if "ate_aipw" in test:
        text += ("average treatment effect (AIPW) and the mean outcome under the recommendations, treat-all and "
                 "treat-none, with 95% CIs from the influence function (normal approximation)")
    else:
        text += "survival of patients treated as recommended against the others"
    withheld = test.get("n_without_recommendation")
    if withheld is not None:
        text += f"; {withheld:,} patients got no recommendation (outside the data's support)"
    return text + "."


def _class_or_value_evaluation(run: dict, test: dict, cases: str) -> str:
    text = f"Held-out test split of {cases}; metrics with {_resampling(test)}."
    chosen = ((run.get("site_recalibration") or {}).get("previous") or {}).get("threshold")
    if test.get("threshold") is not None and isinstance(chosen, (int, float)):
        text += (f" Decision threshold {test['threshold']:.3g}: the {chosen:.3g} chosen on the validation split, "
                 "carried onto the updated probabilities, so every decision is as before.")
    elif test.get("threshold") is not None:
        text += f" Decision threshold {test['threshold']:.3g}, chosen on the validation split."
    recalibration = recalibration_text(run)
    return text + (f" {recalibration}" if recalibration else "")


def recalibration_text(run: dict) -> str:
    """One sentence on the post-hoc calibration map of a run (``run.json``) and the rows that fitted it; ``""``
    when the probabilities were not recalibrated. Runs before ``evaluation.calibration_rows`` fitted it on the
    validation split."""
    site = run.get("site_recalibration") or {}
    calibration = (site.get("previous") or {}).get("calibration") if site else run.get("calibration")
    text = ""
    if isinstance(calibration, dict) and calibration.get("type"):
        fitted_on = ((run.get("calibration_choice") or {}).get("fitted_on") or {}).get("description")
        text = (f"Probabilities recalibrated ({calibration['type']}), the map fitted on "
                f"{fitted_on or 'the validation split'}; the test rows were not used.")
    if site:
        text += f" {_site_update_text(site)}"
    return text.strip()


def _site_update_text(site: dict) -> str:
    """What ``meddl recalibrate`` did (``run.json``'s ``site_recalibration``), in one sentence."""
    cases = site.get("cases") or {}
    n = cases.get("n")
    update = _SITE_UPDATE_WORDS.get(site.get("update"), f"an update ({site.get('update') or NOT_RECORDED})")
    slope, intercept = site.get("slope"), site.get("intercept")
    fitted = (f", log-odds x {slope:.3g} {intercept:+.3g}" if isinstance(slope, (int, float))
              and isinstance(intercept, (int, float)) else "")
    counted = f"{n:,} local cases" if isinstance(n, int) else f"local cases (their number {NOT_RECORDED})"
    return (f"Then updated for another site on {counted} from {cases.get('source') or 'a source ' + NOT_RECORDED}: "
            f"{update}{fitted} (meddl recalibrate); "
            "the validation and test figures are of the updated probabilities, and the conformal sets were fitted "
            "on the local cases.")


#: ``site_recalibration.update`` in words
_SITE_UPDATE_WORDS = {"intercept": "a new intercept (recalibration in the large)",
                      "logistic": "a new intercept and slope (logistic recalibration)"}


#: per task, (what it predicts, how it was evaluated); diagnosis and regression share the default
_TASK_WORDING = {"survival": (_survival_target, _survival_evaluation),
                 "treatment": (_treatment_target, _treatment_evaluation)}
_DEFAULT_WORDING = (_class_or_value_target, _class_or_value_evaluation)


def _what_is_predicted(run: dict) -> str:
    return _TASK_WORDING.get(run.get("task"), _DEFAULT_WORDING)[0](run)


def _evaluation(run: dict, metrics: dict) -> str:
    test = metrics.get("test") if isinstance(metrics.get("test"), dict) else {}
    if not test:
        return "Not evaluated (no test metrics were saved)."
    n = test.get("n")
    cases = f"{n:,} cases" if isinstance(n, int) else "the held-out cases"
    return _TASK_WORDING.get(run.get("task"), _DEFAULT_WORDING)[1](run, test, cases)


_TASK_LIMITATIONS = {
    "survival": "Censoring is assumed to be unrelated to the risk of the event; survival beyond the longest follow-up "
                "is extrapolated.",
    "treatment": "Effects are estimated from the data as recorded: they are only unbiased if every reason that drove "
                 "treatment and affects the outcome is among the inputs (no unmeasured confounding).",
}


def _limitations(run: dict, metrics: dict) -> list[str]:
    notes = []
    test = metrics.get("test") if isinstance(metrics.get("test"), dict) else {}
    values = test.get("metrics") or {}
    n = test.get("n")
    if n is not None and n < 200:
        notes.append(f"The test split is small (n = {n}); confidence intervals are wide.")
    slope = (values.get("calibration_slope") or {}).get("value")
    if slope is not None and not 0.8 <= slope <= 1.25:
        notes.append(f"Calibration slope {slope:.2f}: predicted probabilities are "
                     f"{'too extreme' if slope < 1 else 'too moderate'}; recalibrate before using them as risks "
                     "(`meddl evaluate RUN --data CASES` says which update labelled local cases need; "
                     "`meddl recalibrate` applies it).")
    survival_slopes = _survival_slopes_off_1(values)
    if survival_slopes:
        notes.append("Calibration slope with a 95% CI excluding 1 at time " + "; ".join(survival_slopes) + " (below 1: "
                     "predicted survival too extreme, above 1: too moderate); check the calibration before using the "
                     "predicted survival as absolute risks.")
    intercept = values.get("calibration_intercept") or {}
    low, high = (intercept.get("ci95") or [None, None])[:2]
    if intercept.get("value") is not None and low is not None and high is not None and not low <= 0 <= high:
        notes.append(f"Calibration intercept {intercept['value']:.2f} (95% CI {low:.2f} to {high:.2f}): predicted "
                     f"probabilities are on average too {'high' if high < 0 else 'low'} for the test cases.")
    site = run.get("site_recalibration")
    fitted_on = "the local cases of the site update" if site else "the validation split"
    shift = coverage_shift_note(test, fitted_on=fitted_on)
    if shift:
        notes.append(shift)
    flagged = [f"{column} = {value}" for column, by_value in (test.get("subgroups") or {}).items()
               for value, entry in by_value.items() if entry.get("flagged")]
    if flagged:
        notes.append("Performance is lower in: " + ", ".join(flagged) + ".")
    undefined = [metric_label(name) for name, entry in values.items() if isinstance(entry, dict) and entry.get("value") is None]
    if undefined:
        notes.append("Not estimable on the test split: " + ", ".join(undefined) + ".")
    missingness = (run.get("data_summary") or {}).get("missingness") or {}
    heavy = [column for column, fraction in missingness.items() if fraction >= 0.2]
    if heavy:
        notes.append("Columns with 20% or more missing values: " + ", ".join(heavy) + ".")
    if run.get("task") in _TASK_LIMITATIONS:
        notes.append(_TASK_LIMITATIONS[run["task"]])
    if site:
        n = (site.get("cases") or {}).get("n")
        notes.append(f"Trained on data from another source and updated on {f'{n:,}' if isinstance(n, int) else 'some'} "
                     "local cases; check it on further local cases (meddl evaluate) before relying on its risks.")
    else:
        notes.append("Evaluated on data from the same source as the training data; performance at another site, "
                     "time period or population is unknown.")
    return notes


def _survival_slopes_off_1(values: dict) -> list[str]:
    """``"<horizon>: slope (low to high)"`` for each ``calibration_slope@<horizon>`` whose 95% CI excludes 1."""
    off = []
    for name, entry in values.items():
        if not name.startswith("calibration_slope@") or not isinstance(entry, dict):
            continue
        value, ci = entry.get("value"), entry.get("ci95")
        if value is not None and ci and not ci[0] <= 1 <= ci[1]:
            off.append(f"{name.split('@', 1)[1]}: {value:.2f} ({ci[0]:.2f} to {ci[1]:.2f})")
    return off


def coverage_shift_note(test: dict, fitted_on: str = "the validation split") -> str:
    """A sentence when the conformal sets' test coverage lies outside the range that chance allows around their
    target (:func:`meddl.evaluation.coverage_chance_range`); ``""`` otherwise.

    Split-conformal sets cover about their target on any cases exchangeable with the validation split, so a
    coverage far off it says the test cases differ from the validation cases: then the calibration map, the
    decision threshold and the sets, all fitted on validation, need not carry over (PneumoniaMNIST's official
    test split: 76% against 90%). ``fitted_on`` names the cases the sets were fitted on (a site-recalibrated
    run's local cases).

    Example:
        >>> coverage_shift_note({"n": 624, "conformal": {"target_coverage": 0.9, "coverage": 0.76,
        ...                                              "n_calibration": 524}})[:46]
        'Conformal sets covered 76% of the test cases, '
    """
    conformal = test.get("conformal") or {}
    target, coverage = conformal.get("target_coverage"), conformal.get("coverage")
    n_test, n_calibration = test.get("n"), conformal.get("n_calibration")
    if None in (target, coverage, n_test, n_calibration) or min(n_test, n_calibration) < 1:
        return ""
    low, high = coverage_chance_range(target, n_calibration, n_test)
    if low <= coverage <= high:
        return ""
    return (f"Conformal sets covered {coverage:.0%} of the test cases, against the {target:.0%} they were fitted "
            f"for on {fitted_on} (chance allows {low:.0%} to {high:.0%}):"
            f" the test cases differ from those cases, so what was fitted on them (calibration, threshold, sets) "
            f"may not carry over to the test cases.")


def model_card(run: dict, metrics: dict) -> ModelCard:
    """The model card of a run from its ``run.json`` and ``metrics.json`` contents (any task).

    Example:
        >>> card = model_card({"task": "regression", "problem": "regression", "label": "los"}, {})
        >>> card.intended_use.startswith("Research use: regression model predicting the value of 'los'")
        True
    """
    intended = run.get("intended_use") or (
        f"Research use: {run.get('task') or 'a'} model predicting {_what_is_predicted(run)}; to be studied and "
        f"validated before any clinical use.")
    created = run.get("created") or NOT_RECORDED
    if run.get("meddl_version"):
        created += f" with meddl {run['meddl_version']}"
    return ModelCard(intended_use=intended, model=_model(run), data=_data(run), evaluation=_evaluation(run, metrics),
                     limitations=_limitations(run, metrics), created=created)
