"""A third-party plugin package adds a layer, an activation, a loss and an optimizer
through entry points; an estimator trains with all four by name, in a grid search."""

import textwrap

import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV

from sknn_scratch import NumpyNetClassifier, NumpyNetRegressor
from sknn_scratch.registry import REGISTRIES
from sknn_scratch.testing import check_criterion, check_module, check_optimizer

PLUGIN = textwrap.dedent(
    '''
    import numpy as np
    from sknn_scratch.nn import Module, SquaredErrorCriterion
    from sknn_scratch.optim import SGD


    class Scale(Module):
        """output = s * input, with a learned scalar s"""

        _parameters = ("s",)
        _gradients = ("grad_s",)

        def __init__(self, dtype=np.float64):
            super().__init__()
            self.s = np.ones(1, dtype=dtype)
            self.grad_s = np.zeros(1, dtype=dtype)

        def updateOutput(self, input):
            input = self._match_dtype(input)
            self.output = input * self.s
            return self.output

        def updateGradInput(self, input, gradOutput):
            self.gradInput = gradOutput * self.s
            return self.gradInput

        def accGradParameters(self, input, gradOutput):
            self.grad_s += np.sum(gradOutput * input)


    class Softsign(Module):
        def updateOutput(self, input):
            self.output = input / (1 + np.abs(input))
            return self.output

        def updateGradInput(self, input, gradOutput):
            self.gradInput = gradOutput / (1 + np.abs(input)) ** 2
            return self.gradInput


    class HalfSquaredError(SquaredErrorCriterion):
        """The squared-error head under another name."""


    class PlainSGD(SGD):
        def __init__(self, params, grads, learning_rate=0.01):
            super().__init__(params, grads, learning_rate=learning_rate)
    '''
)
ENTRY_POINTS = textwrap.dedent(
    """
    [sknn_scratch.layers]
    scale = sknn_plugin_example:Scale

    [sknn_scratch.activations]
    softsign = sknn_plugin_example:Softsign

    [sknn_scratch.criteria]
    half_squared_error = sknn_plugin_example:HalfSquaredError

    [sknn_scratch.optimizers]
    plain_sgd = sknn_plugin_example:PlainSGD
    """
)


@pytest.fixture
def plugin(tmp_path, monkeypatch):
    """The plugin installed as a distribution on sys.path; the registries forget it afterwards."""
    (tmp_path / "sknn_plugin_example.py").write_text(PLUGIN)
    info = tmp_path / "sknn_plugin_example-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: sknn-plugin-example\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(ENTRY_POINTS)
    monkeypatch.syspath_prepend(str(tmp_path))
    saved = {kind: (dict(r._items), r._entry_points_loaded) for kind, r in REGISTRIES.items()}
    for registry in REGISTRIES.values():
        registry._entry_points_loaded = False
    yield
    for kind, (items, loaded) in saved.items():
        REGISTRIES[kind]._items, REGISTRIES[kind]._entry_points_loaded = items, loaded


def test_plugin_components_pass_the_checkers(plugin):
    x = np.random.default_rng(0).normal(size=(5, 3))
    check_module(REGISTRIES["layer"].get("scale")(), x)
    check_module(REGISTRIES["activation"].get("softsign")(), x)
    check_criterion(REGISTRIES["criterion"].get("half_squared_error")(), x, x[::-1].copy())
    check_optimizer(REGISTRIES["optimizer"].get("plain_sgd"), learning_rate=0.1)


def test_an_estimator_trains_with_the_four_plugins_by_name_in_a_grid_search(plugin):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 4))
    y = X @ np.array([1.0, -2.0, 0.5, 0.0]) + 0.1 * rng.normal(size=120)
    reg = NumpyNetRegressor(
        layers=[("linear", {"n_out": 8}), "scale", "softsign"],
        solver="plain_sgd",
        loss="half_squared_error",
        learning_rate_init=0.05,
        max_iter=60,
        random_state=0,
    )
    search = GridSearchCV(reg, {"learning_rate_init": [0.02, 0.05]}, cv=2).fit(X, y)
    best = search.best_estimator_
    assert best.score(X, y) > 0.8
    kinds = [type(m).__name__ for m in best.network_]
    assert kinds == ["Linear", "Scale", "Softsign", "Linear"]
    # and activation= takes a plugin activation too
    clf = NumpyNetClassifier(hidden_layer_sizes=(8,), activation="softsign", learning_rate_init=0.05, max_iter=100)
    assert clf.set_params(random_state=0).fit(X, y > 0).score(X, y > 0) > 0.9


def test_unknown_names_list_the_registered_ones(plugin):
    X, y = np.zeros((10, 2)), np.arange(10) % 2
    for params, listed in [
        (dict(solver="adamw"), "plain_sgd"),
        (dict(activation="softplus"), "softsign"),
        (dict(loss="huber"), "half_squared_error"),
    ]:
        with pytest.raises(ValueError, match=listed):
            NumpyNetClassifier(**params).fit(X, y)
    with pytest.raises(ValueError, match="not an output head"):
        NumpyNetRegressor(loss="mse").fit(X, y)
