"""DeLong's AUROC variance and paired test against published reference values.

Reference: R package pROC (Robin et al. 2011, BMC Bioinformatics 12:77) on its
bundled ``aSAH`` data set (Turck et al. 2010; 113 patients with aneurysmal
subarachnoid haemorrhage, outcome "Poor" = 1, 41 cases). Expected values are
copied from pROC's own test suite (github.com/xrobin/pROC):

* ``tests/testthat/test-var.R``: var(roc) with method "delong" for wfns, ndka, s100b;
* ``tests/testthat/test-ci.auc.R``: ci.auc(r.ndka) = (0.501244999271703, 0.611957994579946, 0.722670989888189);
* ``tests/testthat/test-roc.test.R``: roc.test(r.wfns, r.s100b) Z = 2.20898359144091, p = 0.0271757822291882,
  95% CI of the difference (0.0104061769564846, 0.174214419249478); roc.test(r.wfns, r.ndka)
  Z = 2.79777591868904, p = 0.00514557970691098, CI (0.0634011709339876, 0.3600405634833566).
  (roc.test(s100b, wfns) giving Z = -2.209, p = 0.02718 is also the example in pROC's manual.)

The aSAH columns below reproduce, value for value, the DeLong placements that
pROC stores in ``tests/testthat/helper-deLongPlacementsCpp-expected.R``
(e.g. theta = 0.731368563685637 for s100b), so they are the same data.
"""

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from meddl.errors import DataError
from meddl.evaluation import delong_auroc, delong_covariance, delong_test

from .eval_helpers import make_binary

ASAH_OUTCOME = np.array([
    0, 0, 0, 0, 1, 1, 0, 1, 0, 0, 1, 0, 1, 1, 0, 0, 1, 0, 1, 1, 1, 0, 1, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 1, 0, 0, 1, 1, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 1, 0,
    0, 0, 1, 0, 1, 0, 0, 1, 1, 1, 0, 1, 1, 0, 1, 1, 1, 1, 0, 0, 0, 1, 1, 0, 1, 0, 0, 0,
    0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 0, 0, 0, 1, 0, 0,
    0,
])  # fmt: skip
ASAH_S100B = np.array([
    0.13, 0.14, 0.1, 0.04, 0.13, 0.1, 0.47, 0.16, 0.18, 0.1, 0.12, 0.1, 0.44, 0.71,
    0.04, 0.08, 0.49, 0.04, 0.07, 0.33, 0.09, 0.09, 0.07, 0.11, 0.07, 0.17, 0.07, 0.11,
    0.13, 0.19, 0.05, 0.16, 0.41, 0.14, 0.34, 0.35, 0.48, 0.09, 0.96, 0.25, 0.5, 0.46,
    0.16, 0.07, 0.43, 0.45, 0.11, 0.08, 0.09, 0.86, 0.52, 0.08, 0.06, 0.13, 2.07, 0.1,
    0.14, 0.15, 0.07, 0.06, 0.77, 0.05, 0.09, 0.3, 0.03, 0.09, 0.04, 0.23, 0.7, 0.09,
    0.27, 0.71, 0.08, 0.26, 0.08, 0.16, 0.09, 0.13, 0.1, 0.08, 0.11, 0.33, 0.11, 0.28,
    0.07, 0.1, 0.32, 0.22, 0.07, 0.05, 0.24, 0.38, 0.1, 0.15, 0.08, 0.14, 0.1, 0.07,
    0.04, 0.19, 0.56, 0.14, 0.58, 0.32, 0.82, 0.74, 0.15, 0.47, 0.17, 0.44, 0.15, 0.5,
    0.48,
])  # fmt: skip
ASAH_WFNS = np.array([
    1, 1, 1, 1, 3, 2, 5, 4, 1, 2, 5, 2, 5, 5, 1, 2, 5, 2, 2, 5, 2, 1, 1, 1, 1, 2, 1, 2,
    1, 1, 3, 4, 2, 1, 4, 5, 4, 1, 4, 2, 5, 5, 1, 1, 2, 4, 1, 1, 2, 5, 5, 2, 1, 2, 5, 1,
    2, 2, 2, 1, 5, 1, 1, 2, 5, 2, 1, 4, 5, 2, 4, 4, 1, 4, 1, 2, 1, 4, 2, 1, 2, 3, 2, 4,
    2, 1, 4, 5, 1, 1, 5, 4, 2, 2, 1, 1, 1, 3, 1, 2, 5, 2, 2, 5, 5, 5, 2, 4, 4, 5, 1, 1,
    1,
], dtype=float)  # fmt: skip
ASAH_NDKA = np.array([
    3.01, 8.54, 8.09, 10.42, 17.4, 12.75, 6.0, 13.2, 15.54, 6.01, 15.96, 17.86, 5.18,
    8.9, 13.41, 20.75, 11.6, 16.11, 32.37, 54.82, 32.41, 49.94, 40.34, 9.47, 6.29,
    12.53, 6.54, 6.3, 80.3, 12.8, 9.8, 9.81, 9.85, 18.21, 5.03, 14.04, 21.93, 8.02,
    7.42, 8.38, 6.59, 9.63, 13.12, 7.96, 14.34, 41.43, 7.63, 7.06, 12.59, 13.56, 3.87,
    9.44, 7.66, 12.98, 419.19, 27.19, 22.27, 9.95, 21.22, 11.73, 10.4, 58.83, 6.39,
    11.09, 12.22, 13.67, 17.21, 22.63, 12.9, 9.7, 21.57, 8.23, 72.57, 15.54, 10.51,
    10.6, 14.57, 5.19, 9.63, 4.61, 21.48, 17.3, 12.71, 9.44, 11.07, 19.46, 10.83, 5.37,
    11.97, 7.75, 9.83, 10.55, 28.49, 8.53, 12.57, 12.9, 46.83, 11.68, 12.67, 9.01, 9.57,
    34.06, 11.72, 14.26, 47.61, 11.67, 24.58, 10.33, 13.87, 15.89, 22.43, 6.79, 13.45,
])  # fmt: skip


@pytest.mark.parametrize("score, auc, variance", [
    (ASAH_S100B, 0.731368563685637, 0.00266868245717244),
    (ASAH_WFNS, 0.823678861788618, 0.00146991470882363),
    (ASAH_NDKA, 0.611957994579946, 0.0031908105493913),
])
def test_auroc_and_variance_match_proc_on_asah(score, auc, variance):
    out = delong_auroc(ASAH_OUTCOME, score)
    assert out["value"] == pytest.approx(auc, rel=1e-12)
    assert out["variance"] == pytest.approx(variance, rel=1e-10)
    assert out["se"] == pytest.approx(np.sqrt(variance), rel=1e-10)


def test_ci_matches_proc_ci_auc_on_asah_ndka():
    lo, hi = delong_auroc(ASAH_OUTCOME, ASAH_NDKA)["ci95"]
    assert lo == pytest.approx(0.501244999271703, rel=1e-10)
    assert hi == pytest.approx(0.722670989888189, rel=1e-10)


@pytest.mark.parametrize("other, z, p, ci", [
    (ASAH_S100B, 2.20898359144091, 0.0271757822291882, (0.0104061769564846, 0.174214419249478)),
    (ASAH_NDKA, 2.79777591868904, 0.00514557970691098, (0.0634011709339876, 0.3600405634833566)),
])
def test_paired_test_matches_proc_roc_test_on_asah(other, z, p, ci):
    out = delong_test(ASAH_OUTCOME, ASAH_WFNS, other)
    assert out["z"] == pytest.approx(z, rel=1e-10)
    assert out["p_value"] == pytest.approx(p, rel=1e-9)
    assert out["ci95"] == pytest.approx(list(ci), rel=1e-9)
    assert out["difference"] == pytest.approx(out["auroc_a"] - out["auroc_b"])
    flipped = delong_test(ASAH_OUTCOME, other, ASAH_WFNS)
    assert flipped["z"] == pytest.approx(-z, rel=1e-10) and flipped["p_value"] == pytest.approx(p, rel=1e-9)


def _brute_force_delong(y, scores):
    """DeLong et al. (1988) written out: psi(X, Y) = 1 if X > Y, 1/2 if equal; O(m n)."""
    pos, neg = scores[:, y == 1], scores[:, y == 0]
    psi = (pos[:, :, None] > neg[:, None, :]) + 0.5 * (pos[:, :, None] == neg[:, None, :])
    v10, v01 = psi.mean(axis=2), psi.mean(axis=1)
    return v10.mean(axis=1), np.cov(v10) / pos.shape[1] + np.cov(v01) / neg.shape[1]


@pytest.mark.parametrize("seed", [0, 1])
def test_fast_midrank_version_equals_the_pairwise_definition_with_ties(seed):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, 150)
    a = np.round(0.7 * y + rng.normal(0, 1, 150), 1)
    b = np.round(0.5 * a + rng.normal(0, 0.8, 150), 1)
    scores = np.vstack([a, b, np.round(rng.normal(0, 1, 150))])
    aucs, cov = delong_covariance(y, scores)
    ref_aucs, ref_cov = _brute_force_delong(y, scores)
    np.testing.assert_allclose(aucs, ref_aucs, atol=1e-12)
    np.testing.assert_allclose(cov, ref_cov, rtol=1e-10, atol=1e-15)
    assert aucs[0] == pytest.approx(roc_auc_score(y, a), abs=1e-12)


def test_identical_scores_give_no_difference():
    y, p = make_binary(100)
    out = delong_test(y, p, p.copy())
    assert out["difference"] == 0 and out["z"] == 0 and out["p_value"] == 1.0


def test_delong_needs_two_cases_of_each_class():
    with pytest.raises(DataError, match="y_true has 1 positive and 3 negative cases; DeLong's AUROC variance needs "
                                        "at least 2 of each"):
        delong_auroc([1, 0, 0, 0], [0.9, 0.1, 0.2, 0.3])


def test_delong_rejects_non_finite_scores_and_mismatched_lengths():
    with pytest.raises(DataError, match=r"score_b contains 1 NaN or infinite values \(first at index 2\)"):
        delong_test([0, 1, 0, 1], [0.1, 0.2, 0.3, 0.4], [0.1, 0.2, np.nan, 0.4])
    with pytest.raises(DataError, match="y_true, score_a and score_b must have the same length; got 4, 3 and 4"):
        delong_test([0, 1, 0, 1], [0.1, 0.2, 0.3], [0.1, 0.2, 0.3, 0.4])
