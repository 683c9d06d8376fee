"""Scaling out through ``partial_fit`` and ``max_iter``: dask-ml's ``Incremental`` trains on a
Dask array block by block, and scikit-learn's successive halving spends epochs on the
promising candidates (see docs/scaling.md)."""

import numpy as np
import pytest
from sklearn.datasets import load_digits, make_classification

from sknn_scratch import NumpyNetClassifier

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

X, Y = make_classification(
    n_samples=4000, n_features=20, n_informative=8, n_classes=3, class_sep=1.5, random_state=0
)  # fmt: skip
X = X.astype(np.float32)
BLOCK = 500


def _net():
    return NumpyNetClassifier(hidden_layer_sizes=(32,), learning_rate_init=0.01, random_state=0)


def test_incremental_trains_on_a_dask_array_block_by_block():
    da = pytest.importorskip("dask.array")
    distributed = pytest.importorskip("distributed")
    wrappers = pytest.importorskip("dask_ml.wrappers")
    X_dask, y_dask = da.from_array(X, chunks=BLOCK), da.from_array(Y, chunks=BLOCK)
    with distributed.Client(processes=False, n_workers=1, threads_per_worker=2, dashboard_address=None):
        model = wrappers.Incremental(_net(), scoring="accuracy", shuffle_blocks=False)
        model.fit(X_dask, y_dask, classes=[0, 1, 2])
        predicted = model.predict(X_dask)
        assert isinstance(predicted, da.Array) and predicted.chunks == ((BLOCK,) * 8,)
        predicted = predicted.compute()
        score = model.score(X_dask, y_dask)
    accuracy = float(np.mean(predicted == Y))
    assert accuracy > 0.75 and score == pytest.approx(accuracy)  # chance is 1/3

    # exactly partial_fit over the blocks in order, as on one machine
    local = _net()
    for start in range(0, len(X), BLOCK):
        local.partial_fit(X[start : start + BLOCK], Y[start : start + BLOCK], classes=[0, 1, 2])
    assert model.estimator_.loss_curve_ == local.loss_curve_ and model.estimator_.t_ == len(X)
    np.testing.assert_array_equal(local.predict(X), predicted)


def test_incremental_with_the_synchronous_scheduler_and_shuffled_blocks():
    dask = pytest.importorskip("dask")
    da = pytest.importorskip("dask.array")
    wrappers = pytest.importorskip("dask_ml.wrappers")
    X_dask, y_dask = da.from_array(X, chunks=BLOCK), da.from_array(Y, chunks=BLOCK)
    with dask.config.set(scheduler="synchronous"):
        model = wrappers.Incremental(_net(), scoring="accuracy", random_state=0).fit(X_dask, y_dask, classes=[0, 1, 2])
        first = model.score(X_dask, y_dask)
        for _ in range(2):  # more epochs: each partial_fit is one more pass over the blocks
            model.partial_fit(X_dask, y_dask)
        assert model.score(X_dask, y_dask) > max(first, 0.8)
    assert model.estimator_.t_ == 3 * len(X)


def test_successive_halving_spends_epochs_on_the_promising_candidates():
    from sklearn.experimental import enable_halving_search_cv  # noqa: F401
    from sklearn.model_selection import HalvingRandomSearchCV

    X_digits, y_digits = load_digits(return_X_y=True)
    X_digits, y_digits = (X_digits[:450] / 16).astype(np.float32), y_digits[:450]
    candidates = {"hidden_layer_sizes": [(8,), (32,)], "learning_rate_init": [1e-3, 1e-2]}
    search = HalvingRandomSearchCV(
        NumpyNetClassifier(random_state=0), candidates, resource="max_iter", min_resources=3, max_resources=12,
        factor=2, n_candidates=4, cv=2, random_state=0,
    ).fit(X_digits, y_digits)  # fmt: skip
    assert search.n_resources_ == [3, 6, 12] and search.n_candidates_ == [4, 2, 1]
    best = search.best_params_
    assert best["max_iter"] == 12 and best["hidden_layer_sizes"] in candidates["hidden_layer_sizes"]
    assert search.best_estimator_.n_iter_ == 12 and search.best_score_ > 0.5  # chance is 0.1
    # the survivors of a round are the best of the round before
    results = search.cv_results_
    first = np.flatnonzero(results["iter"] == 0)
    survivors = {str(results["params"][i]) for i in np.flatnonzero(results["iter"] == 1)}
    ranked = sorted(first, key=lambda i: -results["mean_test_score"][i])
    assert survivors == {str({**results["params"][i], "max_iter": 6}) for i in ranked[:2]}
