"""Every layer meddl imports, against Keras itself: each Keras model below gets random weights, is saved as
``.keras``, loaded by ``meddl.load_model``, and both predict the same random input; then meddl writes the model
back as a ``.keras`` file, Keras loads that, and its predictions are compared too.

Keras is not a meddl dependency; run it as bench/keras_parity.py says:

    KERAS_BACKEND=torch PYTHONPATH=/tmp/keras_pkgs .venv/bin/python bench/keras_layer_parity.py

Prints one line per model (the largest difference, or why meddl refused the file); exits 1 on any difference
above 1e-4 (a refusal, clearly worded, is reported but is not a difference).
"""

import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "torch")

import numpy as np  # noqa: E402

import meddl  # noqa: E402

try:
    import keras  # noqa: E402
    from keras import layers  # noqa: E402
except ImportError:
    sys.exit("Keras is not installed: see bench/keras_parity.py's docstring for how to run this.")

rng = np.random.default_rng(0)
folder = Path(tempfile.mkdtemp())
differences, refusals, written_back = [], [], []


def compare(name, shape, *stack, integer_inputs=None, padded=False, model=None):
    model = model or keras.Sequential([keras.Input(shape, dtype="int32" if integer_inputs else "float32"), *stack])
    weights = []
    for weight in model.weights:
        values = rng.normal(0, 0.3, size=tuple(weight.shape))
        if "variance" in weight.path:
            values = rng.uniform(0.5, 1.5, size=tuple(weight.shape))
        weights.append(values.astype("float32"))
    model.set_weights(weights)
    x = (rng.integers(0, integer_inputs, size=(3, *shape)) if integer_inputs
         else rng.normal(size=(3, *shape)).astype("float32"))
    if padded:  # post-padding of different lengths (and one pre-padded row): what masks are for
        x[0, 3:], x[1, :2], x[2, 5:] = 0, 0, 0
    expected = keras.ops.convert_to_numpy(model.predict(x, verbose=0))
    path = folder / f"model_{len(list(folder.iterdir()))}.keras"
    model.save(path)
    try:
        got = meddl.load_model(path, device="cpu").predict(x)
    except meddl.MeddlError as error:
        refusals.append(name)
        print(f"refused {name:<58} {str(error)[:150]}")
        return
    difference = float(np.max(np.abs(got - expected))) if got.shape == expected.shape else float("inf")
    if difference > 1e-4:
        differences.append(name)
    # ... and back: meddl writes the model as a .keras file, which Keras loads and predicts with
    written = folder / f"meddl_{len(list(folder.iterdir()))}.keras"
    try:
        meddl.load_model(path, device="cpu").save(written)
        back = keras.ops.convert_to_numpy(keras.saving.load_model(written, compile=False).predict(x, verbose=0))
        back_difference = float(np.max(np.abs(back - expected))) if back.shape == expected.shape else float("inf")
    except meddl.MeddlError as error:
        back_difference, note = float("nan"), f"  (not written: {str(error)[:90]})"
    except Exception as error:  # Keras refusing meddl's file is a difference
        back_difference, note = float("inf"), f"  (Keras could not load it: {type(error).__name__}: {str(error)[:150]})"
    else:
        note = ""
    if not back_difference <= 1e-4 and not np.isnan(back_difference):
        written_back.append(name)
    print(f"{'ok     ' if difference <= 1e-4 else 'DIFF   '} {name:<58} {difference:.1e}   written back: "
          f"{back_difference:.1e}{note}")


compare("Dense(relu)", (6,), layers.Dense(4, activation="relu"))
compare("Dense on sequences", (5, 6), layers.Dense(4))
compare("Conv1D(causal, dilation 2)", (12, 3), layers.Conv1D(4, 3, padding="causal", dilation_rate=2))
compare("Conv1D(same, stride 2)", (11, 3), layers.Conv1D(4, 4, strides=2, padding="same"))
compare("Conv2D(same, stride 2, even kernel)", (9, 10, 2), layers.Conv2D(3, 4, strides=2, padding="same"))
compare("Conv2D(valid, dilation 2)", (9, 9, 2), layers.Conv2D(3, 3, dilation_rate=2))
compare("Conv2D(groups 2)", (8, 8, 4), layers.Conv2D(6, 3, groups=2))
compare("Conv3D(same, stride 2)", (7, 6, 5, 2), layers.Conv3D(3, 3, strides=2, padding="same"))
compare("DepthwiseConv2D(depth_multiplier 2, same)", (8, 8, 3), layers.DepthwiseConv2D(3, depth_multiplier=2, padding="same"))
compare("SeparableConv2D(stride 2)", (9, 9, 3), layers.SeparableConv2D(4, 3, strides=2, padding="same"))
compare("Conv2DTranspose(stride 2, same)", (5, 4, 3), layers.Conv2DTranspose(2, 3, strides=2, padding="same"))
compare("Conv2DTranspose(stride 2, valid)", (5, 4, 3), layers.Conv2DTranspose(2, 3, strides=2))
compare("Conv1DTranspose(stride 3, same)", (6, 2), layers.Conv1DTranspose(3, 4, strides=3, padding="same"))
compare("Conv3DTranspose(stride 2, same)", (3, 3, 3, 2), layers.Conv3DTranspose(2, 3, strides=2, padding="same"))
compare("MaxPooling2D(3, stride 2, same)", (9, 8, 2), layers.MaxPooling2D(3, strides=2, padding="same"))
# Uneven 'same' average pooling: TensorFlow (and meddl) leave the padding out of each mean; Keras's torch backend
# pads by repeating the edge values instead, so it is compared with TensorFlow's rule here.
image = rng.normal(size=(3, 9, 8, 2)).astype("float32")
padded = np.pad(image, ((0, 0), (1, 1), (0, 1), (0, 0)), constant_values=np.nan)  # TF: total 2 rows, 1 column
tensorflow_rule = np.zeros((3, 5, 4, 2), dtype="float32")
for i in range(5):
    for j in range(4):
        tensorflow_rule[:, i, j] = np.nanmean(padded[:, 2 * i:2 * i + 3, 2 * j:2 * j + 3], axis=(1, 2))
meddl_pooled = meddl.layers.AveragePooling2D(3, strides=2, padding="same")(image).numpy()
pooling_difference = float(np.max(np.abs(meddl_pooled - tensorflow_rule)))
if pooling_difference > 1e-5:
    differences.append("AveragePooling2D(3, stride 2, same)")
print(f"{'ok     ' if pooling_difference <= 1e-5 else 'DIFF   '} {'AveragePooling2D(3, stride 2, same), TF rule':<58} "
      f"{pooling_difference:.1e}")
compare("AveragePooling1D(2, same)", (7, 2), layers.AveragePooling1D(2, padding="same"))
compare("MaxPooling3D(2)", (5, 4, 4, 2), layers.MaxPooling3D(2))
compare("AveragePooling3D(2, same)", (5, 4, 3, 2), layers.AveragePooling3D(2, padding="same"))
compare("GlobalAveragePooling2D(keepdims)", (5, 4, 3), layers.GlobalAveragePooling2D(keepdims=True))
compare("GlobalMaxPooling1D", (6, 3), layers.GlobalMaxPooling1D())
compare("BatchNormalization (inference)", (5,), layers.BatchNormalization())
compare("BatchNormalization(center/scale off)", (4, 4, 3), layers.BatchNormalization(center=False, scale=False))
compare("LayerNormalization", (4, 6), layers.LayerNormalization())
compare("LayerNormalization(rms_scaling)", (4, 6), layers.LayerNormalization(rms_scaling=True))
compare("RMSNormalization", (4, 6), layers.RMSNormalization())
compare("GroupNormalization(groups=-1) + UnitNormalization", (4, 4, 6), layers.GroupNormalization(groups=-1),
        layers.UnitNormalization())
compare("LSTM(return_sequences)", (6, 3), layers.LSTM(4, return_sequences=True))
compare("LSTM(go_backwards)", (6, 3), layers.LSTM(4, go_backwards=True))
compare("GRU(reset_after)", (6, 3), layers.GRU(4))
compare("GRU(reset_after=False)", (6, 3), layers.GRU(4, reset_after=False))
compare("SimpleRNN(relu)", (6, 3), layers.SimpleRNN(4, activation="relu"))
compare("Bidirectional(LSTM, sum, sequences)", (6, 3), layers.Bidirectional(layers.LSTM(4, return_sequences=True), merge_mode="sum"))
compare("Bidirectional(GRU, concat)", (6, 3), layers.Bidirectional(layers.GRU(3)))
compare("Embedding + Flatten", (5,), layers.Embedding(10, 3), layers.Flatten(), integer_inputs=10)
compare("UpSampling2D(bilinear)", (4, 3, 2), layers.UpSampling2D(2, interpolation="bilinear"))
compare("UpSampling2D(nearest, (2, 3))", (4, 3, 2), layers.UpSampling2D((2, 3)))
compare("UpSampling1D(3)", (4, 2), layers.UpSampling1D(3))
compare("ZeroPadding2D + Cropping2D", (6, 6, 1), layers.ZeroPadding2D(((1, 2), (0, 1))), layers.Cropping2D(((2, 0), (1, 1))))
compare("Permute + Reshape + Flatten", (3, 4, 2), layers.Permute((3, 1, 2)), layers.Reshape((8, 3)), layers.Flatten())
compare("RepeatVector", (3,), layers.RepeatVector(4))
compare("PReLU(shared_axes)", (4, 4, 2), layers.PReLU(shared_axes=[1, 2]))
compare("LeakyReLU(0.1)", (5,), layers.LeakyReLU(negative_slope=0.1))
compare("ELU(0.5)", (5,), layers.ELU(alpha=0.5))
compare("ReLU(max 1, slope 0.1, threshold 0.2)", (5,), layers.ReLU(max_value=1.0, negative_slope=0.1, threshold=0.2))
compare("Softmax(axis 1)", (3, 4), layers.Softmax(axis=1))
compare("Activation(softplus)", (5,), layers.Activation("softplus"))
compare("Rescaling", (5,), layers.Rescaling(0.5, offset=-1))
compare("Normalization(mean, variance)", (3,), layers.Normalization(mean=[1.0, 2.0, 3.0], variance=[1.0, 4.0, 9.0]))
compare("Dropout / SpatialDropout2D / GaussianNoise (inference)", (4, 4, 2), layers.Dropout(0.5),
        layers.SpatialDropout2D(0.3), layers.GaussianNoise(0.2), layers.GaussianDropout(0.2))
compare("Identity", (3,), layers.Identity())
compare("CategoryEncoding(multi_hot) + Dense", (3,), layers.CategoryEncoding(10), layers.Dense(2), integer_inputs=10)
compare("CategoryEncoding(count) + Dense", (4,), layers.CategoryEncoding(6, output_mode="count"), layers.Dense(2),
        integer_inputs=6)
compare("CategoryEncoding(one_hot) of one code + Dense", (1,), layers.CategoryEncoding(5, output_mode="one_hot"),
        layers.Dense(2), integer_inputs=5)
compare("Discretization(bin_boundaries) + CategoryEncoding + Dense", (5,),
        layers.Discretization(bin_boundaries=[-1.0, 0.0, 0.5]), layers.CategoryEncoding(4), layers.Dense(2))
compare("Discretization(one_hot)", (3,), layers.Discretization(bin_boundaries=[-0.5, 0.5], output_mode="one_hot"))
def two_branches(axes, normalize, shape):
    """Dot of two learnt projections of one input (Keras's functional API, as a Siamese network writes it)."""
    inputs = keras.Input(shape)
    left, right = layers.Dense(4)(inputs), layers.Dense(4)(inputs)
    if axes == (2, 2):
        right = layers.Dense(4)(layers.Permute((1, 2))(inputs))
    return keras.Model(inputs, layers.Dot(axes=axes, normalize=normalize)([left, right]))


def attention(layer):
    """[query, value] from two projections of one sequence, attended by ``layer``."""
    inputs = keras.Input((5, 3))
    return keras.Model(inputs, layer([layers.Dense(4)(inputs), layers.Dense(4)(inputs)]))


compare("Attention(use_scale)", (5, 3), model=attention(layers.Attention(use_scale=True)))
compare("AdditiveAttention", (5, 3), model=attention(layers.AdditiveAttention()))
compare("AdditiveAttention(use_scale=False)", (5, 3), model=attention(layers.AdditiveAttention(use_scale=False)))
compare("Dot(axes=1) of two vectors", (5,), model=two_branches(1, False, (5,)))
compare("Dot(axes=1, normalize) (cosine similarity)", (5,), model=two_branches(1, True, (5,)))
compare("Dot(axes=(2, 2)) of two sequences", (3, 5), model=two_branches((2, 2), False, (3, 5)))
compare("Dot(axes=1) of two sequences", (3, 5), model=two_branches(1, False, (3, 5)))
compare("SpatialDropout1D / SpatialDropout3D (inference)", (4, 3), layers.SpatialDropout1D(0.5), layers.Reshape((2, 2, 1, 3)),
        layers.SpatialDropout3D(0.5))
compare("ConvLSTM2D(same)", (4, 6, 5, 2), layers.ConvLSTM2D(3, 3, padding="same"))
compare("ConvLSTM2D(valid, stride 2, sequences, even kernel)", (3, 7, 6, 2),
        layers.ConvLSTM2D(3, 2, strides=2, return_sequences=True))
compare("ConvLSTM1D(go_backwards, dilation 2)", (4, 9, 2), layers.ConvLSTM1D(2, 3, dilation_rate=2, go_backwards=True))
compare("ConvLSTM3D(same)", (2, 4, 4, 3, 1), layers.ConvLSTM3D(2, 2, padding="same"))
compare("Embedding(mask_zero) + LSTM", (7,), layers.Embedding(10, 4, mask_zero=True), layers.LSTM(3),
        integer_inputs=10, padded=True)
compare("Embedding(mask_zero) + Dropout + GRU(sequences) + Dense + GlobalAveragePooling1D", (7,),
        layers.Embedding(10, 4, mask_zero=True), layers.Dropout(0.3), layers.GRU(3, return_sequences=True),
        layers.Dense(2), layers.GlobalAveragePooling1D(), integer_inputs=10, padded=True)
compare("Masking + Bidirectional(LSTM)", (7, 3), layers.Masking(0.0), layers.Bidirectional(layers.LSTM(3)), padded=True)
compare("Masking + SimpleRNN(go_backwards)", (7, 3), layers.Masking(0.0), layers.SimpleRNN(3, go_backwards=True),
        padded=True)
compare("Masking + Bidirectional(GRU(sequences))", (7, 3), layers.Masking(0.0),
        layers.Bidirectional(layers.GRU(3, return_sequences=True)), padded=True)
compare("Masking + GRU(sequences, zero_output_for_mask)", (7, 3), layers.Masking(0.0),
        layers.GRU(3, return_sequences=True, zero_output_for_mask=True), padded=True)
compare("Masking + LSTM(sequences) + LSTM", (7, 3), layers.Masking(0.0), layers.LSTM(3, return_sequences=True),
        layers.LSTM(2), padded=True)


def masked_attention(make, *, cross=False, explicit_key=False, scores=False, **call):
    """Attention over padded visit codes: Embedding(mask_zero=True) marks the padding, which the attention layer
    turns into an attention mask, and GlobalAveragePooling1D averages the real steps of its (masked) output.
    ``cross``: the query is an unmasked embedding; ``scores``: the model's output is the attention weights."""
    inputs = keras.Input((7,), dtype="int32")
    value = layers.Embedding(10, 4, mask_zero=True)(inputs)
    query = layers.Embedding(10, 4)(inputs) if cross else value
    layer = make()
    if isinstance(layer, layers.MultiHeadAttention):
        key = [layers.Embedding(10, 4, mask_zero=True)(inputs)] if explicit_key else []
        out = layer(query, value, *key, return_attention_scores=scores, **call)
    else:
        out = layer([query, value], return_attention_scores=scores, **call)
    if scores:
        return keras.Model(inputs, out[1])
    return keras.Model(inputs, layers.GlobalAveragePooling1D()(out))


for label, make, options in [
        ("MultiHeadAttention self-attention", lambda: layers.MultiHeadAttention(2, 3), {}),
        ("MultiHeadAttention(causal)", lambda: layers.MultiHeadAttention(2, 3), {"use_causal_mask": True}),
        ("MultiHeadAttention cross (masked value, key)", lambda: layers.MultiHeadAttention(2, 3, value_dim=2),
         {"cross": True, "explicit_key": True}),
        ("MultiHeadAttention scores", lambda: layers.MultiHeadAttention(2, 3), {"scores": True}),
        ("MultiHeadAttention(causal) scores", lambda: layers.MultiHeadAttention(2, 3),
         {"scores": True, "use_causal_mask": True}),
        ("Attention(use_scale)", lambda: layers.Attention(use_scale=True), {}),
        ("Attention cross", lambda: layers.Attention(), {"cross": True}),
        ("Attention(causal) scores", lambda: layers.Attention(), {"use_causal_mask": True, "scores": True}),
        ("Attention(score_mode=concat, use_scale)", lambda: layers.Attention(use_scale=True, score_mode="concat"), {}),
        ("AdditiveAttention", lambda: layers.AdditiveAttention(), {}),
        ("AdditiveAttention scores", lambda: layers.AdditiveAttention(), {"scores": True})]:
    compare(f"Embedding(mask_zero) + {label}", (7,), model=masked_attention(make, **options), integer_inputs=10,
            padded=True)


def functional(shape, *stack, integer_inputs=False):
    """The stack as a functional model: Keras 3 writes the padding masks and each call's training mode into its
    graph, which a Sequential model's config does not have."""
    inputs = keras.Input(shape, dtype="int32" if integer_inputs else "float32")
    x = inputs
    for layer in stack:
        x = layer(x)
    return keras.Model(inputs, x)


compare("functional: Masking + LSTM(sequences) + Dense + GlobalAveragePooling1D", (7, 3),
        model=functional((7, 3), layers.Masking(0.0), layers.LSTM(3, return_sequences=True), layers.Dense(2),
                         layers.GlobalAveragePooling1D()), padded=True)
compare("functional: Embedding(mask_zero) + Bidirectional(GRU(sequences)) + LSTM", (7,),
        model=functional((7,), layers.Embedding(10, 4, mask_zero=True),
                         layers.Bidirectional(layers.GRU(3, return_sequences=True)), layers.LSTM(2),
                         integer_inputs=True), integer_inputs=10, padded=True)
compare("functional: augmentation, Dropout, GaussianNoise (predict runs none of them)", (8, 8, 1),
        model=functional((8, 8, 1), layers.RandomFlip(), layers.RandomRotation(0.2), layers.GaussianNoise(0.5),
                         layers.Flatten(), layers.Dropout(0.5), layers.Dense(2)))



def masked_encoder():
    """A Transformer encoder block over padded visit codes: Add's residual keeps the mask (Keras writes the
    joined mask into its graph as LogicalOr), so the pooling averages the real visits only."""
    inputs = keras.Input((7,), dtype="int32")
    embedded = layers.Embedding(10, 4, mask_zero=True)(inputs)
    block = layers.LayerNormalization()(layers.Add()([embedded, layers.MultiHeadAttention(2, 3)(embedded, embedded)]))
    block = layers.LayerNormalization()(layers.Add()([block, layers.Dense(4)(layers.Dense(8, activation="relu")(block))]))
    return keras.Model(inputs, layers.Dense(2)(layers.GlobalAveragePooling1D()(block)))


compare("functional: masked Transformer encoder (residual Add, LayerNormalization)", (7,), model=masked_encoder(),
        integer_inputs=10, padded=True)

def built_in_meddl(name, model, x):
    """A model built with meddl (not imported), saved as .keras, loaded by Keras: the same predictions, each output
    under its own name -- Keras matches weights to layers by its own layer order, so branches must come in that
    order."""
    path = folder / f"built_{len(list(folder.iterdir()))}.keras"
    model.save(path)
    expected = model.predict(x)
    try:
        got = keras.saving.load_model(path, compile=False).predict(x, verbose=0)
    except Exception as error:  # Keras refusing meddl's file is a difference
        written_back.append(name)
        print(f"DIFF    {name:<58} Keras could not load it: {type(error).__name__}: {str(error)[:150]}")
        return
    if isinstance(expected, dict):
        pairs = [(keras.ops.convert_to_numpy(got[key]), expected[key]) for key in sorted(expected)]
    elif isinstance(expected, list):
        pairs = [(keras.ops.convert_to_numpy(one), want) for one, want in zip(got, expected)]
    else:
        pairs = [(keras.ops.convert_to_numpy(got), expected)]
    difference = max(float(np.max(np.abs(one - want))) if one.shape == want.shape else float("inf")
                     for one, want in pairs)
    if difference > 1e-4:
        written_back.append(name)
    print(f"{'ok     ' if difference <= 1e-4 else 'DIFF   '} {name:<58} built in meddl, loaded by Keras: {difference:.1e}")


def meddl_models():
    m = meddl.layers
    yield "meddl MLP (Keras's first program)", meddl.Sequential(
        [m.Input((100,)), m.Dense(64, activation="relu"), m.Dense(64, activation="relu"),
         m.Dense(10, activation="softmax")]), rng.normal(size=(3, 100)).astype("float32")
    yield "meddl CNN (Keras's second program)", meddl.Sequential(
        [m.Input((28, 28, 1)), m.Conv2D(32, 3, activation="relu"), m.MaxPooling2D(2), m.Conv2D(64, 3, activation="relu"),
         m.MaxPooling2D(2), m.Flatten(), m.Dense(10, activation="softmax")]), rng.normal(size=(3, 28, 28, 1)).astype("float32")
    table, image = meddl.Input((5,), name="table"), meddl.Input((8, 8, 1), name="image")
    seen = m.Flatten()(m.Conv2D(2, 3, activation="relu")(image))
    joined = m.Concatenate()([m.Dense(4, activation="relu")(table), m.Dense(4, activation="relu")(seen)])
    yield "meddl two inputs, two heads at one depth (list outputs)", meddl.Model(
        [table, image], [m.Dense(3, activation="softmax")(joined), m.Dense(1)(joined)]), \
        [rng.normal(size=(3, 5)).astype("float32"), rng.normal(size=(3, 8, 8, 1)).astype("float32")]
    codes = meddl.Input((6,), dtype="int32")
    embedded = m.Embedding(12, 4, mask_zero=True)(codes)
    encoder = m.LayerNormalization()(embedded + m.MultiHeadAttention(2, 3)(embedded, embedded))
    pooled = m.GlobalAveragePooling1D()(m.Bidirectional(m.GRU(3, return_sequences=True))(encoder))
    visits = np.array([[3, 1, 4, 0, 0, 0], [0, 0, 2, 7, 1, 8], [5, 5, 5, 5, 5, 5]])
    yield "meddl masked visits encoder, dict outputs", meddl.Model(
        codes, {"stay": m.Dense(1)(m.Dense(5, activation="relu")(pooled)),
                "diagnosis": m.Dense(3, activation="softmax")(pooled)}), visits
    trunk = meddl.Sequential([m.Input((6,)), m.Dense(8, activation="relu"), m.BatchNormalization()], name="trunk")
    inputs = meddl.Input((6,))
    features = trunk(inputs)
    yield "meddl nested Sequential inside a functional model", meddl.Model(
        inputs, m.Dense(2)(m.Add()([features, m.Dense(8)(inputs)]))), rng.normal(size=(3, 6)).astype("float32")


for built_name, built_model, built_x in meddl_models():
    built_in_meddl(built_name, built_model, built_x)

print(f"\nKeras {keras.__version__}: {len(differences)} models differ{': ' + str(differences) if differences else ''}; "
      f"{len(refusals)} refused{': ' + str(refusals) if refusals else ''}; written back by meddl and loaded by Keras: "
      f"{len(written_back)} differ{': ' + str(written_back) if written_back else ''}.")
sys.exit(1 if differences or written_back else 0)
