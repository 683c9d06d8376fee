"""Plots of trained estimators, following scikit-learn's Display conventions.

matplotlib is imported only when a plot is drawn (``pip install matplotlib``).
"""

from __future__ import annotations

from sklearn.utils.validation import check_is_fitted

__all__ = ["LossCurveDisplay"]


def _pyplot(caller):
    """``matplotlib.pyplot``, or an ImportError that says how to get it."""
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError(f"{caller} requires matplotlib: pip install matplotlib (or sknn_scratch[plot])") from exc
    return plt


class LossCurveDisplay:
    """The training loss, validation loss and validation score of every epoch.

    Create it with :meth:`from_estimator` (or from the curves, then :meth:`plot`). The
    losses share the left axis; the validation score, when there is one, has its own
    axis on the right.

    Parameters
    ----------
    loss_curve : list of float
        Training loss of every epoch (``loss_curve_``).
    validation_loss_curve : list of float, default=None
    validation_scores : list of float, default=None
    estimator_name : str, default=None
        Shown in the title.

    Attributes
    ----------
    ax_ : matplotlib Axes
        The axes of the losses.
    score_ax_ : matplotlib Axes or None
        The axes of the validation score.
    figure_ : matplotlib Figure
    lines_ : dict of matplotlib Line2D
        By curve: ``"loss"``, ``"validation_loss"``, ``"validation_score"``.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn.datasets import load_digits
    >>> from sknn_scratch import NumpyNetClassifier
    >>> from sknn_scratch.plotting import LossCurveDisplay
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = NumpyNetClassifier(hidden_layer_sizes=(32,), early_stopping=True, max_iter=20, random_state=0)
    >>> display = LossCurveDisplay.from_estimator(clf.fit(X / 16, y))
    >>> sorted(display.lines_)
    ['loss', 'validation_loss', 'validation_score']
    """

    def __init__(self, *, loss_curve, validation_loss_curve=None, validation_scores=None, estimator_name=None):
        self.loss_curve = loss_curve
        self.validation_loss_curve = validation_loss_curve
        self.validation_scores = validation_scores
        self.estimator_name = estimator_name

    @classmethod
    def from_estimator(cls, estimator, *, ax=None, name=None):
        """Plot the curves of a fitted estimator trained by epochs (``sgd``, ``adam``
        or a registered optimizer; ``lbfgs`` keeps no curve).

        Parameters
        ----------
        estimator : NumpyNetClassifier or NumpyNetRegressor
        ax : matplotlib Axes, default=None
            Where to draw; None makes a new figure.
        name : str, default=None
            Title; the estimator's class name by default.

        Returns
        -------
        display : LossCurveDisplay
        """
        _pyplot(f"{cls.__name__}.from_estimator")
        if hasattr(estimator, "steps"):  # a Pipeline: its last step
            estimator = estimator[-1]
        if not hasattr(estimator, "solver"):
            raise TypeError(f"{cls.__name__} plots an MLP-like estimator's loss_curve_, got {estimator!r}")
        check_is_fitted(estimator)
        if getattr(estimator, "loss_curve_", None) is None:
            raise ValueError(
                f"{type(estimator).__name__} with solver={estimator.solver!r} keeps no loss curve: "
                "train it with a stochastic solver (e.g. 'adam')"
            )
        display = cls(
            loss_curve=estimator.loss_curve_,
            validation_loss_curve=getattr(estimator, "validation_loss_curve_", None),
            validation_scores=getattr(estimator, "validation_scores_", None),
            estimator_name=type(estimator).__name__,
        )
        return display.plot(ax=ax, name=name)

    def plot(self, ax=None, *, name=None):
        """Draw the curves.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Where to draw; None makes a new figure.
        name : str, default=None
            Title; ``estimator_name`` by default.

        Returns
        -------
        self : LossCurveDisplay
        """
        plt = _pyplot(f"{type(self).__name__}.plot")

        if ax is None:
            _, ax = plt.subplots()
        n = len(self.loss_curve)
        epochs = range(1, n + 1)

        def last(curve):  # validation curves cover the last epochs (a warm start may have added some without)
            return range(n - len(curve) + 1, n + 1)

        self.lines_ = {"loss": ax.plot(epochs, self.loss_curve, label="training loss")[0]}
        if self.validation_loss_curve:
            self.lines_["validation_loss"] = ax.plot(
                last(self.validation_loss_curve), self.validation_loss_curve, linestyle="--", label="validation loss"
            )[0]
        ax.set_xlabel("epoch")
        ax.set_ylabel("loss")
        self.score_ax_ = None
        handles = list(self.lines_.values())
        if self.validation_scores:
            self.score_ax_ = ax.twinx()
            self.lines_["validation_score"] = self.score_ax_.plot(
                last(self.validation_scores), self.validation_scores, color="tab:green", label="validation score"
            )[0]
            self.score_ax_.set_ylabel("validation score")
            handles.append(self.lines_["validation_score"])
        ax.legend(handles=handles, loc="best")
        ax.set_title(name or self.estimator_name or "")
        self.ax_, self.figure_ = ax, ax.figure
        return self
