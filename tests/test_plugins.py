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
        (dict(activation="hardswish"), "softsign"),
        (dict(loss="log_cosh"), "half_squared_error"),
    ]:
        with pytest.raises(ValueError, match=listed):
            NumpyNetClassifier(**params).fit(X, y)
    with pytest.raises(ValueError, match="not an output head"):
        NumpyNetRegressor(loss="mse").fit(X, y)


@pytest.mark.parametrize(
    "params",
    [dict(solver="SGD"), dict(solver="LBFGS"), dict(solver=" adam"), dict(activation="ReLU"), dict(loss="Poisson")],
)
def test_names_are_spelled_as_registered(params):
    from sklearn.utils._param_validation import InvalidParameterError

    X, y = np.zeros((10, 2)), np.arange(10.0)
    est = NumpyNetRegressor(**params)
    with pytest.raises(InvalidParameterError):
        est.fit(X, y)


def test_heads_must_suit_the_estimator():
    X, y = np.random.default_rng(0).normal(size=(20, 2)), np.arange(20) % 2
    with pytest.raises(ValueError, match="a classifier needs a head giving probabilities"):
        NumpyNetClassifier(loss="squared_error").fit(X, y)
    with pytest.raises(ValueError, match="a regressor needs a head"):
        NumpyNetRegressor(loss="softmax_cross_entropy").fit(X, y.astype(float))


def test_layer_and_activation_names_do_not_collide():
    from sknn_scratch import register
    from sknn_scratch.nn import Module

    with pytest.raises(ValueError, match="share one namespace"):
        register("layer", "relu", type("MyRelu", (Module,), {}))


REGISTER_PLUGIN = textwrap.dedent(
    """
    import numpy as np
    from sknn_scratch import register
    from sknn_scratch.nn import Module


    @register("layer", "plugin_double")
    class Double(Module):
        def updateOutput(self, input):
            self.output = 2 * np.asarray(input)
            return self.output

        def updateGradInput(self, input, gradOutput):
            self.gradInput = 2 * np.asarray(gradOutput)
            return self.gradInput
    """
)


def test_a_model_with_a_registered_layer_loads_in_a_new_process(tmp_path, monkeypatch):
    import pickle
    import subprocess
    import sys

    from sknn_scratch.registry import LAYERS

    (tmp_path / "sknn_register_example.py").write_text(REGISTER_PLUGIN)
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        import sknn_register_example  # noqa: F401  (registers the layer)

        X, y = np.random.default_rng(0).normal(size=(30, 3)), np.arange(30) % 2
        est = NumpyNetClassifier(layers=[("linear", {"n_out": 4}), "plugin_double"], max_iter=3, random_state=0)
        est.fit(X, y)
        (tmp_path / "model.pkl").write_bytes(pickle.dumps(est))
        np.save(tmp_path / "X.npy", X)
        np.save(tmp_path / "want.npy", est.predict_proba(X))
        code = (
            f"import pickle, numpy as np; d = {str(tmp_path)!r}; est = pickle.load(open(d + '/model.pkl', 'rb')); "
            "assert np.array_equal(est.predict_proba(np.load(d + '/X.npy')), np.load(d + '/want.npy')); print('ok')"
        )
        env_path = str(tmp_path)
        result = subprocess.run(
            [sys.executable, "-c", f"import sys; sys.path.insert(0, {env_path!r}); " + code],
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        assert result.stdout.strip() == "ok", result.stderr[-2000:]
    finally:
        LAYERS._items.pop("plugin_double", None)
        sys.modules.pop("sknn_register_example", None)


def test_a_broken_entry_point_breaks_only_its_own_name(tmp_path, monkeypatch):
    (tmp_path / "sknn_plugin_example.py").write_text(PLUGIN)
    info = tmp_path / "sknn_plugin_broken-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: sknn-plugin-broken\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(
        "[sknn_scratch.layers]\nbroken = no_such_module_here:Layer\nscale = sknn_plugin_example:Scale\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    layers = REGISTRIES["layer"]
    saved = dict(layers._items), layers._entry_points_loaded, dict(layers._broken), set(layers.from_entry_points)
    layers._entry_points_loaded = False
    try:
        with pytest.warns(UserWarning, match="'broken'.*failed to load"):
            assert layers.get("scale").__name__ == "Scale"
        with pytest.raises(ModuleNotFoundError, match="no_such_module_here"):
            layers.get("broken")
    finally:
        layers._items, layers._entry_points_loaded, layers._broken, layers.from_entry_points = saved
