"""A notebook user's code runs against sknn_scratch.nn (optimizers from sknn_scratch.optim), minus the
notebook's defects."""

import numpy as np
import pytest

from sknn_scratch import nn
from sknn_scratch.nn import (
    BatchNormalization,
    ChannelwiseScaling,
    ClassNLLCriterion,
    Conv2d,
    Dropout,
    Flatten,
    Linear,
    LogSoftmax,
    MaxPool2d,
    MSECriterion,
    ReLU,
    Sequential,
    SoftMax,
)
from sknn_scratch.optim import adam, sgd_momentum


def _blobs(n=300, seed=0):
    r = np.random.default_rng(seed)
    y = r.integers(0, 3, n)
    centers = np.array([[2, 0], [-2, 1], [0, -2]], dtype=float)
    X = centers[y] + r.normal(scale=0.7, size=(n, 2))
    return X, np.eye(3)[y]


@pytest.mark.parametrize("optimizer", ["adam", "sgd_momentum"])
def test_notebook_training_loop_runs_unchanged(optimizer):
    X, Y = _blobs()
    net = Sequential()
    net.add(Linear(2, 16))
    net.add(ReLU())
    net.add(Linear(16, 3))
    net.add(LogSoftmax())
    criterion = ClassNLLCriterion()
    if optimizer == "adam":
        config = {"learning_rate": 1e-2, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8}
        step = adam
    else:
        config = {"learning_rate": 1e-1, "momentum": 0.9}
        step = sgd_momentum
    state = {}
    losses = []
    for _epoch in range(20):
        for start in range(0, len(X), 32):
            xb, yb = X[start : start + 32], Y[start : start + 32]
            net.zeroGradParameters()
            predictions = net.forward(xb)
            loss = criterion.forward(predictions, yb)
            dp = criterion.backward(predictions, yb)
            net.backward(xb, dp)
            step(net.getParameters(), net.getGradParameters(), config, state)
            losses.append(loss)
    net.evaluate()
    accuracy = np.mean(net.forward(X).argmax(1) == Y.argmax(1))
    assert accuracy > 0.9
    assert np.mean(losses[-10:]) < 0.5 * np.mean(losses[:10])


def test_seed_attributes_and_signatures():
    lin = Linear(4, 3)
    assert lin.W.shape == (3, 4) and lin.b.shape == (3,)
    assert lin.gradW.shape == (3, 4) and lin.gradb.shape == (3,)
    bound = 1 / np.sqrt(4)
    assert np.all(np.abs(lin.W) <= bound) and np.all(np.abs(lin.b) <= bound)
    conv = Conv2d(2, 5, 3)
    assert conv.W.shape == (5, 2, 3, 3) and conv.b.shape == (5,)
    bn = BatchNormalization(alpha=0.5)
    assert bn.EPS == 1e-3 and bn.alpha == 0.5 and hasattr(bn, "moving_mean") and hasattr(bn, "moving_variance")
    cs = ChannelwiseScaling(3)
    assert cs.gamma.shape == (3,) and cs.beta.shape == (3,)
    d = Dropout(p=0.3)
    assert d.p == 0.3
    pool = MaxPool2d(2)
    assert pool.kernel_size == 2
    seq = Sequential()
    seq.add(lin)
    assert seq[0] is lin and seq.modules == [lin]
    for module in (lin, conv, bn, cs, d, pool, seq, Flatten(), SoftMax(), LogSoftmax(), ReLU()):
        assert module.training is True
        module.evaluate()
        assert module.training is False
        module.train()
        assert isinstance(repr(module), str)
    assert isinstance(ClassNLLCriterion(), nn.Criterion) and isinstance(MSECriterion(), nn.Criterion)


def test_mse_is_the_notebook_definition():
    x = np.array([[1.0, 2.0], [3.0, 5.0]])
    t = np.zeros_like(x)
    c = MSECriterion()
    assert c.forward(x, t) == pytest.approx((1 + 4 + 9 + 25) / 2)
    np.testing.assert_allclose(c.backward(x, t), 2 * x / 2)


def test_nll_accepts_integer_labels_and_one_hot():
    x = LogSoftmax().forward(np.random.default_rng(0).normal(size=(5, 4)))
    labels = np.array([0, 3, 1, 1, 2])
    c = ClassNLLCriterion()
    assert c.forward(x, labels) == pytest.approx(c.forward(x, np.eye(4)[labels]))
    assert c.forward(x, labels) == pytest.approx(-x[np.arange(5), labels].mean())
    np.testing.assert_array_equal(c.backward(x, labels), c.backward(x, np.eye(4)[labels]))
    with pytest.raises(ValueError, match="class indices"):
        c.forward(x, np.array([0, 4, 1, 1, 2]))


# -- defect 1: backward reuses the forward that produced the loss ------------------------
class _CountingForward(nn.Module):
    calls = 0

    def updateOutput(self, input):
        type(self).calls += 1
        self.output = input.copy()
        return self.output

    def updateGradInput(self, input, gradOutput):
        self.gradInput = gradOutput
        return self.gradInput


def test_sequential_backward_does_not_rerun_forward():
    _CountingForward.calls = 0
    net = Sequential(_CountingForward(), Linear(3, 2, rng=0))
    x = np.ones((4, 3))
    net.forward(x)
    net.backward(x, np.ones((4, 2)))
    assert _CountingForward.calls == 1


def test_dropout_gradient_belongs_to_the_forward_that_made_the_loss():
    r = np.random.default_rng(0)
    net = Sequential(Linear(6, 8, rng=0), Dropout(0.5, rng=1), Linear(8, 1, rng=2))
    x = r.normal(size=(5, 6))
    out = net.forward(x)
    mask = net[1].mask.copy()
    net.zeroGradParameters()
    grad_in = net.backward(x, np.ones_like(out))
    # the gradient of sum(out) for the mask that produced `out`, written out by hand
    W1, W2 = net[0].W, net[2].W
    expected = (np.ones((5, 1)) @ W2 * mask) @ W1
    np.testing.assert_allclose(grad_in, expected, rtol=1e-12)
    np.testing.assert_array_equal(net[1].mask, mask)


def test_batchnorm_moving_statistics_update_once_per_training_step():
    r = np.random.default_rng(0)
    bn = BatchNormalization(alpha=0.5)
    net = Sequential(bn, Linear(3, 1, rng=0))
    x = r.normal(loc=4.0, size=(10, 3))
    out = net.forward(x)
    net.backward(x, np.ones_like(out))
    # moving_mean = 0.5 * 0 + 0.5 * batch_mean, once
    np.testing.assert_allclose(np.ravel(bn.moving_mean), 0.5 * x.mean(axis=0), rtol=1e-12)


def test_notebook_defects_in_layers():
    # 2: Conv2d gradb accumulates
    conv = Conv2d(1, 2, 3, rng=0)
    x = np.random.default_rng(0).normal(size=(2, 1, 4, 4))
    g = np.ones((2, 2, 4, 4))
    conv.forward(x)
    conv.zeroGradParameters()
    conv.backward(x, g)
    conv.backward(x, g)
    np.testing.assert_allclose(conv.gradb, 2 * g.sum(axis=(0, 2, 3)))
    # 3: ChannelwiseScaling works on 2-D input and has gradients from the start
    cs = ChannelwiseScaling(3)
    assert np.all(cs.getGradParameters()[0] == 0)
    out = cs.forward(np.ones((4, 3)))
    assert out.shape == (4, 3)
    # 6: MaxPool2d on sizes that do not divide: floor, no assert
    assert MaxPool2d(2).forward(np.zeros((1, 1, 5, 5))).shape == (1, 1, 2, 2)
    # 10: even kernels with 'same' padding are a clear error
    with pytest.raises(ValueError):
        Conv2d(1, 1, 2)


def test_no_global_random_state_is_used():
    np.random.seed(123)
    before = np.random.get_state()[1].copy()
    Linear(5, 5)
    Conv2d(1, 2, 3)
    d = Dropout(0.5)
    d.forward(np.ones((3, 3)))
    np.testing.assert_array_equal(np.random.get_state()[1], before)


def test_same_rng_gives_same_layers():
    a, b = Linear(4, 3, rng=7), Linear(4, 3, rng=7)
    np.testing.assert_array_equal(a.W, b.W)
    g1, g2 = np.random.default_rng(3), np.random.default_rng(3)
    np.testing.assert_array_equal(
        Dropout(0.5, rng=g1).forward(np.ones((4, 4))), Dropout(0.5, rng=g2).forward(np.ones((4, 4)))
    )


def test_float32_stays_float32_through_a_network():
    net = Sequential(Conv2d(1, 2, 3, rng=0), ReLU(), MaxPool2d(2), Flatten(), Linear(8, 3, rng=1), LogSoftmax())
    x = np.random.default_rng(0).normal(size=(4, 1, 4, 4)).astype(np.float32)
    out = net.forward(x)
    grad = net.backward(x, ClassNLLCriterion().backward(out, np.array([0, 1, 2, 0])))
    assert out.dtype == np.float32 and grad.dtype == np.float32
    for layer_params, layer_grads in zip(net.getParameters(), net.getGradParameters(), strict=True):
        for p, g in zip(layer_params, layer_grads, strict=True):
            assert p.dtype == np.float32 and g.dtype == np.float32


def test_sequential_error_names_the_failing_layer():
    net = Sequential(Linear(3, 4, rng=0), ReLU(), Linear(5, 2, rng=1))
    with pytest.raises(ValueError) as info:
        net.forward(np.ones((2, 3)))
    assert "layer 2" in "".join(getattr(info.value, "__notes__", []))
