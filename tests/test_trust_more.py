"""More of what an adversarial user tried, and what the estimators now guarantee (see
test_trust.py and test_reliability.py for the first round)."""

import threading
import warnings

import numpy as np
import pytest

from sknn_scratch import NumpyNetClassifier, NumpyNetRegressor, TabularNetClassifier
from sknn_scratch.callbacks import Callback
from sknn_scratch.nn import Dropout, ReLU
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


# -- what is not a component of its kind is refused when it is registered --------------------
class _NotAModule:
    pass


def _a_factory(**kwargs):
    return 42


@pytest.mark.parametrize("obj", [42, "relu", _NotAModule, _a_factory, ReLU()], ids=repr)
@pytest.mark.parametrize(
    "kind, base",
    [
        ("layer", "Module"),
        ("activation", "Module"),
        ("criterion", "Criterion"),
        ("optimizer", "Optimizer"),
        ("schedule", "Schedule"),
    ],
)
def test_something_that_is_not_a_component_of_its_kind_is_refused_when_registered(kind, base, obj):
    name = f"not_a_{kind}"
    with pytest.raises(TypeError, match=rf"A {kind} is a subclass of .*\.{base}; '{name}' would be registered as"):
        register(kind, name, obj)
    assert name not in REGISTRIES[kind].names()


# -- a continued fit with a random_state instance: one stream, not a replayed copy -------------
class _FirstMask(Callback):
    """Keeps the mask of the first Dropout layer after the first batch."""

    def __init__(self):
        self.mask = None

    def on_batch_end(self, estimator, logs):
        if self.mask is None:
            self.mask = next(m for m in estimator.network_.leaves() if isinstance(m, Dropout)).mask.copy()


@pytest.mark.parametrize("source", ["Generator", "RandomState"])
@pytest.mark.parametrize("call", ["partial_fit", "warm start"])
def test_a_continued_fit_does_not_replay_the_shuffling_numbers_as_dropout_masks(source, call):
    X, y = _data(n=64)
    state = np.random.default_rng(5) if source == "Generator" else np.random.RandomState(5)
    est = _clf(hidden_layer_sizes=(16,), dropout=0.5, batch_size=64, random_state=state).fit(X, y)
    # the numbers a copy of the stream would give the first mask, which the shuffling draws too
    if source == "Generator":
        replay = np.random.Generator(type(state.bit_generator)())
        replay.bit_generator.state = state.bit_generator.state
    else:
        replay = np.random.Generator(np.random.MT19937())
        replay.bit_generator.state = {"bit_generator": "MT19937", "state": state.get_state(legacy=False)["state"]}
    replayed = Dropout(0.5, rng=replay).forward(np.ones((64, 16))) > 0
    first = _FirstMask()
    est.set_params(callbacks=first)
    est.partial_fit(X, y) if call == "partial_fit" else est.set_params(warm_start=True).fit(X, y)
    assert not np.array_equal(first.mask > 0, replayed)
    layers = [m for m in est.network_.leaves() if isinstance(m, Dropout)]
    if source == "Generator":  # the layers draw from the generator given, as after fit (see the persistence page)
        assert all(layer.rng is state for layer in layers)


# -- a callback holding something that does not copy is still put back whole ----------------
class _LockedLog(Callback):
    """Logs epochs under a lock (which does not copy), and fails at epoch 3."""

    def __init__(self):
        self.lock, self.seen, self.count = threading.Lock(), [], 0

    def on_epoch_end(self, estimator, logs):
        with self.lock:
            self.seen.append(logs["epoch"])
            self.count += 1
        if logs["epoch"] == 3:
            raise RuntimeError("fails at epoch 3")


def test_a_failed_fit_puts_back_every_attribute_of_a_callback_holding_a_lock():
    X, y = _data()
    log = _LockedLog()
    lock = log.lock
    with pytest.raises(RuntimeError, match="fails at epoch 3"):
        _clf(max_iter=5, callbacks=[log]).fit(X, y)
    assert log.seen == [] and log.count == 0  # the list too, not only the counter
    assert log.lock is lock  # what does not copy is kept as it is
