"""scikit-learn's own callbacks (``set_callbacks``) see every epoch as a subtask of fit."""

import pickle

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler

from sknn_scratch import NumpyNetClassifier

callback = pytest.importorskip("sklearn.callback")
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:500] / 16, y[:500]


@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_scoring_monitor_logs_a_score_per_epoch(digits, solver):
    X, y = digits
    monitor = callback.ScoringMonitor(scoring="accuracy")
    clf = NumpyNetClassifier(hidden_layer_sizes=(16,), solver=solver, max_iter=4, random_state=0)
    clf.set_callbacks(monitor).fit(X, y)
    rows = monitor.get_logs().data
    epochs = [row["accuracy"] for row in rows if row["task_name"] == "epoch"]
    assert len(epochs) == clf.n_iter_
    final = [row["accuracy"] for row in rows if row["task_name"] == "fit"]
    assert final == [clf.score(X, y)] and epochs[-1] == pytest.approx(final[0])
    assert not hasattr(clf, "_callback_fit_ctx")  # torn down after fit
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(clf)).predict(X), clf.predict(X))


# scikit-learn says, rightly, that the pipeline's scaler takes no callbacks
@pytest.mark.filterwarnings("ignore:The estimator MinMaxScaler does not support callbacks:UserWarning")
def test_progress_bar_shows_epochs_through_grid_search_and_pipeline(digits, capsys):
    pytest.importorskip("rich")
    X, y = digits
    pipe = make_pipeline(MinMaxScaler(), NumpyNetClassifier(hidden_layer_sizes=(8,), max_iter=3, random_state=0))
    search = GridSearchCV(pipe, {"numpynetclassifier__alpha": [1e-4, 1e-2]}, cv=2)
    search.set_callbacks(callback.ProgressBar(max_propagation_depth=None)).fit(X, y)
    out = capsys.readouterr().out
    assert "GridSearchCV" in out and "Pipeline" in out and "NumpyNetClassifier - fit" in out
    assert search.best_estimator_[-1].n_iter_ == 3
