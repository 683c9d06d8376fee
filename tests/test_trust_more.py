"""More of what an adversarial user tried, and what the estimators now guarantee (see
test_trust.py and test_reliability.py for the first round)."""

import warnings

import numpy as np
import pytest

from sknn_scratch import NumpyNetClassifier, NumpyNetRegressor, TabularNetClassifier
from sknn_scratch.nn import ReLU
from sknn_scratch.registry import REGISTRIES, register

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _data(n=120, n_features=16, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.random((n, n_features))
    return X, (X[:, 0] > 0.5).astype(int)


def _clf(**kw):
    return NumpyNetClassifier(**{"hidden_layer_sizes": (8,), "max_iter": 3, "random_state": 0, **kw})


# -- weights whose sum leaves the dtype's range would train nothing, silently -----------------
@pytest.mark.parametrize(
    "weight, dtype, match",
    [
        (1e308, np.float64, "add up to more than float64 holds"),
        (1e37, np.float32, "add up to more than float32 holds"),
        (1e-320, np.float64, "are all below float64's smallest normal number"),
        (1e-40, np.float32, "are all below float32's smallest normal number"),
    ],
)
def test_weights_out_of_the_dtypes_range_are_named_instead_of_training_nothing(weight, dtype, match):
    X, y = _data()
    X = X.astype(dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the error says it all: no overflow warning before it
        with pytest.raises(ValueError, match=f"sample_weight: the weights {match}"):
            _clf().fit(X, y, sample_weight=np.full(len(y), weight))
        with pytest.raises(ValueError, match=f"sample_weight_val: the weights {match}"):
            _clf().fit(X, y, validation_data=(X, y, np.full(len(y), weight)))
        with pytest.raises(ValueError, match=f"the weights times the class weights {match}"):
            _clf(class_weight={0: weight, 1: weight}).fit(X, y)
        with pytest.raises(ValueError, match=match):
            NumpyNetRegressor(max_iter=2).fit(X, X[:, 0], sample_weight=np.full(len(y), weight))
    # large and small weights that stay in range train as the same weights scaled do (up
    # to the L2 term, which MLP divides by their sum: alpha=0 leaves it out)
    big, unit = _clf(alpha=0.0), _clf(alpha=0.0)
    big.fit(X, y, sample_weight=np.full(len(y), 1e30 if dtype == np.float32 else 1e300))
    unit.fit(X, y, sample_weight=np.ones(len(y)))
    np.testing.assert_allclose(big.loss_curve_, unit.loss_curve_, rtol=1e-5)


def test_the_tabular_estimators_name_such_weights_too():
    X, y = _data()
    with pytest.raises(ValueError, match="add up to more than float32 holds"):
        TabularNetClassifier(hidden_layer_sizes=(8,), max_iter=2).fit(X, y, sample_weight=np.full(len(y), 1e37))


# -- anything may be registered under a name: what is not a component is named at fit ---------
class _NotAModule:
    pass


def _a_factory(**kwargs):
    return 42


@pytest.mark.parametrize("obj", [42, "relu", _NotAModule, _a_factory, ReLU()], ids=repr)
@pytest.mark.parametrize(
    "kind, param, base",
    [
        ("layer", "layers", "Module"),
        ("activation", "activation", "Module"),
        ("criterion", "loss", "Criterion"),
        ("optimizer", "solver", "Optimizer"),
        ("schedule", "learning_rate", "Schedule"),
    ],
)
def test_a_name_registered_for_something_that_is_not_a_component_is_named_at_fit(kind, param, base, obj):
    X, y = _data(n=40)
    name = f"not_a_{kind}"
    register(kind, name, obj)
    try:
        est = (NumpyNetRegressor if kind == "criterion" else NumpyNetClassifier)(
            hidden_layer_sizes=(4,), max_iter=2, **{param: [name] if param == "layers" else name}
        )
        with pytest.raises(TypeError, match=rf"the {kind} registered as '{name}' is .*not a subclass of .*\.{base}"):
            est.fit(X, y)
        assert not hasattr(est, "network_")
    finally:
        REGISTRIES[kind].unregister(name)
