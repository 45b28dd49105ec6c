"""Keras's other optimizers step as Keras's update rules say, and Keras 2's ``lr``/``decay`` are honoured."""

import numpy as np
import pytest
import torch

import meddl
from meddl.errors import MeddlError
from meddl.training.optimizers import AdamL2

GRADIENTS = [np.array([0.5, -1.0, 2.0]), np.array([0.1, 0.3, -0.4]), np.array([-0.7, 0.2, 0.05])]


def _keras_adagrad(w, lr=0.01):
    acc = np.full_like(w, 0.1)
    for g in GRADIENTS:
        acc = acc + g ** 2
        w = w - lr * g / np.sqrt(acc + 1e-7)
    return w


def _keras_adadelta(w, lr=0.5, rho=0.95, eps=1e-7):
    acc_grad, acc_delta = np.zeros_like(w), np.zeros_like(w)
    for g in GRADIENTS:
        acc_grad = rho * acc_grad + (1 - rho) * g ** 2
        delta = -np.sqrt(acc_delta + eps) / np.sqrt(acc_grad + eps) * g
        acc_delta = rho * acc_delta + (1 - rho) * delta ** 2
        w = w + lr * delta
    return w


def _keras_adamax(w, lr=0.01, b1=0.9, b2=0.999, eps=1e-7):
    m, u = np.zeros_like(w), np.zeros_like(w)
    for t, g in enumerate(GRADIENTS, start=1):
        m = b1 * m + (1 - b1) * g
        u = np.maximum(b2 * u, np.abs(g))
        w = w - lr / (1 - b1 ** t) * m / (u + eps)
    return w


def _keras_nadam(w, lr=0.01, b1=0.9, b2=0.999, eps=1e-7):
    m, v, u_product = np.zeros_like(w), np.zeros_like(w), 1.0
    for t, g in enumerate(GRADIENTS, start=1):
        u_t = b1 * (1 - 0.5 * 0.96 ** t)  # Keras 3's schedule (keras/src/optimizers/nadam.py)
        u_next = b1 * (1 - 0.5 * 0.96 ** (t + 1))
        u_product = u_product * u_t
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g ** 2
        m_hat = u_next * m / (1 - u_product * u_next) + (1 - u_t) * g / (1 - u_product)
        w = w - lr * m_hat / (np.sqrt(v / (1 - b2 ** t)) + eps)
    return w


@pytest.mark.parametrize("optimizer, reference", [
    (meddl.optimizers.Adagrad(learning_rate=0.01), _keras_adagrad),
    (meddl.optimizers.Adadelta(learning_rate=0.5), _keras_adadelta),
    (meddl.optimizers.Adamax(learning_rate=0.01), _keras_adamax),
    (meddl.optimizers.Nadam(learning_rate=0.01), _keras_nadam),
])
def test_optimizers_follow_kerass_update_rules(optimizer, reference):
    start = np.array([1.0, -2.0, 0.5])
    weight = torch.nn.Parameter(torch.tensor(start, dtype=torch.float64))
    torch_optimizer = optimizer.build([weight])
    for gradient in GRADIENTS:
        weight.grad = torch.tensor(gradient)
        torch_optimizer.step()
    np.testing.assert_allclose(weight.detach().numpy(), reference(start), rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("name", ["adagrad", "adadelta", "adamax", "nadam"])
def test_each_optimizer_trains_by_name_and_reloads_with_its_settings(name, tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 3)).astype("float32")
    y = x @ np.array([1.0, -2.0, 0.5], dtype="float32")
    model = meddl.Sequential([meddl.Input((3,)), meddl.layers.Dense(1)])
    model.compile(optimizer=meddl.optimizers.get({"name": name, "learning_rate": 0.05}), loss="mse")
    history = model.fit(x, y, epochs=5, verbose=0, seed=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    model.save(tmp_path / "model")
    reloaded = meddl.load_model(tmp_path / "model").optimizer
    assert type(reloaded) is type(model.optimizer) and reloaded.get_config() == model.optimizer.get_config()


def test_kerass_old_lr_argument_sets_the_learning_rate_instead_of_being_dropped():
    assert meddl.optimizers.Adam(lr=0.1).learning_rate == 0.1
    with pytest.raises(MeddlError, match="give the learning rate once"):
        meddl.optimizers.Adam(learning_rate=0.1, lr=0.2)


def test_kerass_old_decay_argument_is_its_inverse_time_decay_and_is_saved(tmp_path):
    optimizer = meddl.optimizers.SGD(0.1, decay=0.01)
    model = meddl.Sequential([meddl.Input((2,)), meddl.layers.Dense(1)])
    model.compile(optimizer=optimizer, loss="mse")
    model.fit(np.ones((8, 2)), np.ones(8), batch_size=4, epochs=1, verbose=0)  # two steps
    assert model.optimizer.schedule(2) == pytest.approx(0.1 / (1 + 0.01 * 2))
    assert model._torch_optimizer.param_groups[0]["lr"] == pytest.approx(0.1 / 1.02)
    model.save(tmp_path / "model")
    assert meddl.load_model(tmp_path / "model").optimizer.get_config() == optimizer.get_config()


def test_unknown_optimizer_arguments_are_refused_with_their_names():
    with pytest.raises(MeddlError, match=r"Adam got unexpected argument\(s\) \['betas'\]"):
        meddl.optimizers.Adam(betas=(0.9, 0.99))
    # Keras's own saved settings that change nothing here are accepted
    assert meddl.optimizers.Adam(name="adam", ema_momentum=0.99, jit_compile=True).learning_rate == 0.001


def test_adam_keeps_amsgrad_when_saved(tmp_path):
    model = meddl.Sequential([meddl.Input((2,)), meddl.layers.Dense(1)])
    model.compile(optimizer=meddl.optimizers.Adam(amsgrad=True), loss="mse")
    model.save(tmp_path / "model")
    assert meddl.load_model(tmp_path / "model").optimizer.amsgrad is True


def test_weight_decay_is_kerass_decoupled_decay_for_every_optimizer():
    """Before each step w <- w - lr * wd * w, then the optimizer's own step on the unchanged gradient."""
    start, gradient = np.array([1.0, -2.0, 0.5]), np.array([0.5, -1.0, 2.0])
    weight = torch.nn.Parameter(torch.tensor(start))
    optimizer = meddl.optimizers.SGD(learning_rate=0.1, momentum=0.9, weight_decay=0.05).build([weight])
    expected, velocity = start.copy(), np.zeros(3)
    for _ in range(3):
        weight.grad = torch.tensor(gradient)
        optimizer.step()
        expected = expected * (1 - 0.1 * 0.05)
        velocity = 0.9 * velocity + gradient
        expected = expected - 0.1 * velocity
    np.testing.assert_allclose(weight.detach().numpy(), expected, rtol=1e-12)
    adam, adamw = (torch.nn.Parameter(torch.tensor(start)) for _ in range(2))
    steps = [meddl.optimizers.Adam(0.1, weight_decay=0.2).build([adam]),
             meddl.optimizers.AdamW(0.1, weight_decay=0.2).build([adamw])]
    for _ in range(3):
        for parameter, step in zip((adam, adamw), steps):
            parameter.grad = torch.tensor(gradient)
            step.step()
    torch.testing.assert_close(adam, adamw)  # Keras 3's Adam(weight_decay) is AdamW


def test_the_survival_models_keep_their_l2_adam():
    weight = torch.nn.Parameter(torch.tensor([1.0, -2.0]))
    reference = torch.nn.Parameter(torch.tensor([1.0, -2.0]))
    ours = AdamL2(0.1, weight_decay=0.3).build([weight])
    torch_adam = torch.optim.Adam([reference], lr=0.1, eps=1e-7, weight_decay=0.3)
    for _ in range(3):
        weight.grad, reference.grad = torch.tensor([0.5, 0.1]), torch.tensor([0.5, 0.1])
        ours.step()
        torch_adam.step()
    torch.testing.assert_close(weight, reference)


def test_learning_rate_reads_and_sets_the_rate_training_uses():
    """Keras's ``model.optimizer.learning_rate`` follows the callbacks, and setting it between fits (to fine-tune
    slower) changes the next fit; a built torch optimizer used to keep the old rate silently."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(32, 3)).astype("float32")
    y = x @ np.array([1.0, -2.0, 0.5], dtype="float32")
    model = meddl.Sequential([meddl.Input((3,)), meddl.layers.Dense(1)])
    model.compile(optimizer=meddl.optimizers.SGD(learning_rate=0.1), loss="mse")
    halve = meddl.callbacks.LearningRateScheduler(lambda epoch, rate: rate / 2 if epoch else rate)
    model.fit(x, y, epochs=3, verbose=0, callbacks=[halve])
    assert model.optimizer.learning_rate == pytest.approx(0.025)
    model.optimizer.learning_rate = 0.0
    weights = model.get_weights()
    model.fit(x, y, epochs=1, verbose=0)
    for before, after in zip(weights, model.get_weights()):
        np.testing.assert_array_equal(before, after)
    assert model.optimizer.get_config()["learning_rate"] == 0.0


def test_learning_rate_keeps_each_layer_s_factor_and_a_schedule_s_rate_is_not_set():
    weight, other = torch.nn.Parameter(torch.zeros(2)), torch.nn.Parameter(torch.zeros(2))
    optimizer = meddl.optimizers.Adam(learning_rate=0.01)
    built = optimizer.build([{"params": [weight], "lr": 0.01}, {"params": [other], "lr": 0.001}])
    optimizer.learning_rate = 0.1
    assert [group["lr"] for group in built.param_groups] == pytest.approx([0.1, 0.01])
    scheduled = meddl.optimizers.SGD(learning_rate=meddl.optimizers.schedules.ExponentialDecay(0.1, 10, 0.5))
    with pytest.raises(MeddlError, match="schedule"):
        scheduled.learning_rate = 0.01
