"""Plots of trained estimators, following scikit-learn's Display conventions.

matplotlib is imported only when a plot is drawn (``pip install matplotlib``).
"""

from __future__ import annotations

import numpy as np
from sklearn.utils.validation import check_is_fitted

__all__ = ["LossCurveDisplay"]


def _pyplot(caller):
    """``matplotlib.pyplot``, or an ImportError that says how to get it."""
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError(f"{caller} requires matplotlib: pip install matplotlib (or sknn_scratch[plot])") from exc
    return plt


def _stacked_axes(ax, height_ratios):
    """Panels stacked top to bottom in the area of ``ax``, which is hidden; they share
    the x axis.

    Like scikit-learn's ``PartialDependenceDisplay`` given one axes, the panels take
    its place in its grid (so ``tight_layout`` and constrained layout arrange them);
    an axes placed by hand (no grid) gives its rectangle to the panels.
    """
    from matplotlib.gridspec import GridSpec, GridSpecFromSubplotSpec

    figure, n = ax.figure, len(height_ratios)
    spec = ax.get_subplotspec()
    if spec is not None:
        grid = GridSpecFromSubplotSpec(n, 1, subplot_spec=spec, height_ratios=height_ratios, hspace=0.08)
    else:
        box = ax.get_position()
        grid = GridSpec(n, 1, figure=figure, height_ratios=height_ratios, hspace=0.08,
                        left=box.x0, right=box.x1, bottom=box.y0, top=box.y1)  # fmt: skip
    ax.set_axis_off()
    panels = [figure.add_subplot(grid[0])]
    panels += [figure.add_subplot(grid[i], sharex=panels[0]) for i in range(1, n)]
    return panels


class LossCurveDisplay:
    """The training loss, validation loss, validation score and learning rate of every
    epoch, with the best epoch marked.

    Create it with :meth:`from_estimator` (or from the curves, then :meth:`plot`).
    Quantities of different units get their own panels, stacked over a shared epoch
    axis: the losses on top, then the validation score (when there is one), then the
    learning rate (when given). The legend sits to the right of the loss panel, outside
    the data, so that it covers no curve, in a figure with a layout engine (a new one, or
    one made with ``layout="constrained"`` or ``"tight"``), which makes room for it; in
    other figures it goes inside the loss panel, where matplotlib finds it covers the
    least, so that saving the figure does not cut it off.

    The best epoch is the one with the largest validation score (the first of equal
    ones, as the estimators' ``best_validation_score_`` and ``early_stopping`` keep
    it) or, without validation scores, the one with the lowest training loss (as
    ``best_loss_``). A marker on that curve and a dotted vertical line through every
    panel show it.

    Parameters
    ----------
    loss_curve : list of float
        Training loss of every epoch (``loss_curve_``).
    validation_loss_curve : list of float, default=None
        Validation loss of the last ``len(validation_loss_curve)`` epochs
        (``validation_loss_curve_``).
    validation_scores : list of float, default=None
        Validation score of the last epochs, larger is better (``validation_scores_``).
    learning_rate_curve : list of float, default=None
        Learning rate of the last epochs (``learning_rate_curve_``), drawn on a
        logarithmic axis when every value is positive.
    estimator_name : str, default=None
        Shown in the title.

    Attributes
    ----------
    ax_ : matplotlib Axes
        The panel of the losses (the given ``ax`` itself when it is the only panel).
    score_ax_ : matplotlib Axes or None
        The panel of the validation score.
    learning_rate_ax_ : matplotlib Axes or None
        The panel of the learning rate.
    axes_ : list of matplotlib Axes
        The panels, top to bottom.
    bounding_ax_ : matplotlib Axes
        The axes whose area the panels fill (hidden when there are several panels).
    figure_ : matplotlib Figure
    lines_ : dict of matplotlib Line2D
        By curve: ``"loss"``, ``"validation_loss"``, ``"validation_score"``,
        ``"learning_rate"``.
    best_epoch_ : int or None
        The best epoch (1-based), None when no value is finite.
    best_marker_ : matplotlib Line2D or None
        The marker of the best epoch.
    legend_ : matplotlib Legend

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
    >>> display.best_epoch_ == 1 + clf.validation_scores_.index(clf.best_validation_score_)
    True

    From curves, e.g. ones a :class:`~sknn_scratch.callbacks.History` recorded:

    >>> display = LossCurveDisplay(loss_curve=[2.0, 1.2, 0.9], learning_rate_curve=[0.01, 0.01, 0.001]).plot()
    >>> display.best_epoch_, display.learning_rate_ax_.get_yscale()
    (3, 'log')
    """

    def __init__(
        self,
        *,
        loss_curve,
        validation_loss_curve=None,
        validation_scores=None,
        learning_rate_curve=None,
        estimator_name=None,
    ):
        self.loss_curve = loss_curve
        self.validation_loss_curve = validation_loss_curve
        self.validation_scores = validation_scores
        self.learning_rate_curve = learning_rate_curve
        self.estimator_name = estimator_name

    @classmethod
    def from_estimator(cls, estimator, *, ax=None, name=None, show_learning_rate=False):
        """Plot the curves of a fitted estimator trained by epochs (``sgd``, ``adam``
        or a registered optimizer; ``lbfgs`` keeps no curve).

        Parameters
        ----------
        estimator : NumpyNetClassifier or NumpyNetRegressor
            Fitted; a ``Pipeline`` ending with one is accepted.
        ax : matplotlib Axes, default=None
            Whose area to draw in; None makes a new figure.
        name : str, default=None
            Title; the estimator's class name by default.
        show_learning_rate : bool, default=False
            Add a panel of the learning rate of every epoch (the estimator's
            ``learning_rate_curve_``).

        Returns
        -------
        display : LossCurveDisplay
        """
        _pyplot(f"{cls.__name__}.from_estimator")
        if hasattr(estimator, "steps"):  # a Pipeline: its last step
            estimator = estimator[-1]
        if not (hasattr(estimator, "solver") or hasattr(type(estimator), "loss_curve_")):
            raise TypeError(f"{cls.__name__} plots an MLP-like estimator's loss_curve_, got {estimator!r}")
        check_is_fitted(estimator)
        if getattr(estimator, "loss_curve_", None) is None:
            raise ValueError(
                f"{type(estimator).__name__} with solver={estimator.solver!r} keeps no loss curve: "
                "train it with a stochastic solver (e.g. 'adam')"
            )
        learning_rate_curve = None
        if show_learning_rate:
            learning_rate_curve = getattr(estimator, "learning_rate_curve_", None)
            if not learning_rate_curve:
                raise ValueError(
                    f"show_learning_rate=True needs the learning rate of every epoch, but this "
                    f"{type(estimator).__name__} has no learning_rate_curve_"
                )
        display = cls(
            loss_curve=estimator.loss_curve_,
            validation_loss_curve=getattr(estimator, "validation_loss_curve_", None),
            validation_scores=getattr(estimator, "validation_scores_", None),
            learning_rate_curve=learning_rate_curve,
            estimator_name=type(estimator).__name__,
        )
        return display.plot(ax=ax, name=name)

    def _best_epoch(self):
        """The best epoch (1-based), the curve that decides it and its value there."""
        key = "validation_score" if self.validation_scores else "loss"
        values = np.asarray(self.validation_scores if self.validation_scores else self.loss_curve, dtype=float)
        finite = np.isfinite(values)
        if not finite.any():
            return None, key, None
        if key == "validation_score":  # larger is better; argmax takes the first of equal ones
            index = int(np.argmax(np.where(finite, values, -np.inf)))
        else:
            index = int(np.argmin(np.where(finite, values, np.inf)))
        return len(self.loss_curve) - len(values) + 1 + index, key, values[index]

    def plot(self, ax=None, *, name=None):
        """Draw the curves.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Whose area to draw in; None makes a new figure (with constrained layout).
            With more than one panel the axes is hidden and the panels take its place.
        name : str, default=None
            Title; ``estimator_name`` by default.

        Returns
        -------
        self : LossCurveDisplay
        """
        plt = _pyplot(f"{type(self).__name__}.plot")
        panels = ["loss"]
        if self.validation_scores:
            panels.append("validation_score")
        if self.learning_rate_curve:
            panels.append("learning_rate")
        ratios = [2] + [1] * (len(panels) - 1)
        if ax is None:
            _, ax = plt.subplots(figsize=(6.4, 3.6 + 1.4 * (len(panels) - 1)), layout="constrained")
        axes = [ax] if len(panels) == 1 else _stacked_axes(ax, ratios)
        by_panel = dict(zip(panels, axes, strict=True))

        n = len(self.loss_curve)

        def epochs(curve):  # curves other than the loss cover the last epochs (a warm start may add some without)
            return np.arange(n - len(curve) + 1, n + 1)

        loss_ax = by_panel["loss"]
        self.lines_ = {"loss": loss_ax.plot(epochs(self.loss_curve), self.loss_curve, label="training loss")[0]}
        if self.validation_loss_curve:
            self.lines_["validation_loss"] = loss_ax.plot(
                epochs(self.validation_loss_curve), self.validation_loss_curve, "--", label="validation loss"
            )[0]
        loss_ax.set_ylabel("loss")
        if self.validation_scores:
            score_ax = by_panel["validation_score"]
            self.lines_["validation_score"] = score_ax.plot(
                epochs(self.validation_scores), self.validation_scores, color="tab:green", label="validation score"
            )[0]
            score_ax.set_ylabel("validation\nscore")
        if self.learning_rate_curve:
            lr_ax = by_panel["learning_rate"]
            self.lines_["learning_rate"] = lr_ax.plot(
                epochs(self.learning_rate_curve), self.learning_rate_curve, color="tab:purple", label="learning rate"
            )[0]
            if np.all(np.asarray(self.learning_rate_curve, dtype=float) > 0):
                lr_ax.set_yscale("log")
            lr_ax.set_ylabel("learning\nrate")

        self.best_epoch_, key, value = self._best_epoch()
        self.best_marker_ = None
        if self.best_epoch_ is not None:
            (self.best_marker_,) = self.lines_[key].axes.plot(
                [self.best_epoch_], [value], "o", color="black", markersize=5, zorder=3, clip_on=False,
                label=f"best epoch ({self.best_epoch_})",
            )  # fmt: skip
            for panel in axes:
                panel.axvline(self.best_epoch_, color="0.6", linestyle=":", linewidth=1, zorder=1)

        handles = [self.lines_[k] for k in ("loss", "validation_loss") if k in self.lines_]
        handles += [self.best_marker_] if self.best_marker_ is not None else []
        if ax.figure.get_layout_engine() is not None:
            # outside the data, to the right of the loss panel: it covers no curve whatever their shape, and
            # the figure's layout engine (constrained or tight) makes room for it
            self.legend_ = loss_ax.legend(
                handles=handles, loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0, frameon=False
            )
        else:  # a figure that makes no room would cut a legend outside the panel off: inside, where it fits best
            self.legend_ = loss_ax.legend(handles=handles, loc="best")
        for panel in axes[:-1]:
            panel.tick_params(labelbottom=False)
        axes[-1].set_xlabel("epoch")
        loss_ax.set_title(name or self.estimator_name or "")

        self.axes_ = axes
        self.ax_ = loss_ax
        self.score_ax_ = by_panel.get("validation_score")
        self.learning_rate_ax_ = by_panel.get("learning_rate")
        self.bounding_ax_, self.figure_ = ax, ax.figure
        return self
