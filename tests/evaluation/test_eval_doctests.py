"""The examples in the docstrings of meddl.evaluation run and give what they show."""

import doctest
import importlib

import pytest

MODULES = ("bootstrap", "calibration", "compare", "conformal", "decision_curve", "delong", "evaluate", "metrics",
           "ensemble", "subgroups")


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(f"meddl.evaluation.{name}")
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
