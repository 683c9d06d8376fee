"""LossCurveDisplay follows scikit-learn's Display conventions, keeps every curve visible
and marks the best epoch."""

import sys

import numpy as np
import pytest
from sklearn.datasets import load_digits

from sknn_scratch import NumpyNetClassifier
from sknn_scratch.plotting import LossCurveDisplay

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
X_DIGITS, Y_DIGITS = load_digits(return_X_y=True)
X_DIGITS = X_DIGITS / 16


@pytest.fixture(scope="module")
def fitted():
    clf = NumpyNetClassifier(hidden_layer_sizes=(16,), early_stopping=True, max_iter=6, random_state=0)
    return clf.fit(X_DIGITS, Y_DIGITS)


@pytest.fixture
def plt():
    plt = pytest.importorskip("matplotlib.pyplot")
    yield plt
    plt.close("all")


def _extent(artist):
    return artist.get_window_extent(artist.figure.canvas.get_renderer())


def test_from_estimator_draws_the_curves_in_the_area_of_the_given_axes(fitted, plt):
    fig, ax = plt.subplots()
    display = LossCurveDisplay.from_estimator(fitted, ax=ax, name="digits")
    assert display.bounding_ax_ is ax and not ax.axison and display.figure_ is fig
    assert display.axes_ == [display.ax_, display.score_ax_] and display.learning_rate_ax_ is None
    np.testing.assert_allclose(display.lines_["loss"].get_ydata(), fitted.loss_curve_)
    np.testing.assert_allclose(display.lines_["validation_loss"].get_ydata(), fitted.validation_loss_curve_)
    np.testing.assert_allclose(display.lines_["validation_score"].get_ydata(), fitted.validation_scores_)
    assert list(display.lines_["loss"].get_xdata()) == list(range(1, fitted.n_iter_ + 1))
    assert display.ax_.get_title() == "digits" and display.score_ax_.get_xlabel() == "epoch"
    # the panels fill the given axes' area and share its epoch axis
    fig.canvas.draw()
    box = ax.get_position()
    for panel in display.axes_:
        inner = panel.get_position()
        assert box.x0 <= inner.x0 < inner.x1 <= box.x1 + 1e-9 and box.y0 - 1e-9 <= inner.y0 < inner.y1 <= box.y1 + 1e-9
    assert display.score_ax_.get_shared_x_axes().joined(display.ax_, display.score_ax_)


def test_losses_and_score_are_on_separate_axes_and_the_legend_covers_no_panel(fitted, plt):
    display = LossCurveDisplay.from_estimator(fitted)
    loss, validation_loss, score = (display.lines_[k] for k in ("loss", "validation_loss", "validation_score"))
    assert loss.axes is validation_loss.axes is display.ax_
    assert score.axes is display.score_ax_ and score.axes is not loss.axes
    display.figure_.canvas.draw()
    legend = _extent(display.legend_)
    for panel in display.axes_:  # the legend lies outside every panel, so it hides no curve
        assert not legend.overlaps(_extent(panel)), (legend, _extent(panel))
    for line in (loss, validation_loss, score):
        assert not legend.overlaps(_extent(line))
    # and it is inside the figure, not cut off when saved
    figure = display.figure_.bbox
    assert figure.x0 <= legend.x0 and legend.x1 <= figure.x1 and figure.y0 <= legend.y0 and legend.y1 <= figure.y1
    labels = [text.get_text() for text in display.legend_.get_texts()]
    assert labels == ["training loss", "validation loss", f"best epoch ({display.best_epoch_})"]


def test_the_learning_rate_panel_when_asked(plt):
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        mlp = MLPClassifier(hidden_layer_sizes=(8,), max_iter=4, random_state=0).fit(X_DIGITS, Y_DIGITS)
    with pytest.raises(ValueError, match="learning_rate_curve_"):  # scikit-learn's MLP keeps no learning rates
        LossCurveDisplay.from_estimator(mlp, show_learning_rate=True)
    clf = NumpyNetClassifier(hidden_layer_sizes=(8,), solver="sgd", learning_rate="invscaling", max_iter=4)
    clf.set_params(learning_rate_init=0.5, random_state=0).fit(X_DIGITS, Y_DIGITS)
    assert len(set(clf.learning_rate_curve_)) == 4  # falling every epoch
    display = LossCurveDisplay.from_estimator(clf, show_learning_rate=True)
    line = display.lines_["learning_rate"]
    assert line.axes is display.learning_rate_ax_ and display.axes_ == [display.ax_, display.learning_rate_ax_]
    np.testing.assert_allclose(line.get_ydata(), clf.learning_rate_curve_)
    assert list(line.get_xdata()) == [1, 2, 3, 4] and display.learning_rate_ax_.get_yscale() == "log"
    assert display.learning_rate_ax_.get_xlabel() == "epoch" and display.ax_.get_xlabel() == ""
    assert "learning_rate" not in LossCurveDisplay.from_estimator(clf).lines_  # only when asked

    # from the curves; a rate of zero keeps a linear axis
    display = LossCurveDisplay(loss_curve=clf.loss_curve_, learning_rate_curve=[0.1, 0.1, 0.0, 0.0]).plot()
    assert display.learning_rate_ax_.get_yscale() == "linear" and display.score_ax_ is None


@pytest.mark.parametrize(
    "curves, best, on",
    [
        # the largest validation score, the first of equal ones (as best_validation_score_ and early stopping)
        ({"validation_scores": [0.5, 0.9, 0.7, 0.9, 0.8]}, 2, "validation_score"),
        # a warm start: the scores cover the last three of five epochs
        ({"validation_scores": [0.6, 0.8, 0.7]}, 4, "validation_score"),
        # without validation scores: the lowest training loss, even with a validation loss
        ({"validation_loss_curve": [2.5, 1.0, 1.5, 2.0, 2.5]}, 4, "loss"),
        ({"validation_scores": [np.nan, 0.3, np.nan, 0.2, np.nan]}, 2, "validation_score"),
    ],
)
def test_the_marker_is_at_the_best_epoch(plt, curves, best, on):
    loss_curve = [3.0, 2.0, 1.5, 1.0, 1.2]
    display = LossCurveDisplay(loss_curve=loss_curve, **curves).plot()
    assert display.best_epoch_ == best
    marker, line = display.best_marker_, display.lines_[on]
    assert marker.axes is line.axes and list(marker.get_xdata()) == [best]
    assert marker.get_ydata()[0] == line.get_ydata()[list(line.get_xdata()).index(best)]
    for panel in display.axes_:  # a vertical line marks it in every panel
        assert any(list(other.get_xdata()) == [best, best] for other in panel.get_lines())


def test_the_best_epoch_follows_the_estimators(fitted, plt):
    display = LossCurveDisplay.from_estimator(fitted)
    assert display.best_epoch_ == 1 + fitted.validation_scores_.index(fitted.best_validation_score_)
    clf = NumpyNetClassifier(hidden_layer_sizes=(8,), max_iter=5, random_state=0).fit(X_DIGITS, Y_DIGITS)
    assert LossCurveDisplay.from_estimator(clf).best_epoch_ == 1 + clf.loss_curve_.index(clf.best_loss_)


def test_no_marker_when_no_value_is_finite(plt):
    display = LossCurveDisplay(loss_curve=[np.nan, np.nan]).plot()
    assert display.best_epoch_ is None and display.best_marker_ is None
    assert [t.get_text() for t in display.legend_.get_texts()] == ["training loss"]


def test_one_panel_draws_on_the_given_axes_and_a_hand_placed_axes_is_split(plt):
    fig, ax = plt.subplots()
    display = LossCurveDisplay(loss_curve=[3.0, 2.0, 1.5]).plot(ax=ax)
    assert display.ax_ is ax and display.axes_ == [ax] and display.score_ax_ is None and ax.axison
    assert set(display.lines_) == {"loss"}
    fig = plt.figure()
    ax = fig.add_axes((0.1, 0.2, 0.5, 0.6))  # no grid
    display = LossCurveDisplay(loss_curve=[3.0, 2.0], validation_scores=[0.1, 0.2]).plot(ax=ax)
    top, bottom = (panel.get_position() for panel in display.axes_)
    np.testing.assert_allclose([top.x0, top.x1, top.y1, bottom.y0], [0.1, 0.6, 0.8, 0.2])


def test_errors(plt):
    X, y = X_DIGITS[:100], Y_DIGITS[:100]
    with pytest.raises(ValueError, match="keeps no loss curve"):
        LossCurveDisplay.from_estimator(NumpyNetClassifier(solver="lbfgs", max_iter=3).fit(X, y))
    with pytest.raises(TypeError, match="MLP-like"):
        LossCurveDisplay.from_estimator(object())


def test_missing_matplotlib_is_a_clear_error(fitted, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ImportError, match="matplotlib"):
        LossCurveDisplay.from_estimator(fitted)


@pytest.mark.parametrize("layout", [None, "constrained", "tight"])
def test_the_legend_is_inside_the_saved_figure_of_a_given_axes(fitted, plt, layout):
    # plt.subplots() without a layout engine makes no room outside the panels: the legend goes inside
    fig, ax = plt.subplots(layout=layout)
    display = LossCurveDisplay.from_estimator(fitted, ax=ax)
    fig.canvas.draw()
    legend, figure = _extent(display.legend_), fig.bbox
    assert figure.x0 <= legend.x0 and legend.x1 <= figure.x1 and figure.y0 <= legend.y0 and legend.y1 <= figure.y1
    inside = _extent(display.ax_).contains(legend.x0, legend.y0) and _extent(display.ax_).contains(legend.x1, legend.y1)
    assert inside == (layout is None)
