"""Dot against its definition (and as a cosine similarity in a Siamese model); spatial dropout of whole channels
for signals and volumes."""

import numpy as np
import pytest
import torch

import meddl
from meddl import layers
from meddl.errors import MeddlError


@pytest.mark.parametrize("axes, shapes, reference", [
    (1, [(2, 5), (2, 5)], lambda x, y: (x * y).sum(1, keepdim=True)),
    ((2, 2), [(2, 3, 4), (2, 6, 4)], lambda x, y: x @ y.transpose(1, 2)),
    ((1, 1), [(2, 3, 4), (2, 3, 5)], lambda x, y: x.transpose(1, 2) @ y),
    ((2, 1), [(2, 3, 4), (2, 4, 5)], lambda x, y: x @ y),
])
def test_dot_is_the_batched_dot_product_along_its_axes(axes, shapes, reference):
    x, y = (torch.randn(shape) for shape in shapes)
    torch.testing.assert_close(layers.Dot(axes)([x, y]), reference(x, y))


def test_a_siamese_model_compares_two_patients_by_cosine_similarity_and_reloads(tmp_path):
    encoder = meddl.Sequential([layers.Input((6,)), layers.Dense(4)])
    first, second = meddl.Input((6,)), meddl.Input((6,))
    similarity = layers.Dot(axes=1, normalize=True)([encoder(first), encoder(second)])
    model = meddl.Model([first, second], similarity)
    x = np.random.default_rng(0).normal(size=(5, 6)).astype("float32")
    same = model.predict([x, x])
    np.testing.assert_allclose(same, np.ones((5, 1)), rtol=1e-5)  # a patient is most similar to themself
    model.compile(loss="mse")
    model.save(tmp_path / "model")
    np.testing.assert_array_equal(meddl.load_model(tmp_path / "model").predict([x, x[::-1]]),
                                  model.predict([x, x[::-1]]))
    with pytest.raises(MeddlError, match="multiplies axes of sizes 6 and 4"):
        meddl.Model([first, second], layers.Dot(axes=1)([first, encoder(second)]))


@pytest.mark.parametrize("layer, shape", [(layers.SpatialDropout1D(0.5), (64, 10, 8)),
                                          (layers.SpatialDropout3D(0.5), (64, 3, 3, 3, 8))])
def test_spatial_dropout_zeroes_whole_channels_in_training_only(layer, shape):
    x = torch.ones(shape)
    layer.eval()
    assert torch.equal(layer(x), x)
    layer.train()
    meddl.set_seed(0)
    out = layer(x).reshape(shape[0], -1, shape[-1])
    per_channel = out.amax(dim=1)
    assert torch.equal(out.amin(dim=1), per_channel)  # a channel is dropped everywhere or nowhere
    assert set(per_channel.unique().tolist()) == {0.0, 2.0}
