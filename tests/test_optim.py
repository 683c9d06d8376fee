import numpy as np
import pytest

from sknn_scratch.nn import Linear, Sequential
from sknn_scratch.optim import SGD, Adam, adam, sgd_momentum


def _reference_adam(params, grads, steps, lr=0.01, b1=0.9, b2=0.999, eps=1e-8):
    """Adam written out from the paper's formulas, one step at a time."""
    params = [p.copy() for p in params]
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    for t in range(1, steps + 1):
        for i, g in enumerate(grads):
            m[i] = b1 * m[i] + (1 - b1) * g
            v[i] = b2 * v[i] + (1 - b2) * g * g
            lr_t = lr * np.sqrt(1 - b2**t) / (1 - b1**t)
            params[i] = params[i] - lr_t * m[i] / (np.sqrt(v[i]) + eps)
    return params


def _reference_sgd(params, grads, steps, lr, momentum, nesterov):
    """scikit-learn MLP's SGD: velocity = momentum*velocity - lr*g."""
    params = [p.copy() for p in params]
    vel = [np.zeros_like(p) for p in params]
    for _ in range(steps):
        for i, g in enumerate(grads):
            vel[i] = momentum * vel[i] - lr * g
            params[i] = params[i] + (momentum * vel[i] - lr * g if nesterov else vel[i])
    return params


@pytest.fixture
def problem():
    r = np.random.default_rng(0)
    params = [r.normal(size=(3, 4)), r.normal(size=4)]
    grads = [r.normal(size=(3, 4)), r.normal(size=4)]
    return params, grads


def test_functional_adam_matches_formulas(problem):
    params, grads = problem
    work = [p.copy() for p in params]
    state = {}
    config = {"learning_rate": 0.01, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8}
    for _ in range(5):
        adam([work], [grads], config, state)
    for got, want in zip(work, _reference_adam(params, grads, 5), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-12)
    assert state["t"] == 5


def test_adam_class_shares_the_functional_arithmetic(problem):
    params, grads = problem
    a = [p.copy() for p in params]
    b = [p.copy() for p in params]
    state = {}
    opt = Adam(learning_rate=0.01)
    for _ in range(3):
        adam([a], [grads], {"learning_rate": 0.01, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8}, state)
        opt.step(b, grads)
    for x, y, p in zip(a, b, params, strict=True):  # the class keeps its moments in other units
        np.testing.assert_allclose(x, y, rtol=1e-13, atol=1e-15)
        assert np.abs(y - p).min() > 0  # every entry moved
    assert opt.t == 3


def test_adam_class_rescales_its_moments_when_the_betas_change(problem):
    params, grads = problem
    a = [p.copy() for p in params]
    b = [p.copy() for p in params]
    state = {}
    opt = Adam(learning_rate=0.01)
    for beta1, beta2 in [(0.9, 0.999), (0.9, 0.999), (0.5, 0.99), (0.8, 0.9)]:
        adam([a], [grads], {"learning_rate": 0.01, "beta1": beta1, "beta2": beta2, "epsilon": 1e-8}, state)
        opt.beta_1, opt.beta_2 = beta1, beta2
        opt.step(b, grads)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_allclose(x, y, rtol=1e-13, atol=1e-15)
    with pytest.raises(ValueError, match="beta_1 and beta_2 must be in"):
        Adam(beta_2=1.0).step(b, grads)


def test_functional_sgd_momentum_keeps_the_notebook_code_semantics(problem):
    params, grads = problem
    work = [p.copy() for p in params]
    state = {}
    for _ in range(4):
        sgd_momentum([work], [grads], {"learning_rate": 0.1, "momentum": 0.9}, state)
    # v = momentum*v + lr*g ; var -= v  ==  MLP's update with the velocity's sign flipped
    for got, want in zip(work, _reference_sgd(params, grads, 4, 0.1, 0.9, False), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-12)


@pytest.mark.parametrize("nesterov", [False, True])
def test_sgd_class_matches_mlp_update(problem, nesterov):
    params, grads = problem
    work = [p.copy() for p in params]
    opt = SGD(learning_rate=0.05, momentum=0.8, nesterov=nesterov)
    for _ in range(4):
        opt.step(work, grads)
    for got, want in zip(work, _reference_sgd(params, grads, 4, 0.05, 0.8, nesterov), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-12)


def test_optimizers_update_in_place_and_keep_float32():
    net = Sequential(Linear(4, 3, rng=0, dtype=np.float32))
    before = net[0].W
    net[0].gradW[...] = 1
    for opt in (SGD(0.1, 0.9), Adam()):
        opt.step(net.getParameters(), net.getGradParameters())
    assert net[0].W is before and net[0].W.dtype == np.float32
    for state_dict in opt.state.values():
        if isinstance(state_dict, dict):
            assert all(buf.dtype == np.float32 for buf in state_dict.values())


def test_read_only_parameter_is_a_clear_error():
    w = np.ones(3)
    w.setflags(write=False)
    with pytest.raises(ValueError, match="read-only"):
        Adam().step([w], [np.ones(3)])
