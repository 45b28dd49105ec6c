"""The attention layers' masks, as Keras applies them: padding masks from Embedding(mask_zero=True) or Masking
(a padded sequence gives what the unpadded one gives on its real steps), masks given by hand, causal masks,
the attention weights returned, Attention's concat scores; and their mistakes, named."""

import numpy as np
import pytest
import torch

import meddl
from meddl import layers
from meddl.errors import MeddlError

PADDED = np.array([[3, 1, 4, 0, 0, 0], [0, 0, 2, 7, 1, 8]])  # post- and pre-padding


def _visits_model(steps: int, attention, masked: bool = True):
    codes = meddl.Input((steps,), dtype="int32")
    embedded = layers.Embedding(9, 4, mask_zero=masked)(codes)
    attended = attention(embedded)
    return meddl.Model(codes, layers.GlobalAveragePooling1D()(attended))


@pytest.mark.parametrize("attention", [
    lambda: (lambda x: layers.MultiHeadAttention(2, 3)(x, x)),
    lambda: (lambda x: layers.MultiHeadAttention(2, 3, value_dim=2)(x, x, x)),
    lambda: (lambda x: layers.Attention(use_scale=True)([x, x])),
    lambda: (lambda x: layers.Attention(score_mode="concat")([x, x])),
    lambda: (lambda x: layers.AdditiveAttention()([x, x]))])
def test_a_padded_sequence_gives_what_the_unpadded_one_gives(attention):
    meddl.set_seed(0)
    make = attention()
    padded = _visits_model(6, make)
    both = padded.predict(PADDED)
    for row, codes in enumerate([[3, 1, 4], [2, 7, 1, 8]]):
        short = _visits_model(len(codes), make, masked=False)  # the same weights, on the real steps only
        short.set_weights(padded.get_weights())
        np.testing.assert_allclose(both[row], short.predict(np.array([codes]))[0], rtol=1e-5, atol=1e-6)
    unmasked = _visits_model(6, make, masked=False)
    unmasked.set_weights(padded.get_weights())
    assert not np.allclose(unmasked.predict(PADDED), both, atol=1e-3)  # the mask changed the result


def test_a_mask_given_by_hand_equals_the_padding_mask():
    meddl.set_seed(0)
    x = torch.randn(2, 6, 4)
    real = torch.tensor(PADDED != 0)
    layer = layers.MultiHeadAttention(2, 3)
    masked = x.clone()
    masked._keras_mask = real
    automatic = layer(masked, masked)
    torch.testing.assert_close(layer(x, x, query_mask=real, value_mask=real), automatic)
    pairs = real[:, :, None] & real[:, None, :]
    by_hand = layer(x, x, attention_mask=pairs.numpy().astype("int64"))  # 0/1 numbers, as Keras reads them
    torch.testing.assert_close(by_hand[real], automatic[real])  # padded query steps: Keras gives the bias there
    assert torch.equal(automatic._keras_mask, real)  # the query's mask is passed on
    attention = layers.Attention()
    torch.testing.assert_close(attention([x, x], mask=[real, real]), attention([masked, masked]))


def test_the_attention_weights_are_returned_and_respect_every_mask():
    x = torch.randn(2, 6, 4)
    x._keras_mask = torch.tensor(PADDED != 0)
    output, weights = layers.MultiHeadAttention(3, 2)(x, x, use_causal_mask=True, return_attention_scores=True)
    assert output.shape == (2, 6, 4) and weights.shape == (2, 3, 6, 6)
    real = torch.tensor(PADDED != 0)
    allowed = (real[:, :, None] & real[:, None, :] & torch.ones(6, 6, dtype=torch.bool).tril())[:, None]
    assert torch.all(weights[~allowed.expand_as(weights)] == 0)
    rows = weights.sum(-1)  # each real query step's weights sum to 1; a padded one's to 0
    torch.testing.assert_close(rows, real[:, None, :].expand_as(rows).float())
    output, weights = layers.Attention()([x, x], return_attention_scores=True)
    assert weights.shape == (2, 6, 6) and torch.all(weights[:, :, ~real[0]][0] < 1e-6)
    assert torch.all(output[~real] == 0)  # a padded query step gives zeros (Keras's Attention)


def test_concat_scores_match_their_definition():
    layer = layers.Attention(use_scale=True, score_mode="concat")
    query, value = torch.randn(2, 3, 4), torch.randn(2, 5, 4)
    layer([query, value])
    with torch.no_grad():
        layer.scale.fill_(0.7)
        layer.concat_score_weight.fill_(1.3)
    scores = 1.3 * torch.tanh(0.7 * (query[:, :, None] + value[:, None])).sum(-1)
    torch.testing.assert_close(layer([query, value]), torch.softmax(scores, -1) @ value)
    assert [tuple(w.shape) for w in layer.get_weights()] == [(), ()]  # scale, then the concat weight (Keras's order)


def test_attention_scores_as_a_second_output_train_save_and_reload(tmp_path):
    codes = meddl.Input((6,), dtype="int32")
    embedded = layers.Embedding(9, 4, mask_zero=True)(codes)
    attended, weights = layers.MultiHeadAttention(2, 3)(embedded, embedded, return_attention_scores=True)
    causal = layers.Attention()([attended, attended], use_causal_mask=True)
    probabilities = layers.Dense(2, activation="softmax")(layers.GlobalAveragePooling1D()(causal))
    model = meddl.Model(codes, probabilities)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(np.tile(PADDED, (8, 1)), np.tile([0, 1], 8), epochs=2, verbose=0, seed=0)
    model.save(tmp_path / "model")
    reloaded = meddl.load_model(tmp_path / "model")
    np.testing.assert_allclose(reloaded.predict(PADDED), model.predict(PADDED), rtol=1e-6)
    inspect = meddl.Model(codes, weights)  # which visits each visit drew on, per head
    assert inspect.predict(PADDED).shape == (2, 2, 6, 6)
    assert reloaded.get_layer(causal.layer.name).use_causal_mask


def test_mask_mistakes_are_named():
    x = torch.randn(2, 3, 4)
    layer = layers.MultiHeadAttention(2, 4)
    with pytest.raises(MeddlError, match=r"'attention_mask' must broadcast to shape \(2, 3, 3\).*got shape \(2, 4\)"):
        layer(x, x, attention_mask=np.ones((2, 4), bool))
    with pytest.raises(MeddlError, match="'value_mask' must be boolean.*complex"):
        layer(x, x, value_mask=np.ones((2, 3), complex))
    with pytest.raises(MeddlError, match="Attention's 'mask' must be a list \\[query_mask, value_mask\\]"):
        layers.Attention()([x, x], mask=np.ones((2, 3), bool))
    with pytest.raises(MeddlError, match=r"'mask\[1\]' must broadcast to shape \(2, 3\)"):
        layers.Attention()([x, x], mask=[None, np.ones((2, 5), bool)])
    symbolic = meddl.Input((3, 4))
    with pytest.raises(MeddlError, match="'mask' cannot be given in a functional model"):
        layers.Attention()([symbolic, symbolic], mask=[None, meddl.Input((3,))])
    with pytest.raises(MeddlError, match="'score_mode' parameter of Attention must be 'dot' or 'concat'"):
        layers.Attention(score_mode="general")
    attention = layers.Attention()
    attention([symbolic, symbolic], use_causal_mask=True)
    with pytest.raises(MeddlError, match="was built with use_causal_mask=True; call it the same way each time"):
        attention([symbolic, symbolic], use_causal_mask=False)
