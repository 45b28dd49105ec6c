"""Weighted metric kernels: every metric for many resamples at once.

A resample is a row of non-negative weights over the samples (how many times
each sample was drawn). A weight matrix ``W`` of shape ``(b, n)`` gives ``b``
metric values in one pass, with no re-sorting: the data are sorted once in
``prepare_*`` and every count becomes a matrix product or a cumulative sum
over that fixed order. A point estimate is the same kernel with one row of
ones, so point values and bootstrap values can never disagree in definition.

Undefined values (e.g. AUROC on a resample with one class) come back as NaN;
the public modules turn NaN into ``None`` with a reason.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Probabilities are clipped to [EPS, 1 - EPS] before taking the logit.
LOGIT_EPS = 1e-6
#: Number of equal-width bins of the expected calibration error.
ECE_BINS = 10



def _divide(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num / den, NaN where den == 0 (an undefined ratio, not an error)."""
    out = np.full(np.broadcast(num, den).shape, np.nan)
    np.divide(num, den, out=out, where=den != 0)
    return out


def logit(p: np.ndarray) -> np.ndarray:
    """logit of probabilities clipped to [LOGIT_EPS, 1 - LOGIT_EPS]."""
    p = np.clip(p, LOGIT_EPS, 1 - LOGIT_EPS)
    return np.log(p) - np.log1p(-p)


# --------------------------------------------------------------------------- AUROC / AP


@dataclass
class RankData:
    """Positives and negatives sorted once by score, with their relative positions."""

    pos: np.ndarray        # indices of positives, ascending score
    neg: np.ndarray        # indices of negatives, ascending score
    neg_below: np.ndarray  # per sorted positive: number of negatives with a lower score
    neg_upto: np.ndarray   # per sorted positive: number of negatives with a lower or equal score
    pos_below: np.ndarray  # per sorted positive: number of positives with a lower score


def prepare_ranks(is_positive: np.ndarray, score: np.ndarray) -> RankData:
    pos = np.flatnonzero(is_positive)
    neg = np.flatnonzero(~is_positive)
    pos = pos[np.argsort(score[pos], kind="mergesort")]
    neg = neg[np.argsort(score[neg], kind="mergesort")]
    pos_scores, neg_scores = score[pos], score[neg]
    return RankData(
        pos=pos,
        neg=neg,
        neg_below=np.searchsorted(neg_scores, pos_scores, side="left"),
        neg_upto=np.searchsorted(neg_scores, pos_scores, side="right"),
        pos_below=np.searchsorted(pos_scores, pos_scores, side="left"),
    )


def _cumulative(weights: np.ndarray) -> np.ndarray:
    """Cumulative sums with a leading zero column: out[:, j] = sum of the first j columns."""
    out = np.zeros((weights.shape[0], weights.shape[1] + 1))
    np.cumsum(weights, axis=1, out=out[:, 1:])
    return out


def ranking_metrics(ranks: RankData, W: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weighted AUROC (ties count one half) and average precision for each row of W.

    AUROC = sum_i w_i (W_neg below s_i + W_neg tied with s_i / 2) / (P N) over positives i.
    AP    = sum_i w_i precision(s_i) / P, with precision at threshold s_i computed
            from the weighted counts of scores >= s_i (as scikit-learn does).
    """
    w_pos = W[:, ranks.pos]
    cum_neg = _cumulative(W[:, ranks.neg])
    cum_pos = _cumulative(w_pos)
    total_pos = cum_pos[:, -1]
    total_neg = cum_neg[:, -1]
    below = cum_neg[:, ranks.neg_below]
    tied = cum_neg[:, ranks.neg_upto] - below
    auroc = _divide(np.einsum("ij,ij->i", w_pos, below + 0.5 * tied), total_pos * total_neg)
    true_pos_at = total_pos[:, None] - cum_pos[:, ranks.pos_below]
    false_pos_at = total_neg[:, None] - below
    # Where w_pos == 0 the precision is irrelevant; 0 keeps 0 * NaN out of the sum.
    precision = np.divide(true_pos_at, true_pos_at + false_pos_at,
                          out=np.zeros_like(true_pos_at), where=w_pos > 0)
    auprc = _divide(np.einsum("ij,ij->i", w_pos, precision), total_pos)
    one_class = (total_pos == 0) | (total_neg == 0)
    auroc[one_class] = np.nan
    auprc[one_class] = np.nan  # with no negatives AP is trivially 1: not informative, so undefined
    return auroc, auprc


# --------------------------------------------------------------------------- calibration fits


def _sigmoid_of_negated(minus_eta: np.ndarray) -> np.ndarray:
    """1 / (1 + exp(minus_eta)) = sigmoid(eta), overwriting the input; about 3x faster than scipy's expit."""
    with np.errstate(over="ignore"):
        np.exp(minus_eta, out=minus_eta)
    minus_eta += 1.0
    return np.reciprocal(minus_eta, out=minus_eta)


def _newton(W: np.ndarray, x: np.ndarray, y: np.ndarray, start: np.ndarray, *, with_slope: bool,
            max_iter: int, tol: float) -> np.ndarray:
    """Safeguarded Newton for weighted logistic fits, vectorised over the rows of W.

    Model ``logit P(y=1) = a + b x`` (``with_slope``) or ``a + x`` (offset).
    A step that moves some linear predictor by more than 1 (on the logit scale)
    is accepted only if it does not increase the negative log-likelihood, and
    is halved otherwise (backtracking); extreme logits (probabilities of 0 or 1)
    therefore cannot make the iteration diverge, while the small steps near the
    optimum -- all steps of a warm-started bootstrap -- skip the extra
    likelihood pass. Newton converges quadratically: once a step is below
    ``tol`` (relative) the error left is of order ``tol**2``. Rows that do not
    converge (perfect separation sends the slope to infinity) or have one
    class are NaN.
    """
    b = W.shape[0]
    k = 2 if with_slope else 1
    base = np.tile(np.asarray(start, dtype=float)[:k], (b, 1))   # last accepted parameters
    base_nll = np.full(b, np.nan)                                  # NLL at base, computed only when needed
    direction = np.zeros((b, k))
    fraction = np.ones(b)
    result = np.full((b, k), np.nan)
    w_y, w_yx = W @ y, W @ (y * x)
    design = np.stack([np.ones_like(x), x, x * x], axis=1)
    x_max = float(np.max(np.abs(x))) if with_slope else 0.0

    def minus_linear_predictor(theta: np.ndarray) -> np.ndarray:
        # The negated predictor saves a pass in the sigmoid.
        minus_eta = np.multiply(-theta[:, 1:], x) if with_slope else np.tile(-x, (theta.shape[0], 1))
        minus_eta -= theta[:, :1]
        return minus_eta

    def nll(rows: np.ndarray, theta: np.ndarray, minus_eta: np.ndarray) -> np.ndarray:
        value = np.einsum("ij,ij->i", W[rows], np.logaddexp(0.0, -minus_eta)) - theta[:, 0] * w_y[rows]
        return value - (theta[:, 1] if with_slope else 1.0) * w_yx[rows]

    active = np.arange(b)
    for _ in range(max_iter):
        if active.size == 0:
            break
        theta = base[active] + fraction[active, None] * direction[active]
        minus_eta = minus_linear_predictor(theta)
        move = fraction[active] * (np.abs(direction[active, 0]) + (np.abs(direction[active, 1]) * x_max
                                                                   if with_slope else 0.0))
        accept = np.ones(active.size, dtype=bool)
        check = np.flatnonzero(move > 1.0)
        if check.size:
            rows = active[check]
            unknown = check[np.isnan(base_nll[rows])]
            if unknown.size:
                base_nll[active[unknown]] = nll(active[unknown], base[active[unknown]],
                                                minus_linear_predictor(base[active[unknown]]))
            trial = nll(rows, theta[check], minus_eta[check])
            accept[check] = trial <= base_nll[rows] + 1e-12 * np.abs(trial)
            base_nll[rows[accept[check]]] = trial[accept[check]]
        rejected = active[~accept]
        fraction[rejected] *= 0.5
        failed = rejected[fraction[rejected] < 1e-10]
        finished = np.zeros(active.size, dtype=bool)
        if accept.any():
            rows = active[accept]
            if accept.all():
                mu, Wr = _sigmoid_of_negated(minus_eta), (W if active.size == b else W[active])
            else:
                mu, Wr = _sigmoid_of_negated(minus_eta[accept]), W[rows]
            unchecked = np.ones(active.size, dtype=bool)
            unchecked[check] = False
            base_nll[active[accept & unchecked]] = np.nan  # moved without a likelihood pass
            # grad = W (y - mu) [1, x];  hess = W mu (1 - mu) [1, x, x^2], from two weighted products.
            weighted = np.multiply(Wr, mu)
            grad = np.column_stack([w_y[rows], w_yx[rows]])[:, :k] - weighted @ design[:, :k]
            hess = weighted @ design[:, :2 * k - 1]
            mu *= weighted
            hess -= mu @ design[:, :2 * k - 1]
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                if with_slope:
                    det = hess[:, 0] * hess[:, 2] - hess[:, 1] ** 2
                    step = np.column_stack([(hess[:, 2] * grad[:, 0] - hess[:, 1] * grad[:, 1]) / det,
                                            (hess[:, 0] * grad[:, 1] - hess[:, 1] * grad[:, 0]) / det])
                    singular = ~(det > 0)
                else:
                    step = grad / hess
                    singular = ~(hess[:, 0] > 0)
            accepted = theta[accept]
            base[rows], direction[rows], fraction[rows] = accepted, step, 1.0
            bad = singular | ~np.isfinite(step).all(axis=1)
            small = (np.abs(step) < tol * (1 + np.abs(accepted))).all(axis=1) & ~bad
            result[rows[small]] = accepted[small] + step[small]
            failed = np.concatenate([failed, rows[bad]])
            finished[np.flatnonzero(accept)[small]] = True
        active = active[~finished & ~np.isin(active, failed)]
    return result


def fit_recalibration(W: np.ndarray, x: np.ndarray, y: np.ndarray, *, start: tuple[float, float] = (0.0, 1.0),
                      max_iter: int = 100, tol: float = 1e-5) -> tuple[np.ndarray, np.ndarray]:
    """Weighted logistic fit of ``y ~ a + b x`` for each row of W; returns (intercept, slope) arrays."""
    result = _newton(W, x, y, np.asarray(start, dtype=float), with_slope=True, max_iter=max_iter, tol=tol)
    return result[:, 0], result[:, 1]


def fit_offset_intercept(W: np.ndarray, x: np.ndarray, y: np.ndarray, *, start: float = 0.0,
                         max_iter: int = 100, tol: float = 1e-5) -> np.ndarray:
    """Weighted logistic fit of ``y ~ a + offset(x)`` (slope fixed at 1) for each row of W."""
    return _newton(W, x, y, np.array([start], dtype=float), with_slope=False, max_iter=max_iter, tol=tol)[:, 0]


# --------------------------------------------------------------------------- binary


@dataclass
class BinaryData:
    y: np.ndarray
    score: np.ndarray
    threshold: float
    ranks: RankData
    columns: np.ndarray  # (n, m) per-sample quantities summed by one matrix product
    logit: np.ndarray
    start: tuple[float, float, float] = (0.0, 0.0, 1.0)  # intercept-in-the-large, recal. intercept, slope


def prepare_binary(y: np.ndarray, score: np.ndarray, threshold: float) -> BinaryData:
    yf = y.astype(float)
    predicted = (score >= threshold).astype(float)
    bins = np.minimum((score * ECE_BINS).astype(int), ECE_BINS - 1)
    onehot = np.zeros((y.size, ECE_BINS))
    onehot[np.arange(y.size), bins] = 1.0
    columns = np.column_stack([
        np.ones_like(yf), yf, yf * predicted, (1 - yf) * predicted, (score - yf) ** 2,
        onehot * score[:, None], onehot * yf[:, None],
    ])
    return BinaryData(y=yf, score=score, threshold=threshold, ranks=prepare_ranks(y == 1, score),
                      columns=columns, logit=logit(score))


def binary_kernel(data: BinaryData, W: np.ndarray) -> dict[str, np.ndarray]:
    """All binary metrics for each row of W (definitions in :mod:`meddl.evaluation.metrics`)."""
    sums = W @ data.columns
    n, pos, tp, fp, squared = (sums[:, i] for i in range(5))
    bin_prob = sums[:, 5:5 + ECE_BINS]
    bin_true = sums[:, 5 + ECE_BINS:]
    neg = n - pos
    fn = pos - tp
    tn = neg - fp
    sensitivity = _divide(tp, pos)
    specificity = _divide(tn, neg)
    auroc, auprc = ranking_metrics(data.ranks, W)
    both = (pos > 0) & (neg > 0)
    intercept_in_large = np.full(W.shape[0], np.nan)
    slope = np.full(W.shape[0], np.nan)
    if both.any():
        rows = W[both] if not both.all() else W
        intercept_in_large[both] = fit_offset_intercept(rows, data.logit, data.y, start=data.start[0])
        _, slope[both] = fit_recalibration(rows, data.logit, data.y, start=data.start[1:])
        # Complete separation sends the slope to +inf (-inf when reversed): an unbounded value, not a missing
        # one. Left out as undefined, these resamples -- the steepest ones -- would bias the interval low.
        slope[np.isnan(slope) & both & (auroc == 1.0)] = np.inf
        slope[np.isnan(slope) & both & (auroc == 0.0)] = -np.inf
    return {
        "auroc": auroc,
        "auprc": auprc,
        "accuracy": _divide(tp + tn, n),
        "balanced_accuracy": (sensitivity + specificity) / 2,
        "sensitivity": sensitivity,
        "specificity": specificity,
        "ppv": _divide(tp, tp + fp),
        "npv": _divide(tn, tn + fn),
        "f1": _divide(2 * tp, 2 * tp + fp + fn),
        "brier": _divide(squared, n),
        "ece": _divide(np.abs(bin_true - bin_prob).sum(axis=1), n),
        "calibration_slope": slope,
        "calibration_intercept": intercept_in_large,
    }


def binary_counts(data: BinaryData) -> dict[str, float]:
    """Unweighted counts used to explain undefined point metrics."""
    sums = data.columns[:, :4].sum(axis=0)
    return {"n": sums[0], "positives": sums[1], "predicted_positive": sums[2] + sums[3],
            "predicted_negative": sums[0] - sums[2] - sums[3]}


def warm_start(data: BinaryData, point: dict[str, np.ndarray]) -> None:
    """Start the bootstrap Newton fits from the full-sample estimates (fewer iterations)."""
    ones = np.ones((1, data.y.size))
    intercept, slope = fit_recalibration(ones, data.logit, data.y)
    offset = point["calibration_intercept"][0]
    if np.isfinite(intercept[0]) and np.isfinite(offset):
        data.start = (float(offset), float(intercept[0]), float(slope[0]))


# --------------------------------------------------------------------------- multiclass


@dataclass
class MulticlassData:
    y: np.ndarray
    proba: np.ndarray
    class_keys: list[str]
    ranks: list[RankData]
    columns: np.ndarray


def prepare_multiclass(y: np.ndarray, proba: np.ndarray, class_keys: list[str]) -> MulticlassData:
    k = proba.shape[1]
    predicted = proba.argmax(axis=1)
    correct = (predicted == y).astype(float)
    true_onehot = np.eye(k)[y]
    pred_onehot = np.eye(k)[predicted]
    columns = np.column_stack([np.ones(y.size), correct, true_onehot, pred_onehot, true_onehot * correct[:, None]])
    ranks = [prepare_ranks(y == c, proba[:, c]) for c in range(k)]
    return MulticlassData(y=y, proba=proba, class_keys=class_keys, ranks=ranks, columns=columns)


def multiclass_kernel(data: MulticlassData, W: np.ndarray) -> dict[str, np.ndarray]:
    """Accuracy, macro one-vs-rest AUROC, and per-class sensitivity / PPV for each row of W."""
    k = len(data.class_keys)
    sums = W @ data.columns
    n, correct = sums[:, 0], sums[:, 1]
    true_count = sums[:, 2:2 + k]
    pred_count = sums[:, 2 + k:2 + 2 * k]
    hits = sums[:, 2 + 2 * k:]
    per_class_auc = np.column_stack([ranking_metrics(r, W)[0] for r in data.ranks])
    out = {"accuracy": _divide(correct, n), "auroc": per_class_auc.mean(axis=1)}
    sensitivity = _divide(hits, true_count)
    ppv = _divide(hits, pred_count)
    out["balanced_accuracy"] = sensitivity.mean(axis=1)
    for c, key in enumerate(data.class_keys):
        out[f"sensitivity[{key}]"] = sensitivity[:, c]
    for c, key in enumerate(data.class_keys):
        out[f"ppv[{key}]"] = ppv[:, c]
    return out


# --------------------------------------------------------------------------- regression


@dataclass
class RegressionData:
    columns: np.ndarray


def prepare_regression(y: np.ndarray, pred: np.ndarray) -> RegressionData:
    error = pred - y
    return RegressionData(columns=np.column_stack([np.ones_like(y), error ** 2, np.abs(error), y, y * y]))


def regression_kernel(data: RegressionData, W: np.ndarray) -> dict[str, np.ndarray]:
    """MSE, MAE and R² for each row of W (R² is NaN when y_true is constant)."""
    sums = W @ data.columns
    n, squared, absolute, total, total_sq = (sums[:, i] for i in range(5))
    variation = total_sq - _divide(total * total, n)
    # A spread this small relative to the values is rounding noise, not variance.
    variation[variation <= 1e-12 * np.maximum(total_sq, 1e-300)] = 0.0
    return {"mse": _divide(squared, n), "mae": _divide(absolute, n), "r2": 1 - _divide(squared, variation)}
