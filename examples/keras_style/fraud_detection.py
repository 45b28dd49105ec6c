"""The kinds of statements of keras.io's example "Imbalanced classification: credit card fraud detection", in
our own program, run on meddl.

Covers: a rare positive class (synthetic transactions: 30 features, about 2% frauds), a validation split taken
from the end, standardisation with the training statistics, a Sequential MLP with Dropout, the confusion
counts with Precision and Recall as metrics, class weights that are the inverse class counts, and a
ModelCheckpoint per epoch.

Run: python examples/keras_style/fraud_detection.py [--epochs 3] [--out folder]
"""

import argparse
import pathlib
import tempfile

import numpy as np

import meddl as keras

parser = argparse.ArgumentParser()
parser.add_argument("--epochs", type=int, default=3)
parser.add_argument("--out", default=None, help="folder for the checkpoints (default: a temporary one)")
args = parser.parse_args()
out = pathlib.Path(args.out or tempfile.mkdtemp())
out.mkdir(parents=True, exist_ok=True)
keras.utils.set_random_seed(0)

# Transactions shaped like the Kaggle data's (30 features, targets of shape (N, 1)); frauds shift 3 features.
rng = np.random.default_rng(0)
features = rng.normal(size=(3000, 30)).astype("float32")
targets = (rng.random(3000) < 0.02).astype("uint8").reshape(-1, 1)
features[targets[:, 0] == 1, :3] += 2.0

num_val_samples = int(len(features) * 0.2)
train_features, val_features = features[:-num_val_samples], features[-num_val_samples:]
train_targets, val_targets = targets[:-num_val_samples], targets[-num_val_samples:]
counts = np.bincount(train_targets[:, 0])
print(f"Number of positive samples in training data: {counts[1]} ({100 * counts[1] / len(train_targets):.2f}%)")
weight_for_0, weight_for_1 = 1.0 / counts[0], 1.0 / counts[1]

mean = np.mean(train_features, axis=0)
train_features -= mean
val_features -= mean
std = np.std(train_features, axis=0)
train_features /= std
val_features /= std

model = keras.Sequential([
    keras.Input(shape=train_features.shape[1:]),
    keras.layers.Dense(256, activation="relu"),
    keras.layers.Dense(256, activation="relu"),
    keras.layers.Dropout(0.3),
    keras.layers.Dense(256, activation="relu"),
    keras.layers.Dropout(0.3),
    keras.layers.Dense(1, activation="sigmoid"),
])
model.summary()

metrics = [keras.metrics.FalseNegatives(name="fn"), keras.metrics.FalsePositives(name="fp"),
           keras.metrics.TrueNegatives(name="tn"), keras.metrics.TruePositives(name="tp"),
           keras.metrics.Precision(name="precision"), keras.metrics.Recall(name="recall")]
model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="binary_crossentropy", metrics=metrics)
callbacks = [keras.callbacks.ModelCheckpoint(str(out / "fraud_model_at_epoch_{epoch}.keras"))]
class_weight = {0: weight_for_0, 1: weight_for_1}
history = model.fit(train_features, train_targets, batch_size=2048, epochs=args.epochs, verbose=2,
                    callbacks=callbacks, validation_data=(val_features, val_targets), class_weight=class_weight)
last = {name: values[-1] for name, values in history.history.items()}
print(f"Validation: {last['val_tp']:.0f} of {last['val_tp'] + last['val_fn']:.0f} frauds caught, "
      f"{last['val_fp']:.0f} false alarms among {last['val_fp'] + last['val_tn']:.0f} legitimate transactions")
