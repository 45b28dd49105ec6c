"""A strided 1×1 Conv2D (ResidualBlock's shortcut) computes the exact output and gradients.

torch 2.13's oneDNN kernel for a 1×1, stride-2 convolution of 1–4 input channels gives a wrong kernel gradient
(different on every call) and corrupts the heap on AVX2 CPUs; Conv2D takes every strides-th pixel and convolves
those with stride 1 instead. Checked against a float64 reference, several times (the wrong kernel gradient
changed from call to call), and for training runs being repeatable.
"""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import meddl
from meddl import layers


@pytest.mark.parametrize("channels, filters, strides", [(1, 4, 2), (3, 8, 2), (4, 8, 2), (4, 16, (2, 3)), (16, 8, 2)])
def test_a_strided_pointwise_convolution_has_exact_gradients(channels, filters, strides):
    conv = layers.Conv2D(filters, 1, strides=strides, padding="same")
    images = torch.rand(16, 16, 16, channels, generator=torch.Generator().manual_seed(0))
    conv(images)  # builds it
    step = strides if isinstance(strides, tuple) else (strides, strides)
    x64 = images.double().permute(0, 3, 1, 2).requires_grad_()
    k64 = conv.kernel.detach().double().requires_grad_()
    b64 = conv.bias.detach().double().requires_grad_()
    expected = F.conv2d(x64, k64, b64, stride=step)
    expected.square().sum().backward()
    for _ in range(5):
        x = images.clone().requires_grad_()
        conv.kernel.grad = conv.bias.grad = None
        y = conv(x)
        assert y.shape == (16, -(-16 // step[0]), -(-16 // step[1]), filters)
        y.square().sum().backward()
        torch.testing.assert_close(y.permute(0, 3, 1, 2).double(), expected.detach(), rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(conv.kernel.grad.double(), k64.grad, rtol=1e-4, atol=1e-3)
        torch.testing.assert_close(conv.bias.grad.double(), b64.grad, rtol=1e-4, atol=1e-3)
        torch.testing.assert_close(x.grad.permute(0, 3, 1, 2).double(), x64.grad, rtol=1e-4, atol=1e-4)


def test_training_a_residual_network_twice_gives_the_same_model():
    x = np.random.default_rng(0).random((64, 16, 16, 1)).astype("float32")
    y = np.arange(64) % 2

    def train():
        torch.manual_seed(0)
        model = meddl.Sequential([layers.Input((16, 16, 1)), layers.Conv2D(4, 3, padding="same"),
                                  layers.ResidualBlock(8, strides=2), layers.GlobalAveragePooling2D(),
                                  layers.Dense(2, activation="softmax")])
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        model.fit(x, y, epochs=3, batch_size=16, verbose=0, seed=0)
        return model.predict(x)

    np.testing.assert_array_equal(train(), train())
