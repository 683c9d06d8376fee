import pickle

import numpy as np
import pytest

from sknn_scratch.nn import Linear, Sequential
from sknn_scratch.optim import SGD, Adam, adam, sgd_momentum
from sknn_scratch.optim.optimizers import _adam_update, _sgd_update


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


def test_adam_class_matches_the_formulas_and_the_functional_api(problem):
    params, grads = problem
    a = [p.copy() for p in params]
    b = [p.copy() for p in params]
    state = {}
    opt = Adam(b, grads, learning_rate=0.01)
    for _ in range(5):
        adam([a], [grads], {"learning_rate": 0.01, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8}, state)
        opt.step()
    for x, y, want, p in zip(a, b, _reference_adam(params, grads, 5), params, strict=True):
        np.testing.assert_array_equal(x, y)  # the same arithmetic
        np.testing.assert_allclose(y, want, rtol=1e-12)
        assert np.abs(y - p).min() > 0  # every entry moved
    assert opt.t == 5


def test_adam_rejects_betas_outside_the_unit_interval(problem):
    params, grads = problem
    with pytest.raises(ValueError, match="beta_1 and beta_2 must be in"):
        Adam(params, grads, beta_2=1.0)


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
    opt = SGD(work, grads, learning_rate=0.05, momentum=0.8, nesterov=nesterov)
    for _ in range(4):
        opt.step()
    for got, want in zip(work, _reference_sgd(params, grads, 4, 0.05, 0.8, nesterov), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-12)


@pytest.mark.parametrize("make", [lambda p, g: Adam(p, g), lambda p, g: SGD(p, g, 0.1, 0.9)])
def test_optimizers_update_flat_vectors_in_place_and_keep_float32(make):
    net = Sequential(Linear(4, 3, rng=0, dtype=np.float32), Linear(3, 2, rng=1, dtype=np.float32))
    params, grads = net.flatten_parameters()
    opt = make(params, grads)
    before = net[0].W
    grads[...] = 1
    opt.step()
    assert net[0].W is before and net[0].W.dtype == np.float32 and np.shares_memory(net[0].W, params)
    assert all(a.dtype == np.float32 for arrays in opt.state.values() for a in arrays)
    assert params.dtype == np.float32


@pytest.mark.parametrize("make", [lambda p, g: Adam(p, g, 0.01), lambda p, g: SGD(p, g, 0.05, 0.8, True)])
def test_state_dict_carries_training_to_a_new_optimizer(make):
    r = np.random.default_rng(1)
    params, grads = r.normal(size=50), r.normal(size=50)
    ref, work = params.copy(), params.copy()
    one = make(ref, grads)
    for _ in range(6):
        one.step()
    first = make(work, grads)
    for _ in range(3):
        first.step()
    state = pickle.loads(pickle.dumps(first.state_dict()))  # plain values
    second = make(work, grads)
    second.load_state_dict(state)
    for _ in range(3):
        second.step()
    np.testing.assert_array_equal(work, ref)
    assert second.t == 6
    # the state was copied in: the saved arrays are untouched by later steps
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(first.state_dict()))["t"], 3)
    with pytest.raises(ValueError, match="does not match the shapes"):
        make(np.zeros(3), np.zeros(3)).load_state_dict(state)


def test_update_kernels_compute_float32_in_float32():
    # NumPy float64 scalars (e.g. hyperparameters read from a float64 array) would make
    # the in-place float32 passes compute in float64 and round back
    r = np.random.default_rng(2)
    arrays = [r.random(1000).astype(np.float32) for _ in range(5)]
    results = []
    for cast in (float, np.float64):
        var, grad, m, v, scratch = (a.copy() for a in arrays)
        _adam_update(var, grad, m, v, cast(1e-3 / 3), cast(0.9), cast(0.999), cast(1e-7 / 3), scratch)
        velocity = arrays[3].copy()
        _sgd_update(grad, arrays[0], velocity, cast(0.1 / 3), cast(0.9 / 7), True, scratch)
        results.append((var, m, v, grad, velocity))
    for a, b in zip(*results, strict=True):
        assert a.dtype == np.float32
        np.testing.assert_array_equal(a, b)


def test_read_only_parameter_is_a_clear_error():
    a, b = np.ones(3), np.ones(3)
    b.setflags(write=False)
    with pytest.raises(ValueError, match="parameter 1 is read-only"):
        Adam([a, b], [np.ones(3), np.ones(3)])
    np.testing.assert_array_equal(a, 1.0)
