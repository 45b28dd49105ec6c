"""Overlays a clinician reads: what the 2026-12-02 image journey audit found."""

import numpy as np

from meddl.explain import overlay_figure


def test_an_all_zero_heat_map_is_labelled_as_no_evidence_not_drawn_as_a_plain_black_panel():
    labels = [t.get_text() for t in overlay_figure(np.ones((8, 8)), np.zeros((8, 8)), heatmap_label="grad cam").axes[0].texts]
    assert labels[1] == "grad cam: zero everywhere, no evidence found"
    labels = [t.get_text() for t in overlay_figure(np.ones((8, 8)), np.eye(8), heatmap_label="grad cam").axes[0].texts]
    assert labels[1] == "grad cam (0 to max)"
