"""Shared parts for the explain tests: one torch thread, a small network; runs and hand-made models come from
tests/explain_helpers.py."""

import pytest
import torch

from tests.explain_helpers import (PATCH, SIGNAL_COLUMNS, CoxRisk, TreatmentNet, one_thread,  # noqa: F401
                                   signal_table, write_png_folder)


@pytest.fixture(autouse=True)
def _one_thread():
    with one_thread():
        yield


@pytest.fixture
def small_mlp():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(4, 16), torch.nn.Tanh(), torch.nn.Linear(16, 3), torch.nn.Softmax(dim=1))
