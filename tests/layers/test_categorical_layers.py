"""Discretization and CategoryEncoding: Keras's documented results, adapt's equal-count bins, and a model that
bands ages and encodes diagnosis codes inside itself, saved and reloaded."""

import numpy as np
import pytest
import torch

import meddl
from meddl import layers
from meddl.errors import DataError, MeddlError


def test_kerass_documented_examples():
    binned = layers.Discretization(bin_boundaries=[0.0, 1.0, 2.0])(torch.tensor([[-1.5, 1.0, 3.4, 0.5],
                                                                                   [0.0, 3.0, 1.3, 0.0]]))
    assert binned.tolist() == [[0, 2, 3, 1], [1, 3, 2, 1]]
    encoded = layers.CategoryEncoding(num_tokens=4)(torch.tensor([[0, 1], [0, 0], [1, 2], [3, 1]]))
    assert encoded.tolist() == [[1, 1, 0, 0], [1, 0, 0, 0], [0, 1, 1, 0], [0, 1, 0, 1]]
    one_hot = layers.CategoryEncoding(num_tokens=4, output_mode="one_hot")(torch.tensor([3, 2, 0, 1]))
    assert one_hot.tolist() == np.eye(4)[[3, 2, 0, 1]].tolist()
    column = meddl.Sequential([layers.Input((1,), dtype="int32"), layers.CategoryEncoding(4, output_mode="one_hot")])
    assert column.output_shape == (None, 4) and column.predict(np.array([[2], [0]])).tolist() == [[0, 0, 1, 0],
                                                                                                 [1, 0, 0, 0]]
    counts = layers.CategoryEncoding(num_tokens=3, output_mode="count")(torch.tensor([[0, 0, 2]]))
    assert counts.tolist() == [[2, 0, 1]]


def test_adapt_learns_equal_count_bins():
    ages = np.random.default_rng(0).uniform(20, 90, 1000)
    bands = layers.Discretization(num_bins=4)
    bands.adapt(ages)
    counts = np.bincount(bands(torch.tensor(ages)).numpy(), minlength=4)
    assert counts.tolist() == [250] * 4
    with pytest.raises(meddl.NotFittedError, match="call layer.adapt"):
        layers.Discretization(num_bins=3)(torch.tensor([1.0]))


def test_a_model_bands_ages_and_encodes_codes_inside_itself_and_reloads(tmp_path):
    rng = np.random.default_rng(0)
    ages = rng.uniform(20, 90, (200, 1)).astype("float32")
    codes = rng.integers(0, 12, (200, 3))
    y = ((ages[:, 0] > 65) | (codes == 7).any(axis=1)).astype("float32")
    age_in, code_in = meddl.Input((1,), name="age"), meddl.Input((3,), dtype="int32", name="codes")
    age_band = layers.CategoryEncoding(5)(layers.Discretization(bin_boundaries=[40.0, 55.0, 65.0, 80.0])(age_in))
    features = layers.Concatenate()([age_band, layers.CategoryEncoding(12)(code_in)])
    model = meddl.Model([age_in, code_in], layers.Dense(1, activation="sigmoid")(features))
    model.compile(optimizer=meddl.optimizers.Adam(0.05), loss="binary_crossentropy", metrics=["accuracy"])
    history = model.fit([ages, codes], y, epochs=40, verbose=0, seed=0)
    assert history.history["accuracy"][-1] > 0.95
    model.save(tmp_path / "model")
    np.testing.assert_array_equal(meddl.load_model(tmp_path / "model").predict([ages, codes]),
                                  model.predict([ages, codes]))


def test_mistakes_are_named():
    with pytest.raises(DataError, match=r"codes from 0 to 5; they must lie in \[0, 4\)"):
        layers.CategoryEncoding(4)(torch.tensor([[0, 5]]))
    with pytest.raises(MeddlError, match="either 'bin_boundaries' or 'num_bins'"):
        layers.Discretization()
    with pytest.raises(MeddlError, match="increasing order"):
        layers.Discretization(bin_boundaries=[2.0, 1.0])
    with pytest.raises(MeddlError, match="'output_mode' parameter of CategoryEncoding"):
        layers.CategoryEncoding(4, output_mode="tf_idf")
