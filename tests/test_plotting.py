"""LossCurveDisplay follows scikit-learn's Display conventions."""

import sys

import numpy as np
import pytest
from sklearn.datasets import load_digits

from sknn_scratch import NumpyNetClassifier
from sknn_scratch.plotting import LossCurveDisplay

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module")
def fitted():
    X, y = load_digits(return_X_y=True)
    clf = NumpyNetClassifier(hidden_layer_sizes=(16,), early_stopping=True, max_iter=6, random_state=0)
    return clf.fit(X / 16, y)


def test_from_estimator_draws_the_three_curves_on_the_given_axes(fitted):
    plt = pytest.importorskip("matplotlib.pyplot")
    fig, ax = plt.subplots()
    display = LossCurveDisplay.from_estimator(fitted, ax=ax, name="digits")
    assert display.ax_ is ax and display.figure_ is fig and display.score_ax_ is not None
    np.testing.assert_allclose(display.lines_["loss"].get_ydata(), fitted.loss_curve_)
    np.testing.assert_allclose(display.lines_["validation_loss"].get_ydata(), fitted.validation_loss_curve_)
    np.testing.assert_allclose(display.lines_["validation_score"].get_ydata(), fitted.validation_scores_)
    assert list(display.lines_["loss"].get_xdata()) == list(range(1, fitted.n_iter_ + 1))
    assert ax.get_title() == "digits" and ax.get_xlabel() == "epoch"
    plt.close(fig)


def test_curves_without_validation_and_errors(fitted):
    plt = pytest.importorskip("matplotlib.pyplot")
    display = LossCurveDisplay(loss_curve=[3.0, 2.0, 1.5]).plot()
    assert set(display.lines_) == {"loss"} and display.score_ax_ is None
    plt.close(display.figure_)
    X, y = load_digits(return_X_y=True)
    with pytest.raises(ValueError, match="keeps no loss curve"):
        LossCurveDisplay.from_estimator(NumpyNetClassifier(solver="lbfgs", max_iter=3).fit(X[:100], y[:100]))


def test_missing_matplotlib_is_a_clear_error(fitted, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ImportError, match="matplotlib"):
        LossCurveDisplay.from_estimator(fitted)
