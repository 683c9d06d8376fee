"""The initialisers draw from the distributions their documentation states."""

import numpy as np
import pytest
from scipy import stats

from sknn_scratch import nn
from sknn_scratch.nn import init

FAN_IN, FAN_OUT = 50, 30

# name -> the scipy distribution it documents, for fan_in=50, fan_out=30
DISTRIBUTIONS = {
    "uniform": stats.uniform(-1 / np.sqrt(FAN_IN), 2 / np.sqrt(FAN_IN)),
    "glorot_uniform": stats.uniform(-np.sqrt(6 / 80), 2 * np.sqrt(6 / 80)),
    "glorot_uniform_logistic": stats.uniform(-np.sqrt(2 / 80), 2 * np.sqrt(2 / 80)),
    "he_uniform": stats.uniform(-np.sqrt(6 / FAN_IN), 2 * np.sqrt(6 / FAN_IN)),
    "he_normal": stats.norm(0, np.sqrt(2 / FAN_IN)),
    "lecun_normal": stats.norm(0, np.sqrt(1 / FAN_IN)),
}


@pytest.mark.parametrize("name", sorted(DISTRIBUTIONS))
def test_draws_follow_the_documented_distribution(name):
    fn = init.get_initializer(name)
    values = fn(np.random.default_rng(0), (200, 100), FAN_IN, FAN_OUT)
    dist = DISTRIBUTIONS[name]
    assert values.shape == (200, 100) and values.dtype == np.float64
    assert stats.kstest(values.ravel(), dist.cdf).pvalue > 1e-3
    np.testing.assert_allclose(values.std(), dist.std(), rtol=0.02)
    assert abs(values.mean()) < 4 * dist.std() / np.sqrt(values.size)
    if "uniform" in name:  # within the support, and reaching near its ends
        low, high = dist.support()
        assert low <= values.min() < low + 1e-3 and high - 1e-3 < values.max() <= high


@pytest.mark.parametrize("name", sorted(DISTRIBUTIONS))
def test_a_wrong_distribution_would_be_caught(name):
    """The statistical check has the power to tell a distribution from its neighbours."""
    values = init.get_initializer(name)(np.random.default_rng(0), (200, 100), FAN_IN, FAN_OUT)
    wrong = stats.norm(0, DISTRIBUTIONS[name].std() * 1.05)
    assert stats.kstest(values.ravel(), wrong.cdf).pvalue < 1e-3


@pytest.mark.parametrize("name", ["he_uniform", "he_normal", "lecun_normal"])
def test_layers_use_them_by_name_in_their_dtype(name):
    layer = nn.Linear(400, 300, init=name, rng=0, dtype=np.float32)
    assert layer.W.dtype == np.float32
    np.testing.assert_allclose(layer.W.std(), DISTRIBUTIONS[name].std() * np.sqrt(FAN_IN / 400), rtol=0.02)
    conv = nn.Conv1d(8, 16, 5, init=name, rng=0)
    np.testing.assert_allclose(conv.W.std(), DISTRIBUTIONS[name].std() * np.sqrt(FAN_IN / 40), rtol=0.1)


def test_unknown_name_suggests_the_closest():
    with pytest.raises(ValueError, match="Did you mean 'he_normal'"):
        init.get_initializer("he_norm")
