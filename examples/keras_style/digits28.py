"""scikit-learn's handwritten digits (8×8, 1,797 images) upscaled to MNIST's 28×28, for the Keras-style examples.

The examples need no download: the digits ship with scikit-learn. Pixel values are 0–255 like MNIST's.
"""

import numpy as np
from sklearn.datasets import load_digits


def load_data(test_fraction: float = 0.2, seed: int = 0):
    """``(x_train, y_train), (x_test, y_test)`` shaped like ``keras.datasets.mnist.load_data()``."""
    digits = load_digits()
    rows = (np.arange(28) * 8) // 28  # nearest-neighbour upscaling 8 -> 28
    images = digits.images[:, rows][:, :, rows] * (255.0 / 16.0)
    order = np.random.default_rng(seed).permutation(len(images))
    images, labels = images[order].astype("uint8"), digits.target[order].astype("uint8")
    cut = int(len(images) * (1 - test_fraction))
    return (images[:cut], labels[:cut]), (images[cut:], labels[cut:])
