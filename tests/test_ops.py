"""meddl.ops: Keras 3's keras.ops on torch tensors, each function against NumPy's (whose semantics keras.ops
follows; bench/keras_parity.py checks them against Keras itself), in a custom layer, and its mistakes named."""

import numpy as np
import pytest
import scipy.special
import torch

import meddl
from meddl import layers, ops
from meddl.errors import MeddlError

rng = np.random.default_rng(0)
MATRIX = rng.normal(size=(3, 4)).astype("float32")
CUBE = rng.normal(size=(2, 3, 4)).astype("float32")
POSITIVE = np.abs(CUBE) + 0.1
CODES = np.array([[0, 2, 1], [3, 1, 4]])


def _gelu_tanh(x):
    return 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3)))


CASES = [  # (ops function, its arguments, NumPy's result)
    ("abs", (CUBE,), {}, np.abs(CUBE)), ("absolute", (CUBE,), {}, np.abs(CUBE)), ("add", (CUBE, 2.5), {}, CUBE + 2.5),
    ("all", (CUBE > -1,), {"axis": 1}, np.all(CUBE > -1, axis=1)),
    ("any", (CUBE > 1,), {"axis": (0, 2), "keepdims": True}, np.any(CUBE > 1, axis=(0, 2), keepdims=True)),
    ("arange", (2, 11, 3), {}, np.arange(2, 11, 3)), ("arange", (5,), {}, np.arange(5)),
    ("argmax", (CUBE,), {"axis": -1}, np.argmax(CUBE, -1)),
    ("argmin", (CUBE,), {"axis": 0, "keepdims": True}, np.argmin(CUBE, 0, keepdims=True)),
    ("argsort", (MATRIX,), {}, np.argsort(MATRIX, kind="stable")),
    ("broadcast_to", (MATRIX[:1], (3, 4)), {}, np.broadcast_to(MATRIX[:1], (3, 4))),
    ("cast", (CUBE, "int32"), {}, CUBE.astype("int32")), ("ceil", (CUBE,), {}, np.ceil(CUBE)),
    ("clip", (CUBE, -0.5, 0.5), {}, np.clip(CUBE, -0.5, 0.5)),
    ("concatenate", ([CUBE, CUBE],), {"axis": -1}, np.concatenate([CUBE, CUBE], -1)), ("cos", (CUBE,), {}, np.cos(CUBE)),
    ("cumprod", (MATRIX,), {"axis": 1}, np.cumprod(MATRIX, 1)), ("cumsum", (MATRIX,), {}, np.cumsum(MATRIX)),
    ("divide", (CUBE, POSITIVE), {}, CUBE / POSITIVE),
    ("einsum", ("ntf,nsf->nts", CUBE, CUBE), {}, np.einsum("ntf,nsf->nts", CUBE, CUBE)),
    ("equal", (CODES, 1), {}, CODES == 1), ("exp", (CUBE,), {}, np.exp(CUBE)),
    ("expand_dims", (MATRIX,), {"axis": (0, -1)}, np.expand_dims(MATRIX, (0, -1))),
    ("eye", (3, 4), {"k": 1}, np.eye(3, 4, 1)), ("flip", (CUBE,), {"axis": 1}, np.flip(CUBE, 1)),
    ("floor", (CUBE,), {}, np.floor(CUBE)), ("full", ((2, 3), 7.0), {}, np.full((2, 3), 7.0)),
    ("full_like", (MATRIX, 2.0), {}, np.full_like(MATRIX, 2.0)), ("gelu", (CUBE,), {}, _gelu_tanh(CUBE)),
    ("greater", (CUBE, 0.0), {}, CUBE > 0), ("greater_equal", (CODES, 2), {}, CODES >= 2),
    ("isfinite", (np.array([1.0, np.inf, np.nan]),), {}, [True, False, False]),
    ("isnan", (np.array([1.0, np.inf, np.nan]),), {}, [False, False, True]), ("less", (CUBE, MATRIX), {}, CUBE < MATRIX),
    ("less_equal", (CODES, 1), {}, CODES <= 1), ("linspace", (0.0, 1.0, 5), {}, np.linspace(0, 1, 5)),
    ("linspace", (0.0, 1.0, 4), {"endpoint": False}, np.linspace(0, 1, 4, endpoint=False)),
    ("log", (POSITIVE,), {}, np.log(POSITIVE)), ("log1p", (POSITIVE,), {}, np.log1p(POSITIVE)),
    ("log_softmax", (CUBE,), {"axis": 1}, scipy.special.log_softmax(CUBE, 1)),
    ("logical_and", (CUBE > 0, CUBE < 1), {}, (CUBE > 0) & (CUBE < 1)), ("logical_not", (CUBE > 0,), {}, CUBE <= 0),
    ("logical_or", (CUBE > 1, CUBE < -1), {}, (CUBE > 1) | (CUBE < -1)),
    ("logsumexp", (CUBE,), {"axis": (1, 2)}, scipy.special.logsumexp(CUBE, (1, 2))),
    ("matmul", (CUBE, MATRIX.T), {}, CUBE @ MATRIX.T), ("max", (CUBE,), {"axis": 1}, CUBE.max(1)),
    ("maximum", (CUBE, 0.0), {}, np.maximum(CUBE, 0)),
    ("mean", (CUBE,), {"axis": (0, 2), "keepdims": True}, CUBE.mean((0, 2), keepdims=True)),
    ("min", (CUBE,), {"keepdims": True}, CUBE.min(keepdims=True)), ("minimum", (CUBE, MATRIX), {}, np.minimum(CUBE, MATRIX)),
    ("moveaxis", (CUBE, 0, -1), {}, np.moveaxis(CUBE, 0, -1)), ("multiply", (CUBE, 3), {}, CUBE * 3),
    ("negative", (CUBE,), {}, -CUBE), ("not_equal", (CODES, 0), {}, CODES != 0),
    ("one_hot", (np.array([0, -1, 2]), 3), {}, [[1, 0, 0], [0, 0, 0], [0, 0, 1]]),
    ("one_hot", (CODES, 5), {"axis": 1}, np.moveaxis(np.eye(5)[CODES], -1, 1)), ("ones", ((2, 3),), {}, np.ones((2, 3))),
    ("ones_like", (CODES,), {}, np.ones_like(CODES)), ("power", (POSITIVE, 1.5), {}, POSITIVE ** 1.5),
    ("prod", (MATRIX,), {"axis": 0}, MATRIX.prod(0)), ("relu", (CUBE,), {}, np.maximum(CUBE, 0)),
    ("repeat", (MATRIX, 2), {"axis": 1}, np.repeat(MATRIX, 2, 1)), ("repeat", (CODES, 2), {}, np.repeat(CODES, 2)),
    ("reshape", (CUBE, (4, -1)), {}, CUBE.reshape(4, -1)), ("round", (np.array([0.5, 1.5, -2.5]),), {}, [0, 2, -2]),
    ("sigmoid", (CUBE,), {}, scipy.special.expit(CUBE)), ("sign", (CUBE,), {}, np.sign(CUBE)),
    ("silu", (CUBE,), {}, CUBE * scipy.special.expit(CUBE)), ("sin", (CUBE,), {}, np.sin(CUBE)),
    ("softmax", (CUBE,), {"axis": 1}, scipy.special.softmax(CUBE, 1)), ("softplus", (CUBE,), {}, np.logaddexp(0, CUBE)),
    ("sort", (CUBE,), {"axis": 1}, np.sort(CUBE, 1)), ("sqrt", (POSITIVE,), {}, np.sqrt(POSITIVE)),
    ("square", (CUBE,), {}, CUBE ** 2), ("squeeze", (MATRIX[:, None, :, None],), {"axis": 1}, MATRIX[:, :, None]),
    ("squeeze", (MATRIX[None],), {}, MATRIX), ("stack", ([MATRIX, MATRIX],), {"axis": 1}, np.stack([MATRIX] * 2, 1)),
    ("std", (CUBE,), {"axis": 1}, CUBE.std(1)), ("subtract", (1.0, CUBE), {}, 1 - CUBE),
    ("sum", (CUBE,), {"axis": (0, 1)}, CUBE.sum((0, 1))), ("swapaxes", (CUBE, 0, 2), {}, np.swapaxes(CUBE, 0, 2)),
    ("take", (MATRIX, np.array([[0, 2], [3, 1]])), {"axis": 1}, np.take(MATRIX, [[0, 2], [3, 1]], 1)),
    ("take", (MATRIX, [0, 5]), {}, np.take(MATRIX, [0, 5])),
    ("take_along_axis", (MATRIX, np.argsort(MATRIX, 1)), {"axis": 1}, np.sort(MATRIX, 1)),
    ("tanh", (CUBE,), {}, np.tanh(CUBE)), ("tile", (MATRIX, (2, 1)), {}, np.tile(MATRIX, (2, 1))),
    ("transpose", (CUBE,), {}, CUBE.T), ("transpose", (CUBE, (1, 0, 2)), {}, CUBE.transpose(1, 0, 2)),
    ("tril", (MATRIX,), {"k": -1}, np.tril(MATRIX, -1)), ("triu", (MATRIX,), {}, np.triu(MATRIX)),
    ("var", (CUBE,), {"axis": (1, 2)}, CUBE.var((1, 2))), ("where", (CUBE > 0, CUBE, 0.0), {}, np.where(CUBE > 0, CUBE, 0)),
    ("zeros", ((3,),), {}, np.zeros(3)), ("zeros_like", (CUBE,), {}, np.zeros_like(CUBE)),
]


@pytest.mark.parametrize("name, args, kwargs, expected", CASES, ids=[f"{case[0]}-{i}" for i, case in enumerate(CASES)])
def test_each_function_gives_numpys_result(name, args, kwargs, expected):
    got = getattr(ops, name)(*args, **kwargs)
    assert isinstance(got, torch.Tensor)
    np.testing.assert_allclose(got.numpy(), np.asarray(expected, dtype=float), rtol=1e-5, atol=1e-6)


def test_every_function_is_covered_and_the_rest_behave():
    covered = {case[0] for case in CASES} | {"convert_to_numpy", "convert_to_tensor", "dtype", "shape",
                                            "stop_gradient", "split", "top_k", "torch_dtype"}
    assert covered == set(ops.__all__)
    assert ops.shape(CUBE) == (2, 3, 4) and ops.dtype(CUBE) == "float32" and ops.dtype(CODES) == "int64"
    assert ops.convert_to_tensor(np.ones(2, "float64")).dtype == torch.float32  # Keras's floatx
    assert ops.torch_dtype("int32") == torch.int32 and ops.torch_dtype(np.dtype("float64")) == torch.float64
    np.testing.assert_array_equal(ops.convert_to_numpy(ops.convert_to_tensor([[1, 2]], "float64")), [[1.0, 2.0]])
    weight = torch.ones(3, requires_grad=True)
    assert not ops.stop_gradient(weight * 2).requires_grad
    parts = ops.split(CUBE, [1, 3], axis=2)
    assert [tuple(p.shape) for p in parts] == [(2, 3, 1), (2, 3, 2), (2, 3, 1)]
    assert [tuple(p.shape) for p in ops.split(CUBE, 2, axis=-1)] == [(2, 3, 2)] * 2
    values, indices = ops.top_k(MATRIX, 2)
    np.testing.assert_allclose(values.numpy(), -np.sort(-MATRIX, 1)[:, :2])
    np.testing.assert_array_equal(indices.numpy(), np.argsort(-MATRIX, 1)[:, :2])
    assert ops.gelu(1.0, approximate=False).item() == pytest.approx(0.8413447)  # exact, as asked
    assert ops.var([1.0, 2.0, 3.0, 4.0]).item() == pytest.approx(1.25)  # the population's, not torch's 1.667
    scores = ops.where(torch.tensor([True, False]), 1.0, 0.0)
    assert scores.dtype == torch.float32 and ops.where(torch.tensor([[True, False]]))[1].tolist() == [0]


def test_a_custom_layer_written_with_ops_trains_and_reloads(tmp_path):
    class TokenAndPosition(layers.Layer):  # keras.io's "Text classification with Transformer", as written there
        def __init__(self, steps, codes, width, **kwargs):
            super().__init__(**kwargs)
            self.steps, self.codes_count, self.width = steps, codes, width
            self.codes, self.positions = layers.Embedding(codes, width), layers.Embedding(steps, width)

        def call(self, x):
            positions = self.positions(ops.arange(start=0, stop=ops.shape(x)[-1], step=1))
            return self.codes(x) + positions

        def get_config(self):
            return {**super().get_config(), "steps": self.steps, "codes": self.codes_count, "width": self.width}

    x = rng.integers(1, 30, (200, 8))
    y = (x[:, 0] < 10).astype(int)
    inputs = layers.Input((8,), dtype="int32")
    features = layers.GlobalAveragePooling1D()(TokenAndPosition(8, 30, 8)(inputs))
    model = meddl.Model(inputs, layers.Dense(2, activation="softmax")(features))
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(x, y, epochs=2, verbose=0, seed=0)
    model.save(tmp_path / "model")
    reloaded = meddl.load_model(tmp_path / "model", custom_objects={"TokenAndPosition": TokenAndPosition})
    np.testing.assert_allclose(reloaded.predict(x), model.predict(x), rtol=1e-6)


def test_mistakes_are_named():
    with pytest.raises(MeddlError, match="real tensors, inside a layer's call.*symbolic tensor"):
        ops.mean(meddl.Input((3,)))
    with pytest.raises(MeddlError, match="code 4 is not below num_classes=4"):
        ops.one_hot(CODES, 4)
    with pytest.raises(MeddlError, match="axis 0 has size 3, not 1"):
        ops.squeeze(MATRIX, axis=0)
    with pytest.raises(MeddlError, match="size 4 cannot be split into 3 equal parts"):
        ops.split(MATRIX, 3, axis=1)
    with pytest.raises(MeddlError, match="dtype must be one of .*'float32'.*Got 'float'"):
        ops.cast(MATRIX, "float")
    with pytest.raises(MeddlError, match="holding objects"):
        ops.convert_to_tensor(np.array(["a", None], dtype=object))
