"""Objects that a fitted model shares stay shared through every round trip (pickle,
joblib with and without a memory map, skops, deepcopy): the Dropout layers of a
network draw their masks from one generator, so a loaded model goes on training
exactly as the original does."""

import copy
import pickle

import joblib
import numpy as np
import pytest

from sknn_scratch import NumpyNetClassifier
from sknn_scratch._plain import from_plain, to_plain
from sknn_scratch.nn import Dropout, Linear, ReLU, Sequential

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _data(n=240, n_features=64, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.random((n, n_features))
    y = (X[:, :3].sum(axis=1) * 1.2).astype(int)  # 4 classes
    return X, y


MODELS = {
    "dense": lambda: NumpyNetClassifier(hidden_layer_sizes=(16, 16), dropout=0.3, max_iter=3, random_state=0),
    "cnn": lambda: NumpyNetClassifier(
        layers=[
            ("conv2d", {"out_channels": 4, "kernel_size": 3}),
            "relu",
            ("dropout", {"p": 0.25}),
            ("maxpool2d", {"kernel_size": 2}),
            ("linear", {"n_out": 16}),
            "relu",
            ("dropout", {"p": 0.25}),
        ],
        input_shape=(1, 8, 8),
        max_iter=2,
        random_state=0,
    ),
    # the generator given as random_state is the one every Dropout layer draws from
    "generator random_state": lambda: NumpyNetClassifier(
        hidden_layer_sizes=(16, 16), dropout=0.3, max_iter=3, random_state=np.random.default_rng(7)
    ),
}


def _dropouts(est):
    return [m for m in est.network_.leaves() if isinstance(m, Dropout)]


def _round_trips(est, tmp_path):
    """Every way of saving and loading a model, each from the same fitted state."""
    trips = {"pickle": pickle.loads(pickle.dumps(est)), "deepcopy": copy.deepcopy(est)}
    path = tmp_path / "model.joblib"
    joblib.dump(est, path)
    trips["joblib"] = joblib.load(path)
    trips["joblib mmap"] = joblib.load(path, mmap_mode="r")
    try:
        import skops.io as sio
    except ImportError:
        pass
    else:
        data = sio.dumps(est)
        trusted = [f"{type(est).__module__}.{type(est).__name__}"]  # the documented recipe: the class only
        trips["skops"] = sio.loads(data, trusted=trusted)
    return trips


@pytest.mark.parametrize("model", list(MODELS))
def test_round_trips_keep_the_shared_dropout_generator_and_train_as_the_original(model, tmp_path):
    X, y = _data()
    est = MODELS[model]().fit(X, y)
    layers = _dropouts(est)
    assert len(layers) >= 2 and all(d.rng is layers[0].rng for d in layers)
    trips = _round_trips(est, tmp_path)
    est.partial_fit(X[:100], y[:100])  # the original itself, not a copy of it
    for how, loaded in trips.items():
        copies = _dropouts(loaded)
        assert all(d.rng is copies[0].rng for d in copies), f"{how}: the Dropout layers' generator was unshared"
        if isinstance(loaded.random_state, np.random.Generator):
            assert copies[0].rng is loaded.random_state, how
        loaded.partial_fit(X[:100], y[:100])
        for mine, theirs in zip(loaded.coefs_ + loaded.intercepts_, est.coefs_ + est.intercepts_, strict=True):
            np.testing.assert_array_equal(mine, theirs, err_msg=how)
        np.testing.assert_array_equal(loaded.predict_proba(X), est.predict_proba(X), err_msg=how)
    # and the generators are where the original's is: the next masks are the same
    draws = _dropouts(est)[0].rng.random(4)
    for how, loaded in trips.items():
        np.testing.assert_array_equal(_dropouts(loaded)[-1].rng.random(4), draws, err_msg=how)


def test_a_warm_start_of_a_loaded_model_trains_as_the_original(tmp_path):
    X, y = _data()
    est = MODELS["dense"]().fit(X, y)
    trips = _round_trips(est, tmp_path)
    est.set_params(warm_start=True, max_iter=2).fit(X, y)
    for how, loaded in trips.items():
        loaded.set_params(warm_start=True, max_iter=2).fit(X, y)
        np.testing.assert_array_equal(loaded.predict_proba(X), est.predict_proba(X), err_msg=how)


def test_an_object_described_twice_comes_back_as_one_object():
    rng = np.random.default_rng(3)
    drop = Dropout(0.5, rng=rng)
    linear = Linear(3, 2, rng=rng)
    net = Sequential(linear, ReLU(), drop)
    state = {"net": net, "again": [linear, drop], "rng": rng, "pair": (rng, net)}
    plain = to_plain(state)
    # a shared object is described once; its other occurrences refer to that description
    assert pickle.dumps(plain).count(b"PCG64") == 1
    for loaded in (from_plain(plain), from_plain(pickle.loads(pickle.dumps(plain)))):
        net2 = loaded["net"]
        assert loaded["again"][0] is net2.modules[0] and loaded["again"][1] is net2.modules[2]
        assert loaded["rng"] is net2.modules[2].rng is loaded["pair"][0]
        assert loaded["pair"][1] is net2
        np.testing.assert_array_equal(net2.modules[0].W, linear.W)
        np.testing.assert_array_equal(loaded["rng"].random(3), copy.deepcopy(rng).random(3))


def test_distinct_objects_stay_distinct():
    a, b = np.random.default_rng(1), np.random.default_rng(1)  # equal states, two objects
    loaded = from_plain(to_plain([a, b, Dropout(0.5, rng=a), Dropout(0.5, rng=b)]))
    assert loaded[0] is not loaded[1]
    assert loaded[2].rng is loaded[0] and loaded[3].rng is loaded[1]
