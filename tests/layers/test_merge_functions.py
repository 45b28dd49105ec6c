"""Keras's lowercase merge functions (``layers.concatenate([a, b])``), which tutorials write for functional models."""

import numpy as np
import pytest

import meddl
from meddl import layers


@pytest.mark.parametrize("function, layer_class, expected", [
    (layers.add, layers.Add, lambda a, b: a + b),
    (layers.subtract, layers.Subtract, lambda a, b: a - b),
    (layers.multiply, layers.Multiply, lambda a, b: a * b),
    (layers.average, layers.Average, lambda a, b: (a + b) / 2),
    (layers.maximum, layers.Maximum, np.maximum),
    (layers.minimum, layers.Minimum, np.minimum),
    (layers.concatenate, layers.Concatenate, lambda a, b: np.concatenate([a, b], axis=-1)),
])
def test_each_merge_function_builds_its_layer_in_a_functional_model(function, layer_class, expected):
    left, right = meddl.Input((3,), name="left"), meddl.Input((3,), name="right")
    model = meddl.Model([left, right], function([left, right], name="joined"))
    assert isinstance(model.get_layer("joined"), layer_class)
    a, b = np.arange(6, dtype=np.float32).reshape(2, 3), np.full((2, 3), 2.5, dtype=np.float32)
    np.testing.assert_allclose(model.predict([a, b]), expected(a, b), rtol=1e-6)


def test_concatenate_and_dot_take_keras_s_axis_arguments():
    left, right = meddl.Input((2, 3)), meddl.Input((2, 3))
    assert layers.concatenate([left, right], axis=1).shape == (None, 4, 3)
    assert layers.dot([left, right], axes=2).shape == (None, 2, 2)
