"""Keras's initializer objects keep their arguments (and are saved with them); Keras's other activations."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import meddl
from meddl import initializers, layers
from meddl.errors import MeddlError


@pytest.mark.parametrize("initializer, check", [
    (initializers.RandomNormal(mean=1.0, stddev=0.01), lambda w: abs(w.mean() - 1) < 0.002 and abs(w.std() - 0.01) < 0.001),
    (initializers.RandomUniform(minval=0.5, maxval=0.6), lambda w: w.min() >= 0.5 and w.max() <= 0.6),
    (initializers.TruncatedNormal(stddev=0.1), lambda w: np.abs(w).max() <= 0.2 + 1e-6 and w.std() > 0.08),
    (initializers.Constant(0.3), lambda w: np.all(w == np.float32(0.3))),
    (initializers.VarianceScaling(scale=2.0, mode="fan_in", distribution="uniform"),
     lambda w: np.abs(w).max() <= np.sqrt(3 * 2.0 / 400) + 1e-6 and np.abs(w).max() > 0.9 * np.sqrt(6 / 400)),
    (initializers.Orthogonal(gain=2.0), lambda w: np.allclose(w.T @ w, 4 * np.eye(w.shape[1]), atol=1e-4)),
])
def test_initializer_objects_draw_with_their_arguments_and_are_saved(initializer, check, tmp_path):
    model = meddl.Sequential([layers.Input((400,)), layers.Dense(50, kernel_initializer=initializer)])
    kernel = model.get_weights()[0]
    assert kernel.shape == (400, 50) and check(kernel)
    model.compile(loss="mse")
    model.save(tmp_path / "model")
    again = meddl.load_model(tmp_path / "model").layers[0]
    assert again.kernel_initializer == model.layers[0].kernel_initializer
    assert isinstance(again.kernel_initializer, dict)  # the arguments travel, not only the name


def test_names_objects_and_kerass_config_dicts_agree():
    assert layers.Dense(3, kernel_initializer=initializers.HeNormal()).kernel_initializer == "he_normal"
    keras_config = {"class_name": "RandomNormal", "config": {"mean": 0.0, "stddev": 0.01, "seed": None}}
    assert layers.Dense(3, kernel_initializer=keras_config).kernel_initializer == \
        {"class_name": "random_normal", "config": {"mean": 0.0, "stddev": 0.01}}
    assert initializers.get("glorot_uniform").name == "glorot_uniform"
    meddl.set_seed(0)
    a = initializers.RandomNormal(stddev=2.0)((3, 4))
    meddl.set_seed(0)
    torch.testing.assert_close(a, torch.empty(3, 4).normal_(0, 2.0))


def test_initializer_mistakes_are_named():
    with pytest.raises(MeddlError, match=r"RandomNormal got unexpected argument\(s\) \['std'\]"):
        initializers.RandomNormal(std=0.1)
    with pytest.raises(MeddlError, match="does not take \\['scale'\\]"):
        layers.Dense(3, kernel_initializer={"class_name": "HeNormal", "config": {"scale": 3.0}})
    with pytest.raises(MeddlError, match="VarianceScaling needs mode"):
        layers.Dense(3, kernel_initializer=initializers.VarianceScaling(mode="fan_sum"))


@pytest.mark.parametrize("name, reference", [
    ("relu6", lambda x: torch.clamp(x, 0, 6)),
    ("mish", lambda x: x * torch.tanh(F.softplus(x))),
    ("log_softmax", lambda x: x - torch.logsumexp(x, dim=-1, keepdim=True)),
    ("hard_silu", lambda x: x * torch.clamp(x + 3, 0, 6) / 6),
    ("hard_swish", lambda x: x * torch.clamp(x + 3, 0, 6) / 6),
    ("log_sigmoid", lambda x: -F.softplus(-x)),
    ("hard_tanh", lambda x: torch.clamp(x, -1, 1)),
    ("celu", lambda x: torch.where(x > 0, x, torch.expm1(x))),
])
def test_kerass_other_activations_by_name_and_in_the_namespace(name, reference):
    x = torch.linspace(-8, 8, 33).reshape(3, 11)
    torch.testing.assert_close(meddl.activations.get(name)(x), reference(x))
    layer = layers.Dense(4, activation=name)
    assert layer.get_config()["activation"] == name
    assert meddl.activations.serialize(getattr(meddl.activations, name.replace("hard_swish", "hard_silu"))) in (
        name, "hard_silu")


def test_clear_session_starts_layer_names_again_and_backend_constants():
    meddl.backend.clear_session()
    first = meddl.Sequential([layers.Input((2,)), layers.Dense(1)])
    meddl.Sequential([layers.Input((2,)), layers.Dense(1)])
    meddl.backend.clear_session()
    again = meddl.Sequential([layers.Input((2,)), layers.Dense(1)])
    assert first.layers[0].name == again.layers[0].name == "dense"
    assert (meddl.backend.epsilon(), meddl.backend.floatx(), meddl.backend.image_data_format(),
            meddl.backend.backend()) == (1e-7, "float32", "channels_last", "torch")
