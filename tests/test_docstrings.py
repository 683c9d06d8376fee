"""The estimators document every parameter and attribute, and every Examples section runs."""

import doctest
import importlib
import inspect

import numpydoc.docscrape
import pytest

from sknn_scratch import NumpyNetClassifier, NumpyNetRegressor


@pytest.mark.parametrize("cls", [NumpyNetClassifier, NumpyNetRegressor])
def test_every_parameter_attribute_and_method_argument_is_described(cls):
    doc = numpydoc.docscrape.ClassDoc(cls, config={"show_class_members": False})
    params = [p for p in inspect.signature(cls).parameters]
    assert [p.name for p in doc["Parameters"]] == params
    assert all(p.desc for p in doc["Parameters"]), [p.name for p in doc["Parameters"] if not p.desc]
    assert all(a.desc for a in doc["Attributes"]) and len(doc["Attributes"]) >= 17
    for method in ("fit", "partial_fit", "predict", "predict_proba", "predict_log_proba"):
        if not hasattr(cls, method):
            continue
        mdoc = numpydoc.docscrape.FunctionDoc(getattr(cls, method))
        described = {p.name for p in mdoc["Parameters"]}
        assert set(inspect.signature(getattr(cls, method)).parameters) - {"self"} <= described, method


MODULES = [
    "sknn_scratch.estimators.classifier",
    "sknn_scratch.estimators.regressor",
    "sknn_scratch.callbacks",
    "sknn_scratch.nn.container",
    "sknn_scratch.nn.linear",
    "sknn_scratch.nn.conv",
    "sknn_scratch.nn.pooling",
    "sknn_scratch.nn.dropout",
    "sknn_scratch.nn.normalization",
    "sknn_scratch.nn.reshape",
    "sknn_scratch.registry",
    "sknn_scratch.testing",
    "sknn_scratch.fpenv",
    "sknn_scratch.plotting",
    "sknn_scratch.onnx",
]


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("name", MODULES)
def test_examples_run_as_doctests(name):
    if name == "sknn_scratch.plotting":
        pytest.importorskip("matplotlib")
    if name == "sknn_scratch.onnx":
        pytest.importorskip("skl2onnx")
        pytest.importorskip("onnxruntime")
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
