"""Survival figures: data URIs, the log-rank test, report sections."""

import base64

import numpy as np
import pytest

from meddl.errors import DataError
from meddl.survival import (
    calibration_table,
    plot_calibration,
    plot_km_by_risk_group,
    plot_survival_curves,
    survival_report_sections,
)

rng = np.random.default_rng(0)
RISK = rng.normal(size=240)
TIME = rng.exponential(np.exp(-RISK))
EVENT = (rng.random(240) < 0.8).astype(int)


def is_png_uri(uri):
    prefix = "data:image/png;base64,"
    return uri.startswith(prefix) and base64.b64decode(uri[len(prefix):])[:8] == b"\x89PNG\r\n\x1a\n"


def test_km_by_tertile_and_log_rank_equal_lifelines():
    from lifelines.statistics import multivariate_logrank_test

    uri, logrank = plot_km_by_risk_group(TIME, EVENT, RISK)
    assert is_png_uri(uri)
    tertile = np.searchsorted(np.sort(RISK), RISK, side="left") * 3 // 240
    expected = multivariate_logrank_test(TIME, tertile, EVENT)
    assert logrank["p_value"] == pytest.approx(expected.p_value, rel=1e-9)
    assert logrank["degrees_of_freedom"] == 2 and logrank["p_value"] < 1e-6


def test_calibration_and_example_curves_figures():
    tables = [calibration_table(TIME, EVENT, np.exp(-np.exp(RISK) * h), h, n_bins=5) for h in (0.5, 1.0)]
    assert is_png_uri(plot_calibration(tables))
    assert is_png_uri(plot_survival_curves(np.linspace(0, 3, 20), np.exp(-np.outer([0.5, 1, 2], np.linspace(0, 3, 20))),
                                           ["a", "b", "c"]))


def test_report_sections_are_self_contained_html():
    tables = [calibration_table(TIME, EVENT, np.exp(-np.exp(RISK) * 0.5), 0.5)]
    grid = np.linspace(0, 3, 20)
    sections = survival_report_sections(TIME, EVENT, RISK, calibration=tables, example_times=grid,
                                        example_survival=np.exp(-np.outer([0.5, 2.0], grid)),
                                        example_labels=["low <risk>", "high"])
    assert [title for title, _ in sections] == ["Survival by risk group", "Survival calibration",
                                                "Example survival curves"]
    for _, body in sections:
        assert 'src="data:image/png;base64,' in body and "http" not in body
    assert "Log-rank test" in sections[0][1]


def test_plot_errors():
    with pytest.raises(DataError, match="'risk' must have one value per sample \\(240\\); got 3"):
        plot_km_by_risk_group(TIME, EVENT, RISK[:3])
    with pytest.raises(DataError, match="at least one calibration table"):
        plot_calibration([])
    with pytest.raises(DataError, match="'survival' must have one column per time \\(3\\)"):
        plot_survival_curves([0, 1, 2], np.ones((2, 4)))
    with pytest.raises(DataError, match="'labels' must name each curve \\(2\\); got 1"):
        plot_survival_curves([0, 1, 2], np.ones((2, 3)), ["one"])
    with pytest.raises(DataError, match="'example_times' is required"):
        survival_report_sections(TIME, EVENT, RISK, example_survival=np.ones((1, 3)))
