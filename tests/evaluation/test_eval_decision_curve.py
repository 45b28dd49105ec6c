"""Decision curve analysis against a worked example from the reference implementation.

Worked example: R package dcurves (Sjoberg, Vickers et al., Memorial Sloan Kettering;
github.com/MSKCC-Epi-Bio/dcurves), ``dca(cancer ~ famhistory, data = df_cancer_dx)``.
Its output is stored in that repository as ``dcurves/data/r_dca_famhistory.csv``:
n = 750, prevalence 0.14, and family history treated as a test with true-positive
rate 0.032 and false-positive rate 0.121333 -- i.e. 24 cancers and 91 non-cancers
with a family history, 81 cancers and 554 non-cancers without. Net benefits below
are copied from that file.
"""

import numpy as np
import pytest

from meddl.errors import DataError
from meddl.evaluation import decision_curve, net_benefit

from .eval_helpers import make_binary

R_DCURVES_FAMHISTORY = {  # threshold: (treat all, family history)
    0.01: (0.13131313131313133, 0.030774410774410774),
    0.10: (0.04444444444444445, 0.018518518518518517),
    0.14: (0.0, 0.012248062015503873),
    0.20: (-0.07499999999999998, 0.0016666666666666635),
    0.21: (-0.08860759493670883, -2.531645569620253e-4),
    0.50: (-0.72, -0.08933333333333335),
    0.90: (-7.600000000000001, -1.0600000000000003),
}


def _famhistory_data():
    cancer = np.array([1] * 24 + [0] * 91 + [1] * 81 + [0] * 554)
    famhistory = np.array([1.0] * (24 + 91) + [0.0] * (81 + 554))
    return cancer, famhistory


def test_net_benefit_reproduces_the_r_dcurves_famhistory_example():
    cancer, famhistory = _famhistory_data()
    thresholds = sorted(R_DCURVES_FAMHISTORY)
    curve = decision_curve(cancer, famhistory, thresholds)
    for i, pt in enumerate(thresholds):
        treat_all, model = R_DCURVES_FAMHISTORY[pt]
        assert curve["treat_all"][i] == pytest.approx(treat_all, abs=1e-12)
        assert curve["model"][i] == pytest.approx(model, abs=1e-12)
        assert curve["treat_none"][i] == 0.0


def test_net_benefit_equals_the_formula_at_every_threshold():
    y, p = make_binary(300, seed=3, round_to=2)
    thresholds = np.array([0.05, 0.2, 0.37, 0.5, 0.8])
    expected = [((p >= t) & (y == 1)).sum() / y.size - ((p >= t) & (y == 0)).sum() / y.size * t / (1 - t)
                for t in thresholds]
    np.testing.assert_allclose(net_benefit(y, p, thresholds), expected, atol=1e-12)


def test_default_thresholds_are_one_to_ninety_nine_percent():
    y, p = make_binary(50)
    curve = decision_curve(y, p)
    assert curve["threshold"][0] == 0.01 and curve["threshold"][-1] == 0.99 and len(curve["threshold"]) == 99
    assert set(curve) == {"threshold", "model", "treat_all", "treat_none"}


@pytest.mark.parametrize("bad", [0.0, 1.0, -0.2])
def test_thresholds_must_lie_strictly_inside_zero_one(bad):
    with pytest.raises(DataError, match=r"thresholds must lie strictly between 0 and 1"):
        net_benefit([0, 1], [0.2, 0.8], [0.5, bad])
