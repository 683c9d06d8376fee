"""The robust regression heads (Huber, absolute error, pinball) and label smoothing,
against their formulas written out here."""

import pickle

import numpy as np
import pytest

from sknn_scratch import nn
from sknn_scratch.testing import check_criterion


def _huber(d, delta):
    return np.where(np.abs(d) <= delta, 0.5 * d**2, delta * (np.abs(d) - 0.5 * delta))


@pytest.mark.parametrize("delta", [1.0, 0.3, 5.0])
def test_huber_is_the_mean_over_elements(delta, rng):
    z, y = rng.normal(scale=2, size=(6, 3)), rng.normal(size=(6, 3))
    head = nn.HuberCriterion(delta)
    loss, grad = head.loss_and_grad(z, y)
    np.testing.assert_allclose(loss, _huber(z - y, delta).mean(), rtol=1e-12)
    np.testing.assert_allclose(grad, np.clip(z - y, -delta, delta) / z.size, rtol=1e-12)
    w = rng.uniform(0.5, 2, size=6)
    weighted = (_huber(z - y, delta).mean(axis=1) * w).sum() / w.sum()
    np.testing.assert_allclose(head.forward(z, y, w), weighted, rtol=1e-12)
    assert head.out_activation == "identity" and np.array_equal(head.activate(z), z)


def test_absolute_error_and_its_zero_gradient_at_ties(rng):
    z = np.array([[1.0, -2.0], [0.5, 3.0]])
    y = np.array([[1.0, 0.0], [1.5, 1.0]])
    loss, grad = nn.AbsCriterion().loss_and_grad(z, y)
    assert loss == pytest.approx((0 + 2 + 1 + 2) / 4)
    np.testing.assert_array_equal(grad, np.array([[0.0, -1.0], [-1.0, 1.0]]) / 4)


def test_pinball_layout_quantile_of_each_target(rng):
    taus = (0.1, 0.5, 0.9)
    z = rng.normal(size=(5, 6))  # 2 targets x 3 quantiles
    y = rng.normal(size=(5, 2))
    loss, grad = nn.PinballCriterion(taus).loss_and_grad(z, y)
    expected, slopes = 0.0, np.zeros_like(z)
    for j in range(2):
        for i, tau in enumerate(taus):
            u = y[:, j] - z[:, j * 3 + i]
            expected += np.maximum(tau * u, (tau - 1) * u).sum()
            slopes[:, j * 3 + i] = np.where(u > 0, -tau, 1 - tau)
    np.testing.assert_allclose(loss, expected / z.size, rtol=1e-12)
    np.testing.assert_allclose(grad, slopes / z.size, rtol=1e-12)


def test_pinball_median_is_half_the_absolute_error(rng):
    z, y = rng.normal(size=(4, 2)), rng.normal(size=(4, 2))
    assert nn.PinballCriterion().forward(z, y) == pytest.approx(0.5 * nn.AbsCriterion().forward(z, y))
    assert nn.PinballCriterion((0.3, 0.7)).forward(z[:, :2], y[:, 0]) > 0  # a vector target for one column


def test_pinball_minimum_is_the_quantile(rng):
    """A constant prediction minimising the pinball loss is the sample quantile."""
    y = rng.exponential(size=2001)
    head = nn.PinballCriterion((0.25,))
    grid = np.linspace(0, 3, 3001)
    losses = [head.forward(np.full((len(y), 1), c), y) for c in grid]
    assert abs(grid[int(np.argmin(losses))] - np.quantile(y, 0.25)) < 2e-3


@pytest.mark.parametrize(
    "z_shape, y_shape, message",
    [((4, 5), (4, 2), r"\(n_samples, n_targets \* 2\)"), ((4, 4), (4, 3), r"target must have shape \(4, 2\)")],
)
def test_pinball_shape_errors(z_shape, y_shape, message):
    with pytest.raises(ValueError, match=message):
        nn.PinballCriterion((0.2, 0.8)).forward(np.zeros(z_shape), np.zeros(y_shape))


@pytest.mark.parametrize(
    "factory, message",
    [
        (lambda: nn.HuberCriterion(0), "delta"),
        (lambda: nn.HuberCriterion(np.inf), "delta"),
        (lambda: nn.PinballCriterion((0.5, 1.0)), "quantiles"),
        (lambda: nn.PinballCriterion(()), "quantiles"),
        (lambda: nn.PinballCriterion("a"), "quantiles"),
        (lambda: nn.SoftmaxCrossEntropyCriterion(label_smoothing=1.5), "label_smoothing"),
        (lambda: nn.SigmoidBCECriterion(label_smoothing=-0.1), "label_smoothing"),
    ],
)
def test_bad_arguments(factory, message):
    with pytest.raises(ValueError, match=message):
        factory()


def test_softmax_label_smoothing(rng):
    z = rng.normal(size=(5, 4))
    labels = rng.integers(0, 4, size=5)
    smooth = np.eye(4)[labels] * 0.8 + 0.2 / 4
    log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    head = nn.SoftmaxCrossEntropyCriterion(label_smoothing=0.2)
    loss, grad = head.loss_and_grad(z, labels)
    np.testing.assert_allclose(loss, -(smooth * log_p).sum() / 5, rtol=1e-12)
    np.testing.assert_allclose(grad, (np.exp(log_p) - smooth) / 5, rtol=1e-12)
    assert nn.SoftmaxCrossEntropyCriterion(0.0).forward(z, labels) == nn.SoftmaxCrossEntropyCriterion().forward(
        z, labels
    )
    check_criterion(head, z, labels)


def test_sigmoid_label_smoothing(rng):
    z = rng.normal(size=(5, 3))
    y = (rng.random((5, 3)) > 0.5).astype(float)
    smooth = y * 0.9 + 0.05
    head = nn.SigmoidBCECriterion(label_smoothing=0.1)
    loss, grad = head.loss_and_grad(z, y)
    np.testing.assert_allclose(loss, (np.logaddexp(0, z) - smooth * z).sum() / 5, rtol=1e-12)
    np.testing.assert_allclose(grad, (1 / (1 + np.exp(-z)) - smooth) / 5, rtol=1e-12)
    check_criterion(head, z, y)


def test_heads_pickled_before_label_smoothing_still_work(rng):
    z, y = rng.normal(size=(3, 2)), rng.integers(0, 2, size=3)
    for cls in (nn.SoftmaxCrossEntropyCriterion, nn.SigmoidBCECriterion):
        head = cls()
        vars(head).pop("label_smoothing", None)  # as an object saved without the attribute
        target = y if cls is nn.SoftmaxCrossEntropyCriterion else np.eye(2)[y]
        assert head.forward(z, target) == cls().forward(z, target)
        assert pickle.loads(pickle.dumps(head)).forward(z, target) == cls().forward(z, target)


def test_reprs():
    assert repr(nn.HuberCriterion()) == "HuberCriterion(delta=1.0)"
    assert repr(nn.AbsCriterion()) == "AbsCriterion()"
    assert repr(nn.PinballCriterion([0.1, 0.9])) == "PinballCriterion(quantiles=(0.1, 0.9))"
    assert repr(nn.SoftmaxCrossEntropyCriterion(0.1)) == "SoftmaxCrossEntropyCriterion(label_smoothing=0.1)"
    assert repr(nn.SigmoidBCECriterion()) == "SigmoidBCECriterion()"
