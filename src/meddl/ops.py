"""Keras 3's ``keras.ops`` for the code of your own layers, losses and metrics: the NumPy-style functions
(``ops.mean(x, axis=1)``, ``ops.concatenate([a, b], axis=-1)``, ``ops.where``, ``ops.einsum`` ...) and the
neural-network ones (``ops.softmax``, ``ops.one_hot``, ``ops.top_k`` ...), on torch tensors, with Keras's
argument names and results (``var`` and ``std`` are the population's, as NumPy's; ``gelu`` is the tanh
approximation by default, as ``keras.ops.gelu``). Arrays and numbers are taken too; each function returns a
torch tensor (integer results are torch's int64, where Keras's are int32).

These run on real tensors, inside ``call``. On the symbolic tensors of a functional model (``meddl.Input``)
they are refused: there, use layers (``x + y``, ``x - y`` and ``x * y`` are layers).

Example:
    >>> import meddl
    >>> from meddl import layers, ops
    >>> class TokenAndPosition(layers.Layer):
    ...     def __init__(self, steps, codes, width):
    ...         super().__init__()
    ...         self.codes, self.positions = layers.Embedding(codes, width), layers.Embedding(steps, width)
    ...     def call(self, x):
    ...         return self.codes(x) + self.positions(ops.arange(0, ops.shape(x)[-1]))
"""

from __future__ import annotations

import builtins
from typing import Any, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from meddl.errors import MeddlError, missing_name
from meddl.layers.symbolic import SymbolicTensor

__all__ = [
    "abs", "absolute", "add", "all", "any", "arange", "argmax", "argmin", "argsort", "broadcast_to", "cast", "ceil",
    "clip", "concatenate", "convert_to_numpy", "convert_to_tensor", "cos", "cumprod", "cumsum", "divide", "dtype",
    "einsum", "equal", "exp", "expand_dims", "eye", "flip", "floor", "full", "full_like", "gelu", "greater",
    "greater_equal", "isfinite", "isnan", "less", "less_equal", "linspace", "log", "log1p", "log_softmax",
    "logical_and", "logical_not", "logical_or", "logsumexp", "matmul", "max", "maximum", "mean", "min", "minimum",
    "moveaxis", "multiply", "negative", "not_equal", "one_hot", "ones", "ones_like", "power", "prod", "relu",
    "repeat", "reshape", "round", "shape", "sigmoid", "sign", "silu", "sin", "softmax", "softplus", "sort", "split",
    "sqrt", "square", "squeeze", "stack", "std", "stop_gradient", "subtract", "sum", "swapaxes", "take",
    "take_along_axis", "tanh", "tile", "top_k", "torch_dtype", "transpose", "tril", "triu", "var", "where", "zeros",
    "zeros_like",
]

_DTYPES = {"float16": torch.float16, "bfloat16": torch.bfloat16, "float32": torch.float32,
           "float64": torch.float64, "int8": torch.int8, "uint8": torch.uint8, "int16": torch.int16,
           "int32": torch.int32, "int64": torch.int64, "bool": torch.bool}


def torch_dtype(dtype: Any) -> torch.dtype | None:
    """The torch dtype for a Keras dtype name (``"float32"``, ``"int64"``, ...), a NumPy or a torch dtype."""
    if dtype is None or isinstance(dtype, torch.dtype):
        return dtype
    name = getattr(dtype, "name", None) if not isinstance(dtype, str) else dtype  # a NumPy dtype has a name
    if name not in _DTYPES:
        raise MeddlError(f"dtype must be one of {sorted(_DTYPES)} (or a torch dtype). Got {dtype!r} instead.")
    return _DTYPES[name]


def convert_to_tensor(x: Any, dtype: Any = None) -> torch.Tensor:
    """``x`` (a tensor, array, number or nested list) as a torch tensor; floating-point arrays become float32
    (Keras's floatx) unless ``dtype`` says otherwise."""
    if isinstance(x, SymbolicTensor) or (isinstance(x, (list, tuple)) and x and
                                         builtins.any(isinstance(item, SymbolicTensor) for item in x)):
        raise MeddlError("meddl.ops works on real tensors, inside a layer's call (or a loss or metric of your own); "
                         f"it got a symbolic tensor {x!r}. In a functional model, use layers (x + y, x - y and "
                         "x * y are layers).")
    if isinstance(x, torch.Tensor):
        return x if dtype is None else x.to(torch_dtype(dtype))
    if isinstance(x, (list, tuple)) and x and builtins.any(isinstance(item, torch.Tensor) for item in x):
        stacked = torch.stack([convert_to_tensor(item) for item in x])
        return stacked if dtype is None else stacked.to(torch_dtype(dtype))
    array = np.asarray(x)
    if array.dtype == object:
        raise MeddlError(f"meddl.ops takes tensors, arrays or numbers. Got {type(x).__name__} holding objects.")
    tensor = torch.as_tensor(array)
    if dtype is not None:
        return tensor.to(torch_dtype(dtype))
    if tensor.is_floating_point() and tensor.dtype != torch.get_default_dtype():
        return tensor.to(torch.get_default_dtype())
    return tensor


_t = convert_to_tensor


def _pair(x1: Any, x2: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """Two operands; a Python number takes the other's dtype (as Keras's weak types)."""
    if isinstance(x1, torch.Tensor) and not isinstance(x2, torch.Tensor) and np.ndim(x2) == 0:
        return x1, torch.as_tensor(x2, dtype=x1.dtype if x1.is_floating_point() or isinstance(x2, (int, bool))
                                   else torch.get_default_dtype(), device=x1.device)
    if isinstance(x2, torch.Tensor) and not isinstance(x1, torch.Tensor) and np.ndim(x1) == 0:
        second, first = _pair(x2, x1)
        return first, second
    return _t(x1), _t(x2)


def _axes(axis: Any) -> Any:
    return tuple(axis) if isinstance(axis, (list, tuple)) else axis


def convert_to_numpy(x: Any) -> np.ndarray:
    return _t(x).detach().cpu().numpy()


def cast(x: Any, dtype: Any) -> torch.Tensor:
    return _t(x).to(torch_dtype(dtype))


def dtype(x: Any) -> str:
    """The Keras name of ``x``'s dtype (``"float32"``, ``"int64"``, ...)."""
    found = _t(x).dtype
    return next(name for name, value in _DTYPES.items() if value == found)


def shape(x: Any) -> tuple[int, ...]:
    return tuple(int(d) for d in _t(x).shape)


def stop_gradient(x: Any) -> torch.Tensor:
    return _t(x).detach()


# -- creation --------------------------------------------------------------------------------------------
def arange(start: Any, stop: Any = None, step: Any = 1, dtype: Any = None) -> torch.Tensor:
    if stop is None:
        start, stop = 0, start
    return torch.arange(start, stop, step, dtype=torch_dtype(dtype))


def linspace(start: float, stop: float, num: int = 50, endpoint: bool = True, dtype: Any = None) -> torch.Tensor:
    values = torch.linspace(start, stop, num + (0 if endpoint else 1))
    return (values if endpoint else values[:-1]).to(torch_dtype(dtype) or torch.get_default_dtype())


def _shape(shape: Any) -> tuple[int, ...]:
    return tuple(int(d) for d in shape) if isinstance(shape, (list, tuple)) else (int(shape),)


def zeros(shape: Any, dtype: Any = None) -> torch.Tensor:
    return torch.zeros(_shape(shape), dtype=torch_dtype(dtype) or torch.get_default_dtype())


def ones(shape: Any, dtype: Any = None) -> torch.Tensor:
    return torch.ones(_shape(shape), dtype=torch_dtype(dtype) or torch.get_default_dtype())


def full(shape: Any, fill_value: Any, dtype: Any = None) -> torch.Tensor:
    return torch.full(_shape(shape), fill_value, dtype=torch_dtype(dtype) or torch.get_default_dtype())


def eye(N: int, M: int | None = None, k: int = 0, dtype: Any = None) -> torch.Tensor:  # noqa: N803 - Keras's names
    return torch.from_numpy(np.eye(N, M, k)).to(torch_dtype(dtype) or torch.get_default_dtype())


def zeros_like(x: Any, dtype: Any = None) -> torch.Tensor:
    return torch.zeros_like(_t(x), dtype=torch_dtype(dtype))


def ones_like(x: Any, dtype: Any = None) -> torch.Tensor:
    return torch.ones_like(_t(x), dtype=torch_dtype(dtype))


def full_like(x: Any, fill_value: Any, dtype: Any = None) -> torch.Tensor:
    return torch.full_like(_t(x), fill_value, dtype=torch_dtype(dtype))


def tril(x: Any, k: int = 0) -> torch.Tensor:
    return torch.tril(_t(x), k)


def triu(x: Any, k: int = 0) -> torch.Tensor:
    return torch.triu(_t(x), k)


# -- shapes ----------------------------------------------------------------------------------------------
def reshape(x: Any, newshape: Any) -> torch.Tensor:
    return torch.reshape(_t(x), tuple(newshape) if isinstance(newshape, (list, tuple)) else (newshape,))


def transpose(x: Any, axes: Sequence[int] | None = None) -> torch.Tensor:
    x = _t(x)
    return x.permute(*(range(x.dim() - 1, -1, -1) if axes is None else axes))


def swapaxes(x: Any, axis1: int, axis2: int) -> torch.Tensor:
    return torch.swapaxes(_t(x), axis1, axis2)


def moveaxis(x: Any, source: Any, destination: Any) -> torch.Tensor:
    return torch.movedim(_t(x), source, destination)


def expand_dims(x: Any, axis: Any) -> torch.Tensor:
    x = _t(x)
    for position in sorted(a % (x.dim() + len(_as_tuple(axis))) for a in _as_tuple(axis)):
        x = x.unsqueeze(position)
    return x


def _as_tuple(axis: Any) -> tuple[int, ...]:
    return tuple(axis) if isinstance(axis, (list, tuple)) else (axis,)


def squeeze(x: Any, axis: Any = None) -> torch.Tensor:
    x = _t(x)
    if axis is None:
        return x.squeeze()
    for position in _as_tuple(axis):
        if x.shape[position] != 1:
            raise MeddlError(f"ops.squeeze: axis {position} has size {x.shape[position]}, not 1 (shape "
                             f"{tuple(x.shape)}).")
    return x.squeeze(_as_tuple(axis))


def concatenate(xs: Sequence[Any], axis: int = 0) -> torch.Tensor:
    return torch.cat([_t(x) for x in xs], dim=axis)


def stack(x: Sequence[Any], axis: int = 0) -> torch.Tensor:
    return torch.stack([_t(item) for item in x], dim=axis)


def split(x: Any, indices_or_sections: Any, axis: int = 0) -> list[torch.Tensor]:
    """NumPy's split: a number of equal parts (refused if they are not equal), or the indices to cut at."""
    x = _t(x)
    if isinstance(indices_or_sections, int):
        size = x.shape[axis]
        if size % indices_or_sections:
            raise MeddlError(f"ops.split: axis {axis} of size {size} cannot be split into {indices_or_sections} "
                             "equal parts.")
        return list(torch.split(x, size // indices_or_sections, dim=axis))
    cuts = [0, *indices_or_sections, x.shape[axis]]
    return [x.narrow(axis, start, builtins.max(0, end - start)) for start, end in zip(cuts[:-1], cuts[1:])]


def tile(x: Any, repeats: Any) -> torch.Tensor:
    return torch.tile(_t(x), tuple(_as_tuple(repeats)))


def repeat(x: Any, repeats: Any, axis: int | None = None) -> torch.Tensor:
    x = _t(x)
    return torch.repeat_interleave(x.reshape(-1) if axis is None else x, _t(repeats) if np.ndim(repeats) else
                                   int(repeats), dim=0 if axis is None else axis)


def flip(x: Any, axis: Any = None) -> torch.Tensor:
    x = _t(x)
    return torch.flip(x, tuple(range(x.dim())) if axis is None else _as_tuple(axis))


def broadcast_to(x: Any, shape: Sequence[int]) -> torch.Tensor:
    return torch.broadcast_to(_t(x), tuple(shape))


def take(x: Any, indices: Any, axis: int | None = None) -> torch.Tensor:
    x, indices = _t(x), _t(indices).long()
    if axis is None:
        return x.reshape(-1)[indices]
    moved = torch.index_select(x, axis, indices.reshape(-1))
    return moved.reshape(*x.shape[:axis % x.dim()], *indices.shape, *x.shape[axis % x.dim() + 1:])


def take_along_axis(x: Any, indices: Any, axis: int | None = None) -> torch.Tensor:
    x, indices = _t(x), _t(indices).long()
    if axis is None:
        return x.reshape(-1)[indices.reshape(-1)]
    return torch.take_along_dim(x, indices, dim=axis)


# -- element-wise ----------------------------------------------------------------------------------------
def add(x1: Any, x2: Any) -> torch.Tensor:
    a, b = _pair(x1, x2)
    return a + b


def subtract(x1: Any, x2: Any) -> torch.Tensor:
    a, b = _pair(x1, x2)
    return a - b


def multiply(x1: Any, x2: Any) -> torch.Tensor:
    a, b = _pair(x1, x2)
    return a * b


def divide(x1: Any, x2: Any) -> torch.Tensor:
    a, b = _pair(x1, x2)
    return torch.true_divide(a, b)


def power(x1: Any, x2: Any) -> torch.Tensor:
    a, b = _pair(x1, x2)
    return torch.pow(a, b)


def maximum(x1: Any, x2: Any) -> torch.Tensor:
    a, b = _pair(x1, x2)
    return torch.maximum(a, b.to(a.dtype) if a.dtype != b.dtype else b)


def minimum(x1: Any, x2: Any) -> torch.Tensor:
    a, b = _pair(x1, x2)
    return torch.minimum(a, b.to(a.dtype) if a.dtype != b.dtype else b)


def where(condition: Any, x1: Any = None, x2: Any = None) -> Any:
    """``x1`` where ``condition`` holds, ``x2`` elsewhere; with only ``condition``, the indices where it holds."""
    condition = _t(condition).bool()
    if x1 is None and x2 is None:
        return torch.where(condition)
    a, b = _pair(x1, x2)
    return torch.where(condition, a, b)


def clip(x: Any, x_min: Any, x_max: Any) -> torch.Tensor:
    return torch.clamp(_t(x), x_min, x_max)


def _float(x: Any) -> torch.Tensor:
    x = _t(x)
    return x if x.is_floating_point() else x.to(torch.get_default_dtype())


def abs(x: Any) -> torch.Tensor:  # noqa: A001 - Keras's name
    return torch.abs(_t(x))


absolute = abs


def negative(x: Any) -> torch.Tensor:
    return torch.neg(_t(x))


def sign(x: Any) -> torch.Tensor:
    return torch.sign(_t(x))


def square(x: Any) -> torch.Tensor:
    return torch.square(_t(x))


def sqrt(x: Any) -> torch.Tensor:
    return torch.sqrt(_float(x))


def exp(x: Any) -> torch.Tensor:
    return torch.exp(_float(x))


def log(x: Any) -> torch.Tensor:
    return torch.log(_float(x))


def log1p(x: Any) -> torch.Tensor:
    return torch.log1p(_float(x))


def sin(x: Any) -> torch.Tensor:
    return torch.sin(_float(x))


def cos(x: Any) -> torch.Tensor:
    return torch.cos(_float(x))


def tanh(x: Any) -> torch.Tensor:
    return torch.tanh(_float(x))


def floor(x: Any) -> torch.Tensor:
    return torch.floor(_float(x))


def ceil(x: Any) -> torch.Tensor:
    return torch.ceil(_float(x))


def round(x: Any, decimals: int = 0) -> torch.Tensor:  # noqa: A001 - Keras's name
    """Half to even, as NumPy's and Keras's."""
    return torch.round(_t(x), decimals=decimals)


def isnan(x: Any) -> torch.Tensor:
    return torch.isnan(_t(x))


def isfinite(x: Any) -> torch.Tensor:
    return torch.isfinite(_t(x))


def _compare(operation):
    def compare(x1: Any, x2: Any) -> torch.Tensor:
        a, b = _pair(x1, x2)
        return operation(a, b)
    return compare


equal, not_equal = _compare(torch.eq), _compare(torch.ne)
greater, greater_equal = _compare(torch.gt), _compare(torch.ge)
less, less_equal = _compare(torch.lt), _compare(torch.le)
for _function, _name in ((equal, "equal"), (not_equal, "not_equal"), (greater, "greater"),
                         (greater_equal, "greater_equal"), (less, "less"), (less_equal, "less_equal")):
    _function.__name__ = _function.__qualname__ = _name
    _function.__doc__ = f"Element-wise ``{_name}`` of two tensors (or a tensor and a number), as booleans."


def logical_and(x1: Any, x2: Any) -> torch.Tensor:
    return torch.logical_and(_t(x1).bool(), _t(x2).bool())


def logical_or(x1: Any, x2: Any) -> torch.Tensor:
    return torch.logical_or(_t(x1).bool(), _t(x2).bool())


def logical_not(x: Any) -> torch.Tensor:
    return torch.logical_not(_t(x).bool())


# -- reductions ------------------------------------------------------------------------------------------
def _reduce(x: torch.Tensor, axis: Any, keepdims: bool, operation) -> torch.Tensor:
    axis = _axes(axis)
    if axis is None:
        result = operation(x.reshape(-1), 0)
        return result.reshape([1] * x.dim()) if keepdims else result
    return operation(x, axis, keepdims)


def sum(x: Any, axis: Any = None, keepdims: bool = False) -> torch.Tensor:  # noqa: A001 - Keras's name
    return _reduce(_t(x), axis, keepdims, lambda t, a, k=False: torch.sum(t, a, keepdim=k))


def mean(x: Any, axis: Any = None, keepdims: bool = False) -> torch.Tensor:
    return _reduce(_float(x), axis, keepdims, lambda t, a, k=False: torch.mean(t, a, keepdim=k))


def prod(x: Any, axis: Any = None, keepdims: bool = False) -> torch.Tensor:
    def product(t, a, k=False):
        for position in sorted((p % t.dim() for p in _as_tuple(a)), reverse=True):
            t = torch.prod(t, position, keepdim=k)
        return t
    return _reduce(_t(x), axis, keepdims, product)


def max(x: Any, axis: Any = None, keepdims: bool = False) -> torch.Tensor:  # noqa: A001 - Keras's name
    return _reduce(_t(x), axis, keepdims, lambda t, a, k=False: torch.amax(t, a, keepdim=k))


def min(x: Any, axis: Any = None, keepdims: bool = False) -> torch.Tensor:  # noqa: A001 - Keras's name
    return _reduce(_t(x), axis, keepdims, lambda t, a, k=False: torch.amin(t, a, keepdim=k))


def var(x: Any, axis: Any = None, keepdims: bool = False) -> torch.Tensor:
    """The population variance (divided by n, as NumPy's and Keras's; torch's ``var`` divides by n - 1)."""
    return _reduce(_float(x), axis, keepdims, lambda t, a, k=False: torch.var(t, a, correction=0, keepdim=k))


def std(x: Any, axis: Any = None, keepdims: bool = False) -> torch.Tensor:
    """The population standard deviation (divided by n, as NumPy's and Keras's)."""
    return torch.sqrt(var(x, axis, keepdims))


def logsumexp(x: Any, axis: Any = None, keepdims: bool = False) -> torch.Tensor:
    return _reduce(_float(x), axis, keepdims, lambda t, a, k=False: torch.logsumexp(t, a, keepdim=k))


def all(x: Any, axis: Any = None, keepdims: bool = False) -> torch.Tensor:  # noqa: A001 - Keras's name
    return _reduce(_t(x).bool(), axis, keepdims, lambda t, a, k=False: _bool_fold(torch.all, t, a, k))


def any(x: Any, axis: Any = None, keepdims: bool = False) -> torch.Tensor:  # noqa: A001 - Keras's name
    return _reduce(_t(x).bool(), axis, keepdims, lambda t, a, k=False: _bool_fold(torch.any, t, a, k))


def _bool_fold(operation, t: torch.Tensor, axis: Any, keepdims: bool) -> torch.Tensor:
    for position in sorted((p % t.dim() for p in _as_tuple(axis)), reverse=True):
        t = operation(t, dim=position, keepdim=keepdims)
    return t


def argmax(x: Any, axis: int | None = None, keepdims: bool = False) -> torch.Tensor:
    return torch.argmax(_t(x), dim=axis, keepdim=keepdims and axis is not None)


def argmin(x: Any, axis: int | None = None, keepdims: bool = False) -> torch.Tensor:
    return torch.argmin(_t(x), dim=axis, keepdim=keepdims and axis is not None)


def cumsum(x: Any, axis: int | None = None, dtype: Any = None) -> torch.Tensor:
    x = _t(x)
    return torch.cumsum(x.reshape(-1) if axis is None else x, dim=0 if axis is None else axis,
                        dtype=torch_dtype(dtype))


def cumprod(x: Any, axis: int | None = None, dtype: Any = None) -> torch.Tensor:
    x = _t(x)
    return torch.cumprod(x.reshape(-1) if axis is None else x, dim=0 if axis is None else axis,
                         dtype=torch_dtype(dtype))


def sort(x: Any, axis: int = -1) -> torch.Tensor:
    return torch.sort(_t(x), dim=axis).values


def argsort(x: Any, axis: int = -1) -> torch.Tensor:
    return torch.argsort(_t(x), dim=axis, stable=True)


# -- linear algebra --------------------------------------------------------------------------------------
def matmul(x1: Any, x2: Any) -> torch.Tensor:
    return torch.matmul(_t(x1), _t(x2))


def einsum(subscripts: str, *operands: Any) -> torch.Tensor:
    return torch.einsum(subscripts, *(_t(operand) for operand in operands))


# -- neural networks -------------------------------------------------------------------------------------
def relu(x: Any) -> torch.Tensor:
    return F.relu(_float(x))


def sigmoid(x: Any) -> torch.Tensor:
    return torch.sigmoid(_float(x))


def silu(x: Any) -> torch.Tensor:
    return F.silu(_float(x))


def softplus(x: Any) -> torch.Tensor:
    return F.softplus(_float(x))


def gelu(x: Any, approximate: bool = True) -> torch.Tensor:
    """GELU; the tanh approximation by default, as ``keras.ops.gelu`` (``keras.activations.gelu`` is exact)."""
    return F.gelu(_float(x), approximate="tanh" if approximate else "none")


def softmax(x: Any, axis: int = -1) -> torch.Tensor:
    return torch.softmax(_float(x), dim=axis)


def log_softmax(x: Any, axis: int = -1) -> torch.Tensor:
    return torch.log_softmax(_float(x), dim=axis)


def one_hot(x: Any, num_classes: int, axis: int = -1, dtype: Any = None) -> torch.Tensor:
    """One-hot rows of ``num_classes``; a negative code (a missing value) gives a row of zeros, as Keras's; a
    code of ``num_classes`` or more is refused (Keras's backends differ there: zeros or an error)."""
    codes = _t(x).long()
    if codes.numel() and int(codes.max()) >= num_classes:
        raise MeddlError(f"ops.one_hot: code {int(codes.max())} is not below num_classes={num_classes}.")
    inside = codes >= 0
    encoded = F.one_hot(torch.where(inside, codes, 0), num_classes) * inside.unsqueeze(-1)
    encoded = encoded.to(torch_dtype(dtype) or torch.get_default_dtype())
    return encoded if axis == -1 else torch.movedim(encoded, -1, axis)


def top_k(x: Any, k: int, sorted: bool = True) -> tuple[torch.Tensor, torch.Tensor]:  # noqa: A002 - Keras's name
    """The ``k`` largest values along the last axis and their indices."""
    result = torch.topk(_t(x), k, dim=-1, sorted=sorted)
    return result.values, result.indices

def __getattr__(name: str):
    raise missing_name("meddl.ops", name, __all__)
