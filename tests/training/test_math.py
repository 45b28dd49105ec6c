"""The seed's mathematics, checked by hand: y = f(wX + b), MSE, one gradient-descent step."""

import numpy as np
import pytest
import torch

from meddl import Sequential
from meddl.layers import Dense, Input


def test_one_sgd_step_equals_the_hand_computation():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(8, 3)).astype(np.float32)
    y = rng.normal(size=(8, 1)).astype(np.float32)
    model = Sequential([Dense(1, activation="linear", input_shape=(3,))])
    w_old = model.layers[0].kernel.detach().numpy().astype(np.float64).copy()
    b_old = model.layers[0].bias.detach().numpy().astype(np.float64).copy()
    alpha = 0.1
    model.compile(optimizer="sgd", loss="mse", learning_rate=alpha)
    model.fit(x, y, epochs=1, batch_size=None, shuffle=False, verbose=0)  # batch_size=None: full-batch GD

    # By hand: y_hat = xW + b; Loss = (1/n) sum (y - y_hat)^2; dL/dW = -(2/n) x^T (y - y_hat)
    n = len(x)
    y_hat = x @ w_old + b_old
    grad_w = -(2 / n) * x.T @ (y - y_hat)
    grad_b = -(2 / n) * (y - y_hat).sum(axis=0)
    np.testing.assert_allclose(model.layers[0].kernel.detach().numpy(), w_old - alpha * grad_w, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(model.layers[0].bias.detach().numpy(), b_old - alpha * grad_b, rtol=1e-5, atol=1e-6)


def test_forward_is_f_of_xw_plus_b():
    model = Sequential([Dense(2, activation="sigmoid", input_shape=(3,))])
    x = np.random.default_rng(2).normal(size=(4, 3)).astype(np.float32)
    w = model.layers[0].kernel.detach().numpy()
    b = model.layers[0].bias.detach().numpy()
    np.testing.assert_allclose(model.predict(x), 1 / (1 + np.exp(-(x @ w + b))), rtol=1e-6)


def test_gradients_match_finite_differences():
    torch.manual_seed(0)
    model = Sequential([Input(shape=(4,)), Dense(5, activation="tanh"), Dense(3, activation="softmax")])
    model.compile(loss="sparse_categorical_crossentropy")
    model.double()
    x = torch.randn(6, 4, dtype=torch.float64)
    y = torch.tensor([0, 1, 2, 0, 1, 2])
    loss_fn = model._step_loss(logits_mode=True)

    def loss_value():
        return loss_fn((x, y))[0]

    loss = loss_value()
    loss.backward()
    eps = 1e-6
    for parameter in model.parameters():
        flat = parameter.data.view(-1)
        for index in range(0, flat.numel(), max(1, flat.numel() // 5)):
            original = flat[index].item()
            flat[index] = original + eps
            up = loss_value().item()
            flat[index] = original - eps
            down = loss_value().item()
            flat[index] = original
            numeric = (up - down) / (2 * eps)
            assert abs(parameter.grad.view(-1)[index].item() - numeric) < 1e-6


def test_softmax_cross_entropy_is_stable_for_extreme_logits():
    model = Sequential([Input(shape=(2,)), Dense(3, activation="softmax")])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    with torch.no_grad():
        model.layers[0].kernel.copy_(torch.tensor([[500.0, -500.0, 0.0], [500.0, -500.0, 0.0]]))
    x = np.array([[1.0, 1.0], [-1.0, -1.0]], dtype=np.float32)
    loss = model.evaluate(x, np.array([1, 0]))  # both samples confidently wrong
    assert np.isfinite(loss) and loss == pytest.approx(2000.0, rel=1e-4)  # exact, not inf/nan


def test_binary_crossentropy_from_logits_equals_the_formula():
    model = Sequential([Input(shape=(1,)), Dense(1, activation="sigmoid")])
    model.compile(loss="binary_crossentropy")
    x = np.array([[0.5], [-2.0], [3.0]], dtype=np.float32)
    y = np.array([1.0, 0.0, 0.0])
    p = model.predict(x)[:, 0].astype(np.float64)
    expected = -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))
    assert model.evaluate(x, y) == pytest.approx(expected, abs=1e-6)
