import numpy as np
import pytest

from sknn_scratch.nn import Linear, Sequential
from sknn_scratch.optim import SGD, Adam, adam, optimizers, sgd_momentum
from sknn_scratch.optim.optimizers import adam_step_scaled, aligned_zeros, sgd_step


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


@pytest.mark.parametrize(
    "betas",
    [[(0.9, 0.999)] * 3, [(0.9, 0.999), (0.9, 0.999), (0.5, 0.99), (0.8, 0.9)]],
    ids=["fixed-betas", "betas-changed-between-steps"],
)
def test_adam_class_shares_the_functional_arithmetic(problem, betas):
    # the class keeps its moments in other units (and rescales them when the betas change)
    params, grads = problem
    a = [p.copy() for p in params]
    b = [p.copy() for p in params]
    state = {}
    opt = Adam(learning_rate=0.01)
    for beta1, beta2 in betas:
        adam([a], [grads], {"learning_rate": 0.01, "beta1": beta1, "beta2": beta2, "epsilon": 1e-8}, state)
        opt.beta_1, opt.beta_2 = beta1, beta2
        opt.step(b, grads)
    for x, y, p in zip(a, b, params, strict=True):
        np.testing.assert_allclose(x, y, rtol=1e-13, atol=1e-15)
        assert np.abs(y - p).min() > 0  # every entry moved
    assert opt.t == len(betas)


def test_adam_rejects_betas_outside_the_unit_interval(problem):
    params, grads = problem
    with pytest.raises(ValueError, match="beta_1 and beta_2 must be in"):
        Adam(beta_2=1.0).step(params, grads)


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


@pytest.mark.parametrize("make_opt", [lambda: Adam(0.01), lambda: SGD(0.05, momentum=0.8, nesterov=True)])
def test_updates_in_cache_sized_chunks_equal_the_whole_update(make_opt, monkeypatch):
    r = np.random.default_rng(1)
    params = [r.normal(size=(40, 25)), r.normal(size=7), np.asfortranarray(r.normal(size=(6, 5)))]
    grads = [r.normal(size=p.shape) for p in params]
    whole = [p.copy(order="K") for p in params]
    chunked = [p.copy(order="K") for p in params]
    opt_whole, opt_chunked = make_opt(), make_opt()
    for _ in range(3):
        opt_whole.step(whole, grads)
    monkeypatch.setattr(optimizers, "CHUNK_BYTES", 8 * 64)  # 64 float64 per chunk: 16 chunks for the first array
    for _ in range(3):
        opt_chunked.step(chunked, grads)
    for w, c, p in zip(whole, chunked, params, strict=True):
        np.testing.assert_array_equal(w, c)  # element-wise arithmetic: chunking changes nothing
        assert np.abs(c - p).min() > 0


def test_update_kernels_compute_float32_in_float32():
    # NumPy float64 scalars (e.g. hyperparameters read from a float64 array) would make
    # the in-place float32 passes compute in float64 and round back: slower, and not
    # the float32 arithmetic of Python-float hyperparameters
    r = np.random.default_rng(2)
    arrays = [r.random(1000).astype(np.float32) for _ in range(5)]
    results = []
    for cast in (float, np.float64):
        var, grad, m, v, scratch = (a.copy() for a in arrays)
        adam_step_scaled(var, grad, m, v, scratch, cast(1e-3 / 3), cast(0.9), cast(0.999), cast(1e-7 / 3))
        velocity = arrays[3].copy()
        sgd_step(grad, arrays[0], velocity, cast(0.1 / 3), cast(0.9 / 7), nesterov=True)
        results.append((var, m, v, grad, velocity))
    for a, b in zip(*results, strict=True):
        assert a.dtype == np.float32
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(1000,), (3, 7, 5), (0,)])
def test_aligned_zeros(dtype, shape):
    a = aligned_zeros(shape, dtype)
    assert a.shape == shape and a.dtype == dtype and a.flags.c_contiguous and a.flags.writeable
    assert a.ctypes.data % optimizers.ALIGNMENT == 0 or a.size == 0
    assert not a.any()


@pytest.mark.parametrize("make_opt", [lambda: Adam(0.01), lambda: SGD(0.05, momentum=0.8, nesterov=True)])
def test_weight_decay_adds_the_l2_gradient_per_parameter(problem, make_opt):
    params, grads = problem
    decays = (0.3, 0.0)
    with_decay = [p.copy() for p in params]
    by_hand = [p.copy() for p in params]
    opt_decay, opt_hand = make_opt(), make_opt()
    for _ in range(3):
        work_grads = [g.copy() for g in grads]
        opt_decay.step(with_decay, work_grads, weight_decay=decays)
        full = [g + d * p for g, d, p in zip(grads, decays, by_hand, strict=True)]
        # the gradients are completed in place: afterwards they hold the full gradient
        for got, want in zip(work_grads, full, strict=True):
            np.testing.assert_allclose(got, want, rtol=1e-14)
        opt_hand.step(by_hand, full)
    for a, b, p in zip(with_decay, by_hand, params, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-15)
        assert np.abs(a - p).min() > 0
    # one value applies to every parameter
    one, each = [p.copy() for p in params], [p.copy() for p in params]
    make_opt().step(one, [g.copy() for g in grads], weight_decay=0.2)
    make_opt().step(each, [g.copy() for g in grads], weight_decay=[0.2, 0.2])
    for a, b in zip(one, each, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("bad", [[0.1], [0.1, 0.2, 0.3], -0.1, [0.1, float("nan")]])
def test_bad_weight_decay_is_an_error_before_any_change(problem, bad):
    params, grads = problem
    work, work_grads = [p.copy() for p in params], [g.copy() for g in grads]
    opt = Adam()
    with pytest.raises(ValueError, match="weight_decay"):
        opt.step(work, work_grads, weight_decay=bad)
    assert opt.t == 0 and opt.state == {}
    for a, b in zip(work + work_grads, params + grads, strict=True):
        np.testing.assert_array_equal(a, b)


def test_read_only_parameter_leaves_the_others_and_the_state_unchanged():
    a, b = np.ones(3), np.ones(3)
    b.setflags(write=False)
    opt = Adam()
    with pytest.raises(ValueError, match="parameter 1 is read-only"):
        opt.step([a, b], [np.ones(3), np.ones(3)])
    assert opt.t == 0
    np.testing.assert_array_equal(a, 1.0)
