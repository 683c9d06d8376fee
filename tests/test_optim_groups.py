"""Parameter groups (per-value learning-rate and decay factors), gradient clipping, and
PyTorch's optimizers step by step on a flat vector (when PyTorch is installed)."""

import numpy as np
import pytest

from sknn_scratch.nn import Linear, Sequential
from sknn_scratch.optim import SGD, Adam, AdamW, RMSprop

OPTIMIZERS = {
    "sgd": lambda p, g, **kw: SGD(p, g, learning_rate=0.1, momentum=0.9, nesterov=True, **kw),
    "adam": lambda p, g, **kw: Adam(p, g, learning_rate=0.01, **kw),
    "adamw": lambda p, g, **kw: AdamW(p, g, learning_rate=0.01, weight_decay=0.1, **kw),
    "rmsprop": lambda p, g, **kw: RMSprop(p, g, learning_rate=0.01, momentum=0.5, **kw),
}


def _run(make, steps=5, **options):
    rng = np.random.default_rng(0)
    params, grads = rng.normal(size=6), np.zeros(6)
    optimizer = make(params, grads, **options)
    for _ in range(steps):
        grads[...] = 2 * params - 1 + 0.1 * rng.normal(size=6)
        optimizer.step()
    return params


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_a_factor_of_zero_freezes_a_value_and_a_factor_of_one_changes_nothing(name):
    make = OPTIMIZERS[name]
    plain = _run(make)
    start = _run(make, steps=0)
    factors = np.array([1.0, 0.0, 1.0, 1.0, 0.0, 1.0])
    grouped = _run(make, lr_factors=factors)
    assert grouped[1] == start[1] and grouped[4] == start[4]  # learning rate 0: frozen
    moved = factors == 1
    if name != "adamw":  # (AdamW's decay of the frozen values is off too: their rate is 0)
        np.testing.assert_array_equal(grouped[moved], plain[moved])
    np.testing.assert_array_equal(_run(make, lr_factors=np.ones(6)), plain)


def test_a_learning_rate_factor_scales_the_steps_of_sgd_exactly():
    rng = np.random.default_rng(1)
    p1, p2, g = rng.normal(size=4), None, rng.normal(size=4)
    p2 = p1.copy()
    SGD(p1, g, learning_rate=0.3).step()
    SGD(p2, g, learning_rate=0.1, lr_factors=np.full(4, 3.0)).step()
    np.testing.assert_allclose(p1, p2, rtol=1e-15)


def test_adamws_decay_follows_the_decay_factors():
    params, grads = np.array([1.0, 1.0, 2.0]), np.zeros(3)
    AdamW(params, grads, learning_rate=0.1, weight_decay=0.5, decay_factors=np.array([1.0, 0.0, 2.0])).step()
    np.testing.assert_allclose(params, [1 - 0.05, 1.0, 2 * (1 - 0.1)])


def test_a_network_declares_its_groups_and_the_vectors_line_up_with_the_parameters():
    net = Sequential(Linear(3, 2, rng=0), Linear(2, 1, rng=1))
    net[1].lr_factors = {"b": 0.1}
    net[0].decay_factors = {"W": 0.5}
    params, _ = net.flatten_parameters()
    lr, decay = net.factor_vectors()
    assert lr.shape == decay.shape == params.shape
    # layer 0: W (6 values), b (2); layer 1: W (2), b (1)
    np.testing.assert_array_equal(decay, [0.5] * 6 + [0, 0] + [1, 1] + [0])
    np.testing.assert_array_equal(lr, [1] * 10 + [0.1])
    assert Sequential(Linear(3, 2, rng=0)).factor_vectors()[0] is None  # nothing to scale


def test_clipping_scales_the_gradient_to_the_norm():
    params, grads = np.zeros(2), np.array([3.0, 4.0])  # norm 5
    SGD(params, grads, learning_rate=1.0, clip_norm=1.0).step()
    np.testing.assert_allclose(params, [-0.6, -0.8])
    params, grads = np.zeros(2), np.array([0.3, 0.4])  # within the norm: unchanged
    SGD(params, grads, learning_rate=1.0, clip_norm=1.0).step()
    np.testing.assert_allclose(params, [-0.3, -0.4])
    with pytest.raises(ValueError, match="clip_norm"):
        SGD(params, grads, clip_norm=0)


def test_bad_factors_are_clear_errors():
    params, grads = np.zeros(3), np.zeros(3)
    with pytest.raises(ValueError, match="lr_factors"):
        SGD(params, grads, lr_factors=np.ones(4))
    with pytest.raises(ValueError, match="decay_factors"):
        AdamW(params, grads, decay_factors=-np.ones(3))


# -- PyTorch's optimizers, 20 steps on a flat vector ------------------------------------------
def _torch_run(torch, make, x0, grads):
    param = torch.nn.Parameter(torch.tensor(x0.copy()))
    optimizer = make(torch, [param])
    for g in grads:
        param.grad = torch.tensor(g)
        optimizer.step()
    return param.detach().numpy()


def _ours_run(make, x0, grads):
    params, grad = x0.copy(), np.zeros_like(x0)
    optimizer = make(params, grad)
    for g in grads:
        grad[...] = g
        optimizer.step()
    return params


CASES = {
    "sgd momentum": (
        lambda p, g: SGD(p, g, learning_rate=0.05, momentum=0.9),
        lambda torch, ps: torch.optim.SGD(ps, lr=0.05, momentum=0.9),
    ),
    "sgd nesterov": (
        lambda p, g: SGD(p, g, learning_rate=0.05, momentum=0.9, nesterov=True),
        lambda torch, ps: torch.optim.SGD(ps, lr=0.05, momentum=0.9, nesterov=True),
    ),
    "adam": (
        lambda p, g: Adam(p, g, learning_rate=0.01, epsilon=1e-12),
        lambda torch, ps: torch.optim.Adam(ps, lr=0.01, eps=1e-12),
    ),
    "adamw": (
        lambda p, g: AdamW(p, g, learning_rate=0.01, weight_decay=0.1),
        lambda torch, ps: torch.optim.AdamW(ps, lr=0.01, weight_decay=0.1),
    ),
    "rmsprop": (
        lambda p, g: RMSprop(p, g, learning_rate=0.01),
        lambda torch, ps: torch.optim.RMSprop(ps, lr=0.01),
    ),
    "rmsprop momentum": (
        lambda p, g: RMSprop(p, g, learning_rate=0.01, alpha=0.9, momentum=0.5),
        lambda torch, ps: torch.optim.RMSprop(ps, lr=0.01, alpha=0.9, momentum=0.5),
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_twenty_steps_equal_pytorchs(name):
    torch = pytest.importorskip("torch")
    ours, theirs = CASES[name]
    rng = np.random.default_rng(0)
    x0 = rng.normal(size=50)
    grads = [rng.normal(size=50) for _ in range(20)]
    np.testing.assert_allclose(_ours_run(ours, x0, grads), _torch_run(torch, theirs, x0, grads), rtol=1e-6, atol=1e-9)
