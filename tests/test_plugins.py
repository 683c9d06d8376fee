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
def registries():
    """The registries read their entry points anew in the test and are as they were after it."""
    import sys

    saved = {
        kind: {key: value.copy() if isinstance(value, (dict, set)) else value for key, value in vars(r).items()}
        for kind, r in REGISTRIES.items()
    }
    modules = set(sys.modules)
    for registry in REGISTRIES.values():
        registry._entry_points_loaded = False
    yield
    for kind, state in saved.items():
        vars(REGISTRIES[kind]).update(state)
    for name in set(sys.modules) - modules:
        if name.startswith(("sknn_test_", "sknn_plugin_example")):
            del sys.modules[name]


@pytest.fixture
def plugin(tmp_path, monkeypatch, registries):
    """The plugin installed as a distribution on sys.path; the registries forget it afterwards."""
    (tmp_path / "sknn_plugin_example.py").write_text(PLUGIN)
    info = tmp_path / "sknn_plugin_example-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: sknn-plugin-example\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(ENTRY_POINTS)
    monkeypatch.syspath_prepend(str(tmp_path))


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
        (dict(solver="adamx"), "plain_sgd"),
        (dict(activation="hardswish"), "softsign"),
        (dict(loss="log_cosh"), "half_squared_error"),
    ]:
        with pytest.raises(ValueError, match=listed):
            NumpyNetClassifier(**params).fit(X, y)
    with pytest.raises(ValueError, match="not a loss on raw scores"):
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
    with pytest.raises(ValueError, match="a classifier needs a loss giving probabilities"):
        NumpyNetClassifier(loss="squared_error").fit(X, y)
    with pytest.raises(ValueError, match="a regressor needs a loss"):
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


def test_a_broken_entry_point_breaks_only_its_own_name(tmp_path, monkeypatch, registries):
    (tmp_path / "sknn_plugin_example.py").write_text(PLUGIN)
    info = tmp_path / "sknn_plugin_broken-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: sknn-plugin-broken\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(
        "[sknn_scratch.layers]\nbroken = no_such_module_here:Layer\nscale = sknn_plugin_example:Scale\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    layers = REGISTRIES["layer"]
    with pytest.warns(UserWarning, match="'broken'.*failed to load"):
        assert layers.get("scale").__name__ == "Scale"
    with pytest.raises(ModuleNotFoundError, match="no_such_module_here"):
        layers.get("broken")


# -- precedence, conflicts and thread-safe loading of entry points ---------------------------
def _install(tmp_path, monkeypatch, distribution, entry_points, modules=None):
    """A distribution named ``distribution`` on sys.path declaring ``entry_points``, with the
    given modules (name: source)."""
    for name, source in (modules or {}).items():
        (tmp_path / f"{name}.py").write_text(textwrap.dedent(source))
    info = tmp_path / f"{distribution.replace('-', '_')}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {distribution}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(textwrap.dedent(entry_points))
    monkeypatch.syspath_prepend(str(tmp_path))


def _small_data():
    rng = np.random.default_rng(0)
    X = rng.random((240, 64))
    return X, (X[:, :3].sum(axis=1) * 1.2).astype(int)


EVIL = """
from sknn_scratch.nn import ReLU
from sknn_scratch.optim import Adam


class EvilReLU(ReLU):
    pass


class EvilAdam(Adam):
    pass
"""


def _plugin_warnings(record):
    return [str(w.message) for w in record if "plugin" in str(w.message)]


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_an_entry_point_never_replaces_a_built_in_and_the_conflict_is_warned_once(tmp_path, monkeypatch, registries):
    import sys
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    from sknn_scratch.nn import ReLU
    from sknn_scratch.optim import Adam

    _install(
        tmp_path, monkeypatch, "sknn-test-evil",
        """
        [sknn_scratch.layers]
        relu = sknn_test_evil:EvilReLU
        [sknn_scratch.optimizers]
        adam = sknn_test_evil:EvilAdam
        """,
        {"sknn_test_evil": EVIL},
    )  # fmt: skip
    X, y = _small_data()
    with pytest.warns(UserWarning) as record:
        est = NumpyNetClassifier(hidden_layer_sizes=(8,), max_iter=2, random_state=0).fit(X, y)
        assert REGISTRIES["optimizer"].get("adam") is Adam
        assert "adam" in REGISTRIES["optimizer"].names()
        assert REGISTRIES["layer"].names()  # (a default fit builds its MLP without reading the layer plugins)
    (relu, adam) = sorted(_plugin_warnings(record), key=lambda m: "adam" in m)
    for message, plugin, built_in in [(relu, "EvilReLU", "ReLU"), (adam, "EvilAdam", "Adam")]:
        assert f"sknn_test_evil:{plugin}" in message and "sknn-test-evil" in message, message
        assert "built-in" in message and "sknn_scratch." in message and f".{built_in}" in message, message
    assert [type(m) for m in est.network_] == [type(est.network_[0]), ReLU, type(est.network_[2])]
    assert "sknn_test_evil" not in sys.modules  # a plugin that loses to a built-in is not even imported
    with warnings.catch_warnings():  # once: not at the next fit, nor when the entry points are read again
        warnings.simplefilter("error")
        warnings.simplefilter("ignore", ConvergenceWarning)
        NumpyNetClassifier(hidden_layer_sizes=(8,), max_iter=2, random_state=0).fit(X, y)
        REGISTRIES["layer"]._entry_points_loaded = False
        assert "relu" not in REGISTRIES["layer"].names()


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_a_broken_plugin_under_a_built_in_name_breaks_no_fit(tmp_path, monkeypatch, registries):
    _install(tmp_path, monkeypatch, "sknn-test-broken-relu", "[sknn_scratch.layers]\nrelu = sknn_test_missing:ReLU\n")
    X, y = _small_data()
    with pytest.warns(UserWarning, match=r"'relu' \(sknn_test_missing:ReLU.*built-in"):
        est = NumpyNetClassifier(hidden_layer_sizes=(8,), max_iter=2, random_state=0).fit(X, y)
        NumpyNetClassifier(layers=[("linear", {"n_out": 8}), "relu"], max_iter=2, random_state=0).fit(X, y)
    assert est.score(X, y) > 0


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_a_broken_plugin_breaks_only_its_own_names(tmp_path, monkeypatch, registries):
    (tmp_path / "sknn_plugin_example.py").write_text(PLUGIN)
    _install(
        tmp_path, monkeypatch, "sknn-test-broken",
        "[sknn_scratch.layers]\nbroken = sknn_test_missing:Layer\nscale = sknn_plugin_example:Scale\n",
    )  # fmt: skip
    X, y = _small_data()
    with pytest.warns(UserWarning, match="'broken'.*failed to load"):
        est = NumpyNetClassifier(layers=[("linear", {"n_out": 4}), "relu", "scale"], max_iter=2).fit(X, y)
    assert type(est.network_[2]).__name__ == "Scale"
    with pytest.raises(ModuleNotFoundError, match="sknn_test_missing"):
        NumpyNetClassifier(layers=["broken"], max_iter=2).fit(X, y)


TWO_LAYERS = """
import numpy as np
from sknn_scratch.nn import Module


class Times{n}(Module):
    def updateOutput(self, input):
        self.output = {n} * np.asarray(input)
        return self.output

    def updateGradInput(self, input, gradOutput):
        self.gradInput = {n} * np.asarray(gradOutput)
        return self.gradInput
"""


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_two_plugins_giving_one_name_make_that_name_an_error(tmp_path, monkeypatch, registries):
    """Which of the two is meant cannot be told (and a saved model names its components):
    asking for the name is an error naming both; their other names work."""
    from sknn_scratch import register

    _install(
        tmp_path, monkeypatch, "sknn-test-two",
        "[sknn_scratch.layers]\ntwice = sknn_test_two:Times2\ndouble = sknn_test_two:Times2\n",
        {"sknn_test_two": TWO_LAYERS.format(n=2)},
    )  # fmt: skip
    _install(
        tmp_path, monkeypatch, "sknn-test-three",
        "[sknn_scratch.activations]\ntwice = sknn_test_three:Times3\ntriple = sknn_test_three:Times3\n",
        {"sknn_test_three": TWO_LAYERS.format(n=3)},
    )  # fmt: skip
    X, y = _small_data()
    with pytest.warns(UserWarning, match="'twice'.*sknn_test_three:Times3.*sknn_test_two:Times2"):
        est = NumpyNetClassifier(layers=["double", "triple"], max_iter=2, random_state=0).fit(X, y)
    assert [type(m).__name__ for m in est.network_][:2] == ["Times2", "Times3"]
    for kind in ("layer", "activation"):
        with pytest.raises(ValueError, match="'twice'.*sknn_test_three:Times3.*sknn_test_two:Times2"):
            REGISTRIES[kind].get("twice")
    with pytest.raises(ValueError, match="'twice'.*sknn-test-three.*sknn-test-two"):
        NumpyNetClassifier(layers=["twice"], max_iter=2).fit(X, y)
    # a register() call settles it
    import sknn_test_two

    register("layer", "twice", sknn_test_two.Times2)
    assert REGISTRIES["layer"].get("twice") is sknn_test_two.Times2


SLOW = """
import time

import sknn_test_signal
from sknn_scratch import register
from sknn_scratch.nn import Identity
from sknn_scratch.registry import LAYERS

sknn_test_signal.importing.set()
time.sleep(0.5)
assert LAYERS.get("linear").__name__ == "Linear"
{lookup}


class {name}(Identity):
    pass


@register("layer", "{name}_helper".lower())
class {name}Helper(Identity):
    pass
"""


#: looking a missing name up while the entry points load, from the loading thread: no deadlock, no recursion
LOOKUP = 'assert "sknn_test_no_such_name" not in LAYERS'


def _slow_plugin(tmp_path, monkeypatch, name, lookup=LOOKUP):
    import sys
    import threading
    import types

    signal = types.ModuleType("sknn_test_signal")
    signal.importing = threading.Event()
    monkeypatch.setitem(sys.modules, "sknn_test_signal", signal)
    module = f"sknn_test_{name.lower()}"
    _install(
        tmp_path, monkeypatch, module.replace("_", "-"),
        f"[sknn_scratch.layers]\n{name.lower()} = {module}:{name}\n", {module: SLOW.format(name=name, lookup=lookup)},
    )  # fmt: skip
    return module, signal.importing


def _ask_at_once(name, n_threads=8, before=None):
    """``LAYERS.get(name)`` from ``n_threads`` threads started together: what they got and raised."""
    import threading

    barrier, got, raised = threading.Barrier(n_threads), [], []

    def ask():
        barrier.wait()
        try:
            got.append(REGISTRIES["layer"].get(name))
        except Exception as exc:  # noqa: BLE001  (reported by the test)
            raised.append(exc)

    threads = [threading.Thread(target=ask, daemon=True) for _ in range(n_threads)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "deadlock: threads still waiting after 60 s"
    return got, raised


def test_threads_asking_while_a_plugin_imports_all_get_its_class(tmp_path, monkeypatch, registries):
    """The first lookup imports the plugin (slowly); the threads that ask meanwhile wait
    for it instead of finding no such name."""
    _slow_plugin(tmp_path, monkeypatch, "Sluggish")
    got, raised = _ask_at_once("sluggish")
    assert raised == [] and len(got) == 8
    assert all(cls is got[0] for cls in got) and got[0].__name__ == "Sluggish"
    assert REGISTRIES["layer"].get("sluggish_helper").__name__ == "SluggishHelper"  # registered at import


def test_a_plugin_imported_by_one_thread_while_another_loads_the_entry_points(tmp_path, monkeypatch, registries):
    """One thread imports the plugin module itself (which registers a layer at import)
    while others read the entry points and wait for that import: no deadlock."""
    import importlib
    import threading

    module, importing = _slow_plugin(tmp_path, monkeypatch, "Lagging", lookup="")
    importer = threading.Thread(target=importlib.import_module, args=(module,), daemon=True)
    importer.start()
    assert importing.wait(timeout=60)
    got, raised = _ask_at_once("lagging", n_threads=4)
    importer.join(timeout=60)
    assert not importer.is_alive()
    assert raised == [] and len(got) == 4 and all(cls.__name__ == "Lagging" for cls in got)


def test_an_entry_point_to_something_that_is_not_a_component_breaks_only_its_name(tmp_path, monkeypatch, registries):
    _install(
        tmp_path, monkeypatch, "sknn-test-not-a-class",
        "[sknn_scratch.layers]\nhalf = sknn_test_half:half\n",
        {"sknn_test_half": "def half(x):\n    return x / 2\n"},
    )  # fmt: skip
    X, y = _small_data()
    with pytest.warns(UserWarning, match="'half'.*failed to load.*subclass of sknn_scratch.nn.module.Module"):
        NumpyNetClassifier(layers=[("linear", {"n_out": 4}), "relu"], max_iter=2).fit(X, y)
    with pytest.raises(TypeError, match="'half' would be registered as <function half"):
        NumpyNetClassifier(layers=["half"], max_iter=2).fit(X, y)
