"""meddl against Keras itself, number for number: losses, metrics, optimizer steps, EarlyStopping's epochs,
preprocessing layers and activations, on the same inputs.

Keras is not a meddl dependency. Install it beside the project's torch, without touching .venv:

    pip install --target /tmp/keras_pkgs "keras==3.15.*" && rm -rf /tmp/keras_pkgs/numpy*
    KERAS_BACKEND=torch PYTHONPATH=/tmp/keras_pkgs .venv/bin/python bench/keras_parity.py

Prints one line per check with the largest difference; exits 1 if any is above its tolerance.

Not compared, on purpose: a layer called with ``training=True``/``False`` inside a functional model keeps that
mode in meddl, as in TF-Keras 2 (Monte Carlo dropout at ``predict``; a base model called with ``training=False``
keeps its BatchNormalization statistics while fine-tuning). Keras 3's functional models let ``fit`` and
``predict`` override it (measured with 3.15: ``predict`` gives no Monte Carlo spread, and ``fit`` updates the
base's statistics).
"""

import os
import sys
import tempfile
import warnings

os.environ.setdefault("KERAS_BACKEND", "torch")

import numpy as np  # noqa: E402
import torch  # noqa: E402

import meddl  # noqa: E402

try:
    import keras  # noqa: E402
except ImportError:
    sys.exit("Keras is not installed: see this script's docstring for how to run it.")

rng = np.random.default_rng(0)
failures = []


def check(name, keras_value, meddl_value, tolerance=1e-5):
    keras_value = keras.ops.convert_to_numpy(keras_value) if not isinstance(keras_value, (int, float)) else keras_value
    difference = float(np.max(np.abs(np.asarray(keras_value, float) - np.asarray(meddl_value, float))))
    if difference > tolerance:
        failures.append(name)
    print(f"{'ok  ' if difference <= tolerance else 'DIFF'} {name:<60} {difference:.1e}")


def metric_value(metric, *data):
    metric.update_state(*data)
    return metric.result()


labels = rng.integers(0, 2, (20, 3)).astype("float32")
scores = rng.uniform(0.01, 0.99, (20, 3)).astype("float32")
one_hot = np.eye(3, dtype="float32")[rng.integers(0, 3, 20)]
probabilities = scores / scores.sum(axis=1, keepdims=True)
targets, predictions = (rng.normal(size=(20, 2)).astype("float32") * 3 for _ in range(2))

for name, settings, data in [
        ("BinaryCrossentropy", {"label_smoothing": 0.2}, (labels, scores)),
        ("CategoricalCrossentropy", {"label_smoothing": 0.1}, (one_hot, probabilities)),
        ("Huber", {"delta": 1.5}, (targets, predictions)), ("LogCosh", {}, (targets, predictions)),
        ("BinaryFocalCrossentropy", {"apply_class_balancing": True, "alpha": 0.3, "gamma": 1.5,
                                     "label_smoothing": 0.1}, (labels, scores))]:
    check(f"loss {name} {settings}", getattr(keras.losses, name)(**settings)(*data),
          getattr(meddl.losses, name)(**settings)(*data))

for name, settings, data, tolerance in [
        ("F1Score", {"average": None, "threshold": 0.5}, (labels, scores), 1e-6),
        ("F1Score", {"average": "micro", "threshold": 0.5}, (labels, scores), 1e-6),
        ("F1Score", {"average": "weighted", "threshold": 0.5}, (labels, scores), 1e-6),
        ("FBetaScore", {"average": "macro", "beta": 2.0}, (one_hot, probabilities), 1e-6),
        ("R2Score", {"class_aggregation": "variance_weighted_average"}, (targets, predictions), 1e-6),
        ("R2Score", {"num_regressors": 2}, (targets[:, :1], predictions[:, :1]), 1e-6),
        ("RootMeanSquaredError", {}, (targets, predictions), 1e-6),
        ("MeanAbsolutePercentageError", {}, (targets, predictions), 1e-3)]:
    check(f"metric {name} {settings}", metric_value(getattr(keras.metrics, name)(**settings), *data),
          metric_value(getattr(meddl.metrics, name)(**settings), *data), tolerance)

truth = (rng.random(400) < 0.3).astype("float32")
screen = np.clip(rng.normal(truth * 0.3 + 0.35, 0.15), 0, 1).astype("float32")
for name, target in [("SensitivityAtSpecificity", 0.9), ("SpecificityAtSensitivity", 0.9),
                     ("PrecisionAtRecall", 0.8), ("RecallAtPrecision", 0.6)]:
    check(f"metric {name}({target}) (Keras on a grid of 2000 thresholds)",
          metric_value(getattr(keras.metrics, name)(target, num_thresholds=2000), truth, screen),
          metric_value(getattr(meddl.metrics, name)(target), truth, screen), 5e-3)

gradients = [np.array(g, dtype="float32") for g in ([0.5, -1.0, 2.0], [0.1, 0.3, -0.4], [-0.7, 0.2, 0.05])]
for name, settings in [("Adagrad", {"learning_rate": 0.1}), ("Adadelta", {"learning_rate": 1.0}),
                       ("Adamax", {"learning_rate": 0.1}), ("Nadam", {"learning_rate": 0.1}),
                       ("SGD", {"learning_rate": 0.1, "momentum": 0.9, "nesterov": True}),
                       ("RMSprop", {"learning_rate": 0.01, "momentum": 0.5}),
                       ("AdamW", {"learning_rate": 0.1, "weight_decay": 0.1}),
                       ("Adam", {"learning_rate": 0.1, "weight_decay": 0.1}),
                       ("SGD", {"learning_rate": 0.1, "momentum": 0.9, "weight_decay": 0.05}),
                       ("RMSprop", {"learning_rate": 0.01, "weight_decay": 0.05}),
                       ("Adagrad", {"learning_rate": 0.1, "weight_decay": 0.05}),
                       ("Adadelta", {"learning_rate": 1.0, "weight_decay": 0.05}),
                       ("Adamax", {"learning_rate": 0.1, "weight_decay": 0.05}),
                       ("Nadam", {"learning_rate": 0.1, "weight_decay": 0.05}),
                       ("SGD", {"learning_rate": 0.1, "clipnorm": 0.5}),
                       ("Adam", {"learning_rate": 0.1, "global_clipnorm": 0.5}),
                       ("RMSprop", {"learning_rate": 0.01, "clipvalue": 0.3, "centered": True})]:
    start = np.array([1.0, -2.0, 0.5], dtype="float32")
    variable, keras_optimizer = keras.Variable(start.copy()), getattr(keras.optimizers, name)(**settings)
    weight = torch.nn.Parameter(torch.tensor(start.copy()))
    meddl_optimizer = getattr(meddl.optimizers, name)(**settings).build([weight])
    for gradient in gradients:
        keras_optimizer.apply_gradients([(keras.ops.convert_to_tensor(gradient), variable)])
        weight.grad = torch.tensor(gradient)
        meddl_optimizer.step()
    check(f"optimizer {name} {settings}, 3 steps", variable, weight.detach().numpy())

losses_by_epoch = [1.0, 0.9, 0.95, 0.96, 0.97, 0.5, 0.4, 0.3, 0.2, 0.1]
for patience, baseline in ((0, None), (2, None), (3, None), (2, 0.5)):
    class Scripted(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            logs["loss"] = losses_by_epoch[epoch]

    keras_model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    keras_model.compile("sgd", "mse")
    keras_epochs = len(keras_model.fit(np.ones((4, 2)), np.ones(4), epochs=10, verbose=0, callbacks=[
        Scripted(), keras.callbacks.EarlyStopping(monitor="loss", patience=patience, baseline=baseline)]).history["loss"])
    meddl_model = meddl.Sequential([meddl.Input((2,)), meddl.layers.Dense(1)])
    meddl_model.compile("sgd", "mse")
    meddl_epochs = len(meddl_model.fit(np.ones((4, 2)), np.ones(4), epochs=10, verbose=0, callbacks=[
        meddl.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: logs.update(loss=losses_by_epoch[epoch])),
        meddl.callbacks.EarlyStopping(monitor="loss", patience=patience, baseline=baseline)]).history["loss"])
    check(f"EarlyStopping(patience={patience}, baseline={baseline}): epochs run", keras_epochs, meddl_epochs, 0)

plateau_losses = [1.0, 0.9, 0.9, 0.95, 0.8, 0.85, 0.86, 0.87, 0.88, 0.7, 0.71, 0.72]
for settings in ({"patience": 1}, {"patience": 2, "cooldown": 1}, {"patience": 1, "min_delta": 0.06, "factor": 0.5}):
    class ScriptedPlateau(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            logs["loss"] = plateau_losses[epoch]

    rates = {"keras": [], "meddl": []}
    keras_model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    keras_model.compile(keras.optimizers.SGD(0.1), "mse")
    keras_model.fit(np.ones((4, 2)), np.ones(4), epochs=12, verbose=0, callbacks=[
        ScriptedPlateau(), keras.callbacks.ReduceLROnPlateau(monitor="loss", min_lr=1e-4, **settings),
        keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: rates["keras"].append(
            float(keras.ops.convert_to_numpy(keras_model.optimizer.learning_rate))))])
    meddl_model = meddl.Sequential([meddl.Input((2,)), meddl.layers.Dense(1)])
    meddl_model.compile(meddl.optimizers.SGD(0.1), "mse")
    meddl_model.fit(np.ones((4, 2)), np.ones(4), epochs=12, verbose=0, callbacks=[
        meddl.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: logs.update(loss=plateau_losses[epoch])),
        meddl.callbacks.ReduceLROnPlateau(monitor="loss", min_lr=1e-4, **settings),
        meddl.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: rates["meddl"].append(
            meddl_model._torch_optimizer.param_groups[0]["lr"]))])  # after the callback, as Keras's optimizer shows
    check(f"ReduceLROnPlateau({settings}): learning rate after each epoch", rates["keras"], rates["meddl"], 1e-6)

image = rng.random((2, 13, 9, 3)).astype("float32")
for settings in ({}, {"interpolation": "nearest"}, {"crop_to_aspect_ratio": True}):
    check(f"layer Resizing(7, 11, {settings})", keras.layers.Resizing(7, 11, **settings)(image),
          meddl.layers.Resizing(7, 11, **settings)(torch.tensor(image)).numpy())
check("layer CenterCrop(8, 5)", keras.layers.CenterCrop(8, 5)(image),
      meddl.layers.CenterCrop(8, 5)(torch.tensor(image)).numpy())
volume = rng.normal(size=(2, 4, 4, 4, 6)).astype("float32")
check("layer GroupNormalization(groups=3)", keras.layers.GroupNormalization(groups=3)(volume),
      meddl.layers.GroupNormalization(groups=3)(torch.tensor(volume)).detach().numpy(), 1e-4)
line = np.linspace(-7, 7, 29).reshape(1, 29).astype("float32")
for name in ("relu6", "mish", "log_softmax", "hard_silu", "log_sigmoid", "hard_tanh", "celu", "gelu", "selu",
             "hard_sigmoid", "leaky_relu", "swish"):
    check(f"activation {name}", getattr(keras.activations, name)(line),
          meddl.activations.get(name)(torch.tensor(line)).numpy())
sequences = [[1], [2, 3], [4, 5, 6]]
check("utils.pad_sequences(maxlen=2, padding/truncating='post')",
      keras.utils.pad_sequences(sequences, maxlen=2, padding="post", truncating="post"),
      meddl.utils.pad_sequences(sequences, maxlen=2, padding="post", truncating="post"), 0)

# Padding masks through the merge layers (Keras's compute_mask), and attention given a mask by hand.
first, second = (rng.normal(size=(2, 5, 3)).astype("float32") for _ in range(2))
first[0, 3:], second[0, 4:], second[1, :2] = 0, 0, 0  # different padding in each input


def masked_pair(library, both):
    masking = library.layers.Masking(0.0)
    return [masking(torch.tensor(first)), masking(torch.tensor(second)) if both else torch.tensor(second)]


for merge, settings in [("Add", {}), ("Subtract", {}), ("Average", {}), ("Maximum", {}), ("Minimum", {}),
                        ("Multiply", {}), ("Concatenate", {"axis": 1}), ("Concatenate", {"axis": -1})]:
    for both in (True, False):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # meddl's "only some inputs carry a mask"
            keras_out = getattr(keras.layers, merge)(**settings)(masked_pair(keras, both))
            meddl_out = getattr(meddl.layers, merge)(**settings)(masked_pair(meddl, both))
        label = f"{merge}({settings}) of {'two masked sequences' if both else 'a masked and an unmasked sequence'}"
        check(f"{label}: values", keras_out, meddl_out.detach().numpy())
        keras_mask, meddl_mask = getattr(keras_out, "_keras_mask", None), getattr(meddl_out, "_keras_mask", None)
        if keras_mask is None or meddl_mask is None:
            check(f"{label}: no mask", float(keras_mask is None), float(meddl_mask is None), 0)
        else:
            check(f"{label}: mask", keras_mask, meddl_mask.numpy(), 0)
query = rng.normal(size=(2, 5, 4)).astype("float32")
allowed = rng.random((2, 5, 5)) > 0.4
allowed[:, :, 0] = True  # every query step may attend somewhere
keras_attention = keras.layers.MultiHeadAttention(2, 3)
keras_out, keras_scores = keras_attention(query, query, attention_mask=allowed, return_attention_scores=True)
meddl_attention = meddl.layers.MultiHeadAttention(2, 3)
meddl_attention.build_for([(5, 4), (5, 4)])
meddl_attention.set_weights([keras.ops.convert_to_numpy(w) for w in keras_attention.weights])
meddl_out, meddl_scores = meddl_attention(torch.tensor(query), torch.tensor(query), attention_mask=allowed,
                                          return_attention_scores=True)
check("MultiHeadAttention(attention_mask=...) output", keras_out, meddl_out.detach().numpy())
check("MultiHeadAttention(attention_mask=...) scores", keras_scores, meddl_scores.detach().numpy())

# keras.ops, for the code of custom layers: every function meddl.ops has, on the same arguments.
matrix = rng.normal(size=(3, 4)).astype("float32")
cube = rng.normal(size=(2, 3, 4)).astype("float32")
positive = np.abs(cube) + 0.1
codes = np.array([[0, 2, 1], [3, 1, 4]])
missing_codes = np.array([[0, -1, 2], [3, 1, -1]])
OPS_CALLS = [
    ("abs", (cube,), {}), ("absolute", (cube,), {}), ("add", (cube, 2.5), {}), ("all", (cube > -1,), {"axis": 1}),
    ("any", (cube > 1, ), {"axis": (0, 2), "keepdims": True}), ("arange", (2, 11, 3), {}), ("arange", (5,), {}),
    ("argmax", (cube,), {"axis": -1}), ("argmin", (cube,), {"axis": 0, "keepdims": True}), ("argsort", (matrix,), {}),
    ("broadcast_to", (matrix[:1],), {"shape": (3, 4)}), ("cast", (cube,), {"dtype": "int32"}),
    ("ceil", (cube,), {}), ("clip", (cube, -0.5, 0.5), {}), ("concatenate", ([cube, cube],), {"axis": -1}),
    ("cos", (cube,), {}), ("cumprod", (matrix,), {"axis": 1}), ("cumsum", (matrix,), {}),
    ("divide", (cube, positive), {}), ("einsum", ("ntf,nsf->nts", cube, cube), {}), ("equal", (codes, 1), {}),
    ("exp", (cube,), {}), ("expand_dims", (matrix,), {"axis": (0, -1)}), ("eye", (3, 4), {"k": 1}),
    ("flip", (cube,), {"axis": 1}), ("floor", (cube,), {}), ("full", ((2, 3), 7.0), {}),
    ("full_like", (matrix, 2.0), {}), ("gelu", (cube,), {}), ("gelu", (cube,), {"approximate": False}),
    ("greater", (cube, 0.0), {}), ("greater_equal", (codes, 2), {}), ("isfinite", (cube,), {}),
    ("isnan", (cube,), {}), ("less", (cube, matrix), {}), ("less_equal", (codes, 1), {}),
    ("linspace", (0.0, 1.0, 5), {}), ("linspace", (0.0, 1.0, 4), {"endpoint": False}), ("log", (positive,), {}),
    ("log1p", (positive,), {}), ("log_softmax", (cube,), {"axis": 1}), ("logical_and", (cube > 0, cube < 1), {}),
    ("logical_not", (cube > 0,), {}), ("logical_or", (cube > 1, cube < -1), {}),
    ("logsumexp", (cube,), {"axis": (1, 2)}), ("matmul", (cube, matrix.T), {}), ("max", (cube,), {"axis": 1}),
    ("maximum", (cube, 0.0), {}), ("mean", (cube,), {"axis": (0, 2), "keepdims": True}), ("mean", (cube,), {}),
    ("min", (cube,), {"keepdims": True}), ("minimum", (cube, matrix), {}), ("moveaxis", (cube, 0, -1), {}),
    ("multiply", (cube, 3), {}), ("negative", (cube,), {}), ("not_equal", (codes, 0), {}),
    ("one_hot", (missing_codes, 4), {}), ("one_hot", (codes, 5), {"axis": 1}), ("ones", ((2, 3),), {}),
    ("ones_like", (codes,), {}), ("power", (positive, 1.5), {}), ("prod", (matrix,), {"axis": 0}),
    ("relu", (cube,), {}), ("repeat", (matrix, 2), {"axis": 1}), ("repeat", (codes, 2), {}),
    ("reshape", (cube, (4, -1)), {}), ("round", (cube * 4,), {}), ("sigmoid", (cube,), {}), ("sign", (cube,), {}),
    ("silu", (cube,), {}), ("sin", (cube,), {}), ("softmax", (cube,), {"axis": 1}), ("softplus", (cube,), {}),
    ("sort", (cube,), {"axis": 1}), ("split", (cube, 2), {"axis": -1}), ("split", (cube, [1, 3]), {"axis": 2}),
    ("sqrt", (positive,), {}), ("square", (cube,), {}), ("squeeze", (matrix[:, None, :, None],), {"axis": 1}),
    ("squeeze", (matrix[None],), {}), ("stack", ([matrix, matrix],), {"axis": 1}), ("std", (cube,), {"axis": 1}),
    ("subtract", (1.0, cube), {}), ("sum", (cube,), {"axis": (0, 1)}), ("swapaxes", (cube, 0, 2), {}),
    ("take", (matrix, np.array([[0, 2], [3, 1]])), {"axis": 1}), ("take", (matrix, [0, 5]), {}),
    ("take_along_axis", (matrix, np.argsort(matrix, axis=1)), {"axis": 1}), ("tanh", (cube,), {}),
    ("tile", (matrix, (2, 1)), {}), ("transpose", (cube,), {}), ("transpose", (cube, (1, 0, 2)), {}),
    ("tril", (matrix,), {"k": -1}), ("triu", (matrix,), {}), ("var", (cube,), {"axis": (1, 2)}),
    ("where", (cube > 0, cube, 0.0), {}), ("zeros", ((3,),), {}), ("zeros_like", (cube,), {}),
]
for name, args, kwargs in OPS_CALLS:
    expected = getattr(keras.ops, name)(*args, **kwargs)
    got = getattr(meddl.ops, name)(*args, **kwargs)
    if isinstance(expected, (list, tuple)):
        for index, (want, have) in enumerate(zip(expected, got)):
            check(f"ops.{name}{args[1:] if len(args) > 1 else ''} {kwargs} [{index}]", want, have.numpy())
    else:
        check(f"ops.{name}{tuple(a for a in args[1:] if np.ndim(a) == 0)} {kwargs}", expected,
              got.detach().numpy(), 1e-5)
values, indices = keras.ops.top_k(matrix, 2)
check("ops.top_k(2): values", values, meddl.ops.top_k(matrix, 2)[0].numpy())
check("ops.top_k(2): indices", indices, meddl.ops.top_k(matrix, 2)[1].numpy(), 0)
check("ops.shape", np.array(keras.ops.shape(cube)), np.array(meddl.ops.shape(cube)), 0)
missing = sorted(set(meddl.ops.__all__) - {name for name, _, _ in OPS_CALLS} - {"top_k", "shape", "convert_to_numpy",
                                                                              "convert_to_tensor", "dtype",
                                                                              "stop_gradient", "torch_dtype"})
if missing:
    sys.exit(f"meddl.ops functions with no Keras comparison here: {missing}")

# keras.random: the distributions agree (Keras's torch backend also draws normal, uniform and randint from a
# torch.Generator seeded with the integer, so those values are equal too).
for name, args, kwargs in [("normal", ((50_000,),), {"mean": 2.0, "stddev": 3.0}),
                           ("uniform", ((50_000,),), {"minval": -1.0, "maxval": 3.0}),
                           ("truncated_normal", ((50_000,),), {"mean": 1.0, "stddev": 0.5}),
                           ("randint", ((50_000,), 2, 9), {})]:
    keras_draw = keras.ops.convert_to_numpy(getattr(keras.random, name)(*args, seed=1, **kwargs)).astype(float)
    meddl_draw = getattr(meddl.random, name)(*args, seed=1, **kwargs).numpy().astype(float)
    for statistic in (np.mean, np.std, np.min, np.max):
        check(f"random.{name} {kwargs}: {statistic.__name__} of 50,000 draws", statistic(keras_draw),
              statistic(meddl_draw), 0.05 * max(1.0, abs(float(statistic(keras_draw)))))
kept = keras.ops.convert_to_numpy(keras.random.dropout(torch.ones(400, 50), 0.3, seed=1))
check("random.dropout(0.3): share kept, value kept", [np.mean(kept > 0), kept.max()],
      [float((meddl.random.dropout(torch.ones(400, 50), 0.3, seed=1) > 0).float().mean()), 1 / 0.7], 0.01)

# Whole fits from the same weights, in the same order (shuffle=False): Keras's file loaded into meddl, both trained.
# Adam is compared with epsilon=1e-12: Keras adds epsilon before the bias correction of the second moment,
# torch (and meddl) after it, which moves weights whose gradients are near zero (1e-3 here with Keras's 1e-7).
# The cross-entropy fits start from moderate weights, where Keras's clipping of probabilities at 1e-7 (meddl
# computes the loss from the logits) changes nothing.
x_table, y_table = rng.normal(size=(64, 10)).astype("float32"), rng.integers(0, 3, 64)


for name, stack, data, loss, optimizers, fit_settings in [
        ("MLP, BatchNormalization, SGD with momentum", [keras.Input((10,)), keras.layers.Dense(8),
         keras.layers.BatchNormalization(), keras.layers.Activation("relu"), keras.layers.Dense(3, activation="softmax")],
         (x_table, y_table), "sparse_categorical_crossentropy", ("SGD", {"learning_rate": 0.05, "momentum": 0.9}),
         {"epochs": 3, "batch_size": 16}),
        ("MLP, class_weight", [keras.Input((10,)), keras.layers.Dense(3, activation="softmax")], (x_table, y_table),
         "sparse_categorical_crossentropy", ("SGD", {"learning_rate": 0.1}),
         {"epochs": 2, "batch_size": 16, "class_weight": {0: 1.0, 1: 3.0, 2: 0.5}}),
        ("MLP, sample_weight", [keras.Input((10,)), keras.layers.Dense(3, activation="softmax")], (x_table, y_table),
         "sparse_categorical_crossentropy", ("SGD", {"learning_rate": 0.1}),
         {"epochs": 2, "batch_size": 16, "sample_weight": rng.uniform(0, 2, 64)}),
        ("MLP, activity_regularizer and ActivityRegularization", [keras.Input((10,)), keras.layers.Dense(
            8, activation="relu", activity_regularizer=keras.regularizers.L1(0.01)),
            keras.layers.ActivityRegularization(l2=0.05), keras.layers.Dense(3, activation="softmax")],
         (x_table, y_table), "sparse_categorical_crossentropy", ("SGD", {"learning_rate": 0.1}),
         {"epochs": 3, "batch_size": 16}),
        ("LSTM regression, Adam(epsilon=1e-12)", [keras.Input((5, 3)), keras.layers.LSTM(4), keras.layers.Dense(1)],
         (rng.normal(size=(32, 5, 3)).astype("float32"), rng.normal(size=(32, 1)).astype("float32")), "mse",
         ("Adam", {"learning_rate": 0.01, "epsilon": 1e-12}), {"epochs": 3, "batch_size": 8})]:
    keras_model = keras.Sequential(stack)
    keras_model.set_weights([rng.normal(0, 0.3, size=tuple(w.shape)).astype("float32") if "variance" not in w.path
                             else rng.uniform(0.5, 1.5, size=tuple(w.shape)).astype("float32")
                             for w in keras_model.weights])
    path = os.path.join(tempfile.mkdtemp(), "start.keras")
    keras_model.save(path)
    meddl_model = meddl.load_model(path, device="cpu")
    optimizer, settings = optimizers
    keras_model.compile(optimizer=getattr(keras.optimizers, optimizer)(**settings), loss=loss)
    meddl_model.compile(optimizer=getattr(meddl.optimizers, optimizer)(**settings), loss=loss)
    keras_losses = keras_model.fit(*data, verbose=0, shuffle=False, **fit_settings).history["loss"]
    meddl_losses = meddl_model.fit(*data, verbose=0, shuffle=False, **fit_settings).history["loss"]
    keras_weights = [keras.ops.convert_to_numpy(weight) for weight in keras_model.weights]
    check(f"fit: {name}, final weights", np.concatenate([w.ravel() for w in keras_weights]),
          np.concatenate([w.ravel() for w in meddl_model.get_weights()]))
    check(f"fit: {name}, loss per epoch", keras_losses, meddl_losses)



# A model with two outputs given as a dict (diagnosis and length of stay): per-output losses and metrics.
inputs = keras.Input((10,))
hidden = keras.layers.Dense(8, activation="relu")(inputs)
keras_model = keras.Model(inputs, {"diagnosis": keras.layers.Dense(3, activation="softmax", name="diagnosis")(hidden),
                                   "stay": keras.layers.Dense(1, name="stay")(hidden)})
keras_model.set_weights([rng.normal(0, 0.3, size=tuple(w.shape)).astype("float32") for w in keras_model.weights])
path = os.path.join(tempfile.mkdtemp(), "two_outputs.keras")
keras_model.save(path)
meddl_model = meddl.load_model(path, device="cpu")
targets = {"diagnosis": y_table, "stay": rng.normal(size=(64, 1)).astype("float32")}
for model in (keras_model, meddl_model):
    model.compile(optimizer="sgd", loss={"diagnosis": "sparse_categorical_crossentropy", "stay": "mse"},
                  loss_weights={"diagnosis": 1.0, "stay": 0.3},
                  metrics={"diagnosis": ["accuracy"], "stay": ["mae"]})
keras_history = keras_model.fit(x_table, targets, epochs=2, batch_size=16, shuffle=False, verbose=0,
                                validation_split=0.25).history
meddl_history = meddl_model.fit(x_table, targets, epochs=2, batch_size=16, shuffle=False, verbose=0,
                                validation_split=0.25).history
check(f"fit, two outputs: history keys {sorted(keras_history)}", float(sorted(keras_history) == sorted(meddl_history)),
      1.0, 0)
for key in sorted(keras_history):
    check(f"fit, two outputs: {key} per epoch", keras_history[key], meddl_history.get(key, [np.nan] * 2))
check("evaluate, two outputs: [loss, per-output losses, metrics]", keras_model.evaluate(x_table, targets, verbose=0),
      meddl_model.evaluate(x_table, targets))
keras_predictions, meddl_predictions = keras_model.predict(x_table, verbose=0), meddl_model.predict(x_table)
check("predict, two outputs: a dict by output", float(sorted(keras_predictions) == sorted(meddl_predictions)), 1.0, 0)
for key in keras_predictions:
    check(f"predict, two outputs: {key}", keras_predictions[key], meddl_predictions[key])


# Per-batch logs (the epoch's running loss and metrics, which Keras hands its batch hooks) and History's key order.
keras_model = keras.Sequential([keras.Input((10,)), keras.layers.Dense(1, activation="sigmoid")])
keras_model.set_weights([rng.normal(0, 0.3, size=tuple(w.shape)).astype("float32") for w in keras_model.weights])
y_binary = (y_table == 1).astype("float32")[:, None]
path = os.path.join(tempfile.mkdtemp(), "batch_logs.keras")
keras_model.save(path)
batch_logs, histories = {"keras": [], "meddl": []}, {}
for library, model in (("keras", keras_model), ("meddl", meddl.load_model(path, device="cpu"))):
    api = keras if library == "keras" else meddl
    model.compile(optimizer=api.optimizers.SGD(learning_rate=0.1), loss="binary_crossentropy",
                  metrics=["accuracy", api.metrics.Precision(name="precision")])
    record = api.callbacks.LambdaCallback(on_train_batch_end=lambda batch, logs, seen=batch_logs[library]: seen.append(
        {key: float(keras.ops.convert_to_numpy(value)) for key, value in logs.items()}))
    histories[library] = model.fit(x_table, y_binary, epochs=2, batch_size=16, shuffle=False, verbose=0,
                                   validation_split=0.25, callbacks=[record]).history
check(f"fit: per-batch log keys {list(batch_logs['keras'][0])}",
      float([list(logs) for logs in batch_logs["keras"]] == [list(logs) for logs in batch_logs["meddl"]]), 1.0, 0)
check("fit: per-batch logs, running loss, accuracy and precision",
      [list(logs.values()) for logs in batch_logs["keras"]], [list(logs.values()) for logs in batch_logs["meddl"]])
check(f"fit: History key order {list(histories['keras'])}",
      float(list(histories["keras"]) == list(histories["meddl"])), 1.0, 0)


def penalised_layer(library):
    """A custom layer that adds a loss on its activations with add_loss, written the same way for both."""
    class Penalised(library.layers.Layer):
        def call(self, x):
            self.add_loss(0.05 * library.ops.mean(library.ops.square(x)))
            return x
    return Penalised()


y_regression = rng.normal(size=(64, 1)).astype("float32")
keras_model = keras.Sequential([keras.Input((10,)), keras.layers.Dense(8, activation="tanh"),
                                penalised_layer(keras), keras.layers.Dense(1)])
meddl_model = meddl.Sequential([meddl.layers.Input((10,)), meddl.layers.Dense(8, activation="tanh"),
                                penalised_layer(meddl), meddl.layers.Dense(1)])
meddl_model.set_weights([keras.ops.convert_to_numpy(w) for w in keras_model.weights])
for model in (keras_model, meddl_model):
    model.compile(optimizer="sgd", loss="mse")
keras_losses = keras_model.fit(x_table, y_regression, epochs=3, batch_size=16, shuffle=False, verbose=0).history["loss"]
meddl_losses = meddl_model.fit(x_table, y_regression, epochs=3, batch_size=16, shuffle=False, verbose=0).history["loss"]
check("fit: custom layer with add_loss, loss per epoch", keras_losses, meddl_losses)
check("fit: custom layer with add_loss, final weights",
      np.concatenate([keras.ops.convert_to_numpy(w).ravel() for w in keras_model.weights]),
      np.concatenate([w.ravel() for w in meddl_model.get_weights()]))
check("evaluate: custom layer with add_loss", keras_model.evaluate(x_table, y_regression, verbose=0),
      meddl_model.evaluate(x_table, y_regression))
keras_model(x_table[:5])
meddl_model(torch.tensor(x_table[:5]))
check("model.losses after a call", [float(keras.ops.convert_to_numpy(v)) for v in keras_model.losses],
      [float(v.detach()) for v in meddl_model.losses])

print(f"\nKeras {keras.__version__} ({keras.backend.backend()} backend): {len(failures)} of the checks differ"
      + (f": {failures}" if failures else "."))
sys.exit(1 if failures else 0)
