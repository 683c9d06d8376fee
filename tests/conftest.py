import numpy as np
import pytest

try:  # plots draw off screen
    import matplotlib

    matplotlib.use("Agg")
except ImportError:
    pass


@pytest.fixture
def rng():
    return np.random.default_rng(0)
