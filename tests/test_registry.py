import sys
import textwrap
from importlib import metadata

import numpy as np
import pytest

import sknn_scratch
from sknn_scratch import nn, register
from sknn_scratch.registry import ACTIVATIONS, CRITERIA, LAYERS, OPTIMIZERS, Registry, UnknownComponentError
from sknn_scratch.testing import check_module


def test_builtin_names():
    assert {"linear", "conv2d", "maxpool2d", "dropout", "batchnorm", "flatten"} <= set(LAYERS.names())
    assert {"relu", "tanh", "logistic", "identity", "softmax", "logsoftmax"} <= set(ACTIVATIONS.names())
    assert {"nll", "mse", "bce", "poisson"} <= set(CRITERIA.names())
    assert {"sgd", "adam"} <= set(OPTIMIZERS.names())
    assert LAYERS.get("Conv2D") is nn.Conv2d  # case-insensitive


def test_unknown_name_lists_known_and_suggests_closest():
    with pytest.raises(UnknownComponentError) as info:
        LAYERS.get("conv2")
    message = str(info.value)
    assert "Did you mean 'conv2d'?" in message
    for name in LAYERS.names():
        assert name in message
    assert isinstance(info.value, ValueError)


def test_register_duplicate_is_an_error_unless_replace():
    reg = Registry("widget", "sknn_scratch.test_widgets")
    reg.register("thing", int)
    with pytest.raises(ValueError, match="already registered"):
        reg.register("thing", float)
    reg.register("thing", float, replace=True)
    assert reg.get("thing") is float
    reg.register("thing", float)  # the same object again is harmless


def test_register_decorator_and_checker():
    @register("activation", "softsign_test")
    class Softsign(nn.Module):
        def updateOutput(self, input):
            self.output = input / (1 + np.abs(input))
            return self.output

        def updateGradInput(self, input, gradOutput):
            self.gradInput = gradOutput / (1 + np.abs(input)) ** 2
            return self.gradInput

    try:
        assert ACTIVATIONS.get("softsign_test") is Softsign
        check_module(Softsign(), np.random.default_rng(0).normal(size=(3, 4)))
    finally:
        ACTIVATIONS.unregister("softsign_test")
    with pytest.raises(ValueError, match="Unknown registry kind"):
        register("loss-function", "x", int)


def test_entry_point_plugin_is_found_by_name(tmp_path, monkeypatch):
    """A distribution on sys.path that declares an entry point in group
    sknn_scratch.layers is found by name, without an explicit register call."""
    pkg = tmp_path / "sknn_plugin_demo"
    pkg.mkdir()
    (pkg / "__init__.py").write_text(
        textwrap.dedent(
            """
            import numpy as np
            from sknn_scratch.nn import Module

            class Scale2(Module):
                def updateOutput(self, input):
                    self.output = 2 * input
                    return self.output

                def updateGradInput(self, input, gradOutput):
                    self.gradInput = 2 * gradOutput
                    return self.gradInput
            """
        )
    )
    dist = tmp_path / "sknn_plugin_demo-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: sknn-plugin-demo\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[sknn_scratch.layers]\nscale2 = sknn_plugin_demo:Scale2\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert any(ep.name == "scale2" for ep in metadata.entry_points(group="sknn_scratch.layers"))

    reg = Registry("layer", "sknn_scratch.layers")  # a fresh registry: entry points not yet read
    for name, obj in {n: LAYERS.get(n) for n in LAYERS.names()}.items():
        reg.register(name, obj)
    cls = reg.get("scale2")
    assert cls.__name__ == "Scale2"
    assert "scale2" in reg.names()
    check_module(cls(), np.ones((2, 3)))
    sys.modules.pop("sknn_plugin_demo", None)


def test_estimator_uses_registered_layer():
    @register("layer", "times_three_test")
    class TimesThree(nn.Module):
        def updateOutput(self, input):
            self.output = 3 * input
            return self.output

        def updateGradInput(self, input, gradOutput):
            self.gradInput = 3 * gradOutput
            return self.gradInput

    try:
        X = np.random.default_rng(0).normal(size=(40, 3))
        y = (X[:, 0] > 0).astype(int)
        clf = sknn_scratch.NumpyNetClassifier(
            layers=["times_three_test", ("linear", {"n_out": 4}), "relu"], max_iter=5, random_state=0
        ).fit(X, y)
        assert isinstance(clf.network_[0], TimesThree)
    finally:
        LAYERS.unregister("times_three_test")
