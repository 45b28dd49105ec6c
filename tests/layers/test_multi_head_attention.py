"""MultiHeadAttention against its definition, with Keras's weight layout and call forms; symbolic x + y;
Keras's Transformer-encoder program for time series runs, saves and reloads."""

import numpy as np
import pytest
import torch

import meddl
from meddl import layers
from meddl.errors import MeddlError


def _reference(layer, query, value, key):
    """Head by head, as the Transformer paper writes it."""
    w = {name: getattr(layer, name).detach().numpy() for name in
         ("query_kernel", "query_bias", "key_kernel", "key_bias", "value_kernel", "value_bias", "output_kernel",
          "output_bias")}
    out = np.zeros((query.shape[0], query.shape[1], w["output_bias"].shape[0]))
    for h in range(layer.num_heads):
        q = query @ w["query_kernel"][:, h] + w["query_bias"][h]
        k = key @ w["key_kernel"][:, h] + w["key_bias"][h]
        v = value @ w["value_kernel"][:, h] + w["value_bias"][h]
        scores = q @ k.transpose(0, 2, 1) / np.sqrt(layer.key_dim)
        weights = np.exp(scores - scores.max(-1, keepdims=True))
        weights /= weights.sum(-1, keepdims=True)
        out += (weights @ v) @ w["output_kernel"][h]
    return out + w["output_bias"]


def test_attention_matches_its_definition_with_kerass_weight_shapes():
    rng = np.random.default_rng(0)
    query, value, key = (rng.normal(size=(2, t, 6)) for t in (4, 7, 7))
    layer = layers.MultiHeadAttention(num_heads=3, key_dim=5, value_dim=2, output_shape=8)
    layer.build_for([(4, 6), (7, 6), (7, 6)])
    for name in ("query_bias", "key_bias", "value_bias", "output_bias"):  # non-zero biases, to check them too
        torch.nn.init.normal_(getattr(layer, name))
    assert tuple(layer.query_kernel.shape) == (6, 3, 5) and tuple(layer.value_kernel.shape) == (6, 3, 2)
    assert tuple(layer.output_kernel.shape) == (3, 2, 8)
    as_tensor = lambda a: torch.tensor(a, dtype=torch.float32)  # noqa: E731
    out = layer(as_tensor(query), as_tensor(value), as_tensor(key)).detach().numpy()
    np.testing.assert_allclose(out, _reference(layer, query, value, key), rtol=1e-4, atol=1e-5)


def test_a_causal_mask_keeps_each_step_blind_to_later_ones():
    layer = layers.MultiHeadAttention(num_heads=2, key_dim=4)
    x = torch.randn(3, 6, 5)
    before = layer(x, x, use_causal_mask=True)
    changed = x.clone()
    changed[:, 4:] = torch.randn(3, 2, 5)
    after = layer(changed, changed, use_causal_mask=True)
    torch.testing.assert_close(after[:, :4], before[:, :4])
    assert not torch.allclose(after[:, 4:], before[:, 4:])
    with pytest.raises(MeddlError, match="call it the same way each time"):
        layer(x, x, use_causal_mask=False)


def transformer_encoder(inputs, head_size, num_heads, ff_dim, dropout=0.0):
    """Keras's 'Timeseries classification with a Transformer model' example, as written there."""
    x = layers.MultiHeadAttention(key_dim=head_size, num_heads=num_heads, dropout=dropout)(inputs, inputs)
    x = layers.Dropout(dropout)(x)
    x = layers.LayerNormalization(epsilon=1e-6)(x)
    res = x + inputs
    x = layers.Conv1D(filters=ff_dim, kernel_size=1, activation="relu")(res)
    x = layers.Dropout(dropout)(x)
    x = layers.Conv1D(filters=inputs.shape[-1], kernel_size=1)(x)
    x = layers.LayerNormalization(epsilon=1e-6)(x)
    return x + res


def test_kerass_time_series_transformer_trains_saves_and_reloads(tmp_path):
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 400)
    spikes = rng.integers(0, 30, 400)  # one beat at a random step of channel 0; its sign is the class
    x = rng.normal(scale=0.3, size=(400, 30, 8)).astype("float32")
    x[np.arange(400), spikes, 0] += np.where(y == 1, 4.0, -4.0)
    inputs = meddl.Input((30, 8))
    features = transformer_encoder(inputs, head_size=8, num_heads=2, ff_dim=8, dropout=0.1)
    pooled = layers.GlobalAveragePooling1D(data_format="channels_last")(features)
    model = meddl.Model(inputs, layers.Dense(2, activation="softmax")(layers.Dense(16, activation="relu")(pooled)))
    model.compile(loss="sparse_categorical_crossentropy", optimizer=meddl.optimizers.Adam(3e-3),
                  metrics=["sparse_categorical_accuracy"])
    assert model.layers[1].count_params() == 3 * (8 * 2 * 8 + 2 * 8) + 2 * 8 * 8 + 8
    model.fit(x[:300], y[:300], epochs=20, batch_size=16, verbose=0, seed=0)
    assert model.evaluate(x[300:], y[300:], return_dict=True)["sparse_categorical_accuracy"] > 0.85  # seeds 0-2: 0.93-0.99
    model.save(tmp_path / "model")
    np.testing.assert_array_equal(meddl.load_model(tmp_path / "model").predict(x), model.predict(x))


def test_symbolic_arithmetic_and_attention_mistakes_are_named():
    a, b = meddl.Input((4,)), meddl.Input((4,))
    model = meddl.Model([a, b], (a + b) * b - a)
    one, two = np.ones((2, 4), np.float32), np.full((2, 4), 2.0, np.float32)
    np.testing.assert_allclose(model.predict([one, two]), (one + two) * two - one)
    with pytest.raises(MeddlError, match="only with another symbolic tensor.*Rescaling"):
        a + 1.0
    x = meddl.Input((3, 4))
    with pytest.raises(MeddlError, match="'attention_mask' cannot be given in a functional model.*Embedding"):
        layers.MultiHeadAttention(2, 4)(x, x, attention_mask=meddl.Input((3, 3)))
    with pytest.raises(MeddlError, match="'num_heads' parameter of MultiHeadAttention must be a positive integer"):
        layers.MultiHeadAttention(0, 4)
    with pytest.raises(MeddlError, match="steps axis"):
        layers.MultiHeadAttention(2, 4, attention_axes=(1, 2))
