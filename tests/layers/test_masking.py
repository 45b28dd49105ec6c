"""Keras's padding masks: Embedding(mask_zero=True) and Masking mark padding steps, the recurrent layers and
GlobalAveragePooling1D skip them (a padded sequence gives what the unpadded one gives), layers that keep the
steps pass the mask on, and the others say they drop it."""

import warnings

import numpy as np
import pytest
import torch

import meddl
from meddl import layers
from meddl.errors import MeddlError


@pytest.mark.parametrize("recurrent", [lambda: layers.LSTM(4), lambda: layers.GRU(4), lambda: layers.SimpleRNN(4),
                                       lambda: layers.LSTM(4, go_backwards=True),
                                       lambda: layers.Bidirectional(layers.GRU(3))])
def test_a_padded_sequence_gives_what_the_unpadded_one_gives(recurrent):
    meddl.set_seed(0)
    model = meddl.Sequential([layers.Input((6,), dtype="int32"), layers.Embedding(9, 5, mask_zero=True), recurrent()])
    padded = np.array([[3, 1, 4, 0, 0, 0], [0, 0, 2, 7, 1, 8]])  # post- and pre-padding
    both = model.predict(padded)
    short = meddl.Sequential([layers.Input((3,), dtype="int32"), layers.Embedding(9, 5), recurrent()])
    short.set_weights(model.get_weights())
    np.testing.assert_allclose(both[0], short.predict(np.array([[3, 1, 4]]))[0], rtol=1e-5, atol=1e-6)
    longer = meddl.Sequential([layers.Input((4,), dtype="int32"), layers.Embedding(9, 5), recurrent()])
    longer.set_weights(model.get_weights())
    np.testing.assert_allclose(both[1], longer.predict(np.array([[2, 7, 1, 8]]))[0], rtol=1e-5, atol=1e-6)


def test_masking_zeroes_padding_and_pooling_averages_real_steps_only():
    x = np.zeros((2, 5, 3), np.float32)
    x[0, :2], x[1, :4] = 1.0, 2.0
    x[1, 1] = [0.0, 0.0, 0.0]  # a step of zeros in the middle is padding too, as in Keras
    model = meddl.Sequential([layers.Input((5, 3)), layers.Masking(0.0), layers.Dense(3, use_bias=False,
                              kernel_initializer="ones"), layers.Dropout(0.5), layers.GlobalAveragePooling1D()])
    np.testing.assert_allclose(model.predict(x), [[3.0] * 3, [6.0] * 3])  # Dense and Dropout pass the mask on


def test_layers_that_cannot_keep_a_mask_say_so():
    model = meddl.Sequential([layers.Input((4,), dtype="int32"), layers.Embedding(5, 2, mask_zero=True),
                              layers.Flatten(), layers.Dense(1)])
    with pytest.warns(UserWarning, match="'flatten'.*does not support masking"):
        model.predict(np.array([[1, 2, 0, 0]]))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # said once per layer, not every batch
        model.predict(np.array([[1, 2, 0, 0]]))


def test_a_masked_sequence_model_trains_saves_and_reloads(tmp_path):
    rng = np.random.default_rng(0)
    lengths = rng.integers(1, 9, 200)
    codes = np.zeros((200, 8), np.int64)
    for row, length in enumerate(lengths):
        codes[row, :length] = rng.integers(1, 10, length)
    labels = np.array([int(7 in row[:n]) for row, n in zip(codes, lengths)])
    model = meddl.Sequential([layers.Input((8,), dtype="int32"), layers.Embedding(10, 8, mask_zero=True),
                              layers.LSTM(8), layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=meddl.optimizers.Adam(0.02), loss="binary_crossentropy", metrics=["accuracy"])
    history = model.fit(codes, labels, epochs=15, batch_size=32, verbose=0, seed=0)
    assert history.history["accuracy"][-1] > 0.9
    model.save(tmp_path / "model")
    reloaded = meddl.load_model(tmp_path / "model")
    assert reloaded.layers[0].mask_zero is True
    np.testing.assert_array_equal(reloaded.predict(codes), model.predict(codes))
    with pytest.raises(MeddlError, match="'mask_value' parameter of Masking must be a number"):
        layers.Masking("0")


def test_a_nested_model_passes_the_mask_to_its_layers_without_a_warning():
    inner = meddl.Sequential([layers.Input((6, 5)), layers.LSTM(3)])
    x = meddl.Input((6,), dtype="int32")
    outer = meddl.Model(x, inner(layers.Embedding(9, 5, mask_zero=True)(x)))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        padded = outer.predict(np.array([[3, 1, 4, 0, 0, 0]]))
    unpadded = meddl.Sequential([layers.Input((3,), dtype="int32"), layers.Embedding(9, 5), layers.LSTM(3)])
    unpadded.set_weights(outer.get_weights())
    np.testing.assert_allclose(padded, unpadded.predict(np.array([[3, 1, 4]])), rtol=1e-5, atol=1e-6)


def test_padding_steps_output_the_last_real_step_or_zero_and_bidirectional_layers_give_zero():
    x = np.zeros((1, 5, 2), np.float32)
    x[0, :3] = [[1.0, 2.0], [0.5, -1.0], [2.0, 0.3]]
    for zero, expected_padding in ((False, "last"), (True, "zero")):
        meddl.set_seed(0)
        model = meddl.Sequential([layers.Input((5, 2)), layers.Masking(),
                                  layers.GRU(3, return_sequences=True, zero_output_for_mask=zero)])
        outputs = model.predict(x)[0]
        padding = outputs[3:]
        np.testing.assert_allclose(padding, 0.0 if expected_padding == "zero" else np.stack([outputs[2]] * 2))
    bidirectional = meddl.Sequential([layers.Input((5, 2)), layers.Masking(),
                                      layers.Bidirectional(layers.LSTM(2, return_sequences=True))])
    assert np.all(bidirectional.predict(x)[0, 3:] == 0)  # Keras forces zeros for both directions' padding
    assert bidirectional.layers[1].forward_layer.get_config()["zero_output_for_mask"] is True


def test_a_residual_block_keeps_the_padding_mask():
    """Add's output keeps its inputs' mask (a step is real where it is real in any input), so a masked
    Transformer encoder's pooling averages the real visits only."""
    meddl.set_seed(0)

    def encoder(steps, masked):
        codes = layers.Input((steps,), dtype="int32")
        embedded = layers.Embedding(9, 4, mask_zero=masked)(codes)
        attended = layers.MultiHeadAttention(2, 3)(embedded, embedded)
        block = layers.LayerNormalization()(layers.Add()([embedded, attended]))
        return meddl.Model(codes, layers.GlobalAveragePooling1D()(block + layers.Dense(4)(block)))

    padded = encoder(6, True)
    short = encoder(3, False)
    short.set_weights(padded.get_weights())
    np.testing.assert_allclose(padded.predict(np.array([[3, 1, 4, 0, 0, 0]])), short.predict(np.array([[3, 1, 4]])),
                               rtol=1e-5, atol=1e-6)


def _masked(values, real):
    tensor = torch.tensor(values, dtype=torch.float32)
    tensor._keras_mask = torch.tensor(real)
    return tensor


def test_merges_combine_masks_and_leave_padded_steps_out_as_keras_does():
    a = _masked([[[1.0], [5.0], [0.0]]], [[True, True, False]])
    b = _masked([[[3.0], [0.0], [0.0]]], [[True, False, False]])
    maximum = layers.Maximum()([a, b])
    np.testing.assert_array_equal(maximum[0, :, 0], [3.0, 5.0, 0.0])  # b's padded 0 does not count at step 1
    assert maximum._keras_mask.tolist() == [[True, True, False]]  # real where real in any input
    np.testing.assert_array_equal(layers.Minimum()([a, b])[0, :, 0], [1.0, 5.0, 0.0])
    np.testing.assert_array_equal(layers.Multiply()([a, b])[0, :, 0], [3.0, 5.0, 0.0])  # padded: 1, then all-padded: 0
    joined = layers.Concatenate(axis=1)([a, b])
    assert joined.shape == (1, 6, 1) and joined._keras_mask.tolist() == [[True, True, False, True, False, False]]
    assert layers.Concatenate()([a, b])._keras_mask.tolist() == [[True, True, False]]
    with pytest.warns(UserWarning, match="only some carry a padding mask.*see the padding"):
        added = layers.Add()([a, torch.ones(1, 3, 1)])
    assert getattr(added, "_keras_mask", None) is None
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # joined along the steps, the unmasked input's steps are simply real
        assert layers.Concatenate(axis=1)([a, torch.ones(1, 2, 1)])._keras_mask.tolist() == [[True, True, False,
                                                                                               True, True]]
