"""NumpyNet* are drop-ins for MLP*: same parameters, methods, attributes and behaviours."""

import inspect
import io
import pickle
import warnings

import joblib
import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import load_digits, load_iris, make_multilabel_classification, make_regression
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.preprocessing import StandardScaler

from sknn_scratch import NumpyNetClassifier, NumpyNetRegressor

X_IRIS, Y_IRIS = load_iris(return_X_y=True)
X_IRIS = StandardScaler().fit_transform(X_IRIS)
X_REG, Y_REG = make_regression(n_samples=120, n_features=5, noise=1.0, random_state=0)
X_REG = StandardScaler().fit_transform(X_REG)
Y_REG = (Y_REG - Y_REG.mean()) / Y_REG.std()
FAST = dict(hidden_layer_sizes=(16,), learning_rate_init=0.01, max_iter=60, random_state=0)

PAIRS = [(NumpyNetClassifier, MLPClassifier), (NumpyNetRegressor, MLPRegressor)]


@pytest.mark.parametrize("ours, theirs", PAIRS)
def test_every_mlp_parameter_with_same_name_order_kind_and_default(ours, theirs):
    mine = list(inspect.signature(ours).parameters.values())
    ref = list(inspect.signature(theirs).parameters.values())
    assert [p.name for p in mine[: len(ref)]] == [p.name for p in ref]
    for a, b in zip(mine, ref, strict=False):
        assert a.kind == b.kind, a.name
        assert a.default == b.default, a.name
    extras = {p.name for p in mine[len(ref) :]}
    assert {"layers", "input_shape", "dropout", "batch_norm", "callbacks"} <= extras


@pytest.mark.parametrize("ours, theirs", PAIRS)
def test_every_mlp_method(ours, theirs):
    for name in ("fit", "partial_fit", "predict", "score", "get_params", "set_params"):
        assert hasattr(ours, name)
        mine = list(inspect.signature(getattr(ours, name)).parameters.values())
        ref = list(inspect.signature(getattr(theirs, name)).parameters)
        assert [p.name for p in mine[: len(ref)]] == ref, name
        # anything more is keyword-only (fit's validation_data): MLP code calls it the same
        assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in mine[len(ref) :]), name
    if ours is NumpyNetClassifier:
        for name in ("predict_proba", "predict_log_proba"):
            assert hasattr(ours, name)


def _fitted_attributes(est):
    # attributes of the instance, or read from its network and training record (properties)
    names = {k for k in dir(est) if k.endswith("_") and not k.startswith("_")}
    return {k for k in names if hasattr(est, k)} | {"coefs_", "intercepts_"}


@pytest.mark.parametrize("solver", ["adam", "sgd", "lbfgs"])
@pytest.mark.parametrize("early_stopping", [False, True])
@pytest.mark.parametrize("ours, theirs", PAIRS)
def test_same_fitted_attributes_and_shapes(ours, theirs, solver, early_stopping):
    X, y = (X_IRIS, Y_IRIS) if ours is NumpyNetClassifier else (X_REG, Y_REG)
    params = dict(hidden_layer_sizes=(7, 5), solver=solver, early_stopping=early_stopping, max_iter=15, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        a = ours(**params).fit(X, y)
        b = theirs(**params).fit(X, y)
    assert _fitted_attributes(b) <= _fitted_attributes(a) | {"validation_loss_curve_"}
    for name in _fitted_attributes(b):
        va, vb = getattr(a, name), getattr(b, name)
        if name in ("coefs_", "intercepts_"):
            assert [x.shape for x in va] == [x.shape for x in vb]
            assert all(x.dtype == y_.dtype for x, y_ in zip(va, vb, strict=True))
        elif isinstance(vb, list):
            assert isinstance(va, list) and (name != "loss_curve_" or len(va) == a.n_iter_), name
        elif vb is None:
            assert va is None, name
        elif isinstance(vb, (int, float, np.integer, np.floating, str)):
            assert type(va) is type(vb) or (isinstance(va, (int, float, np.number))), name
    assert a.n_layers_ == b.n_layers_ and a.n_outputs_ == b.n_outputs_ and a.out_activation_ == b.out_activation_


def test_targets_binary_multiclass_multilabel_strings():
    r = np.random.default_rng(0)
    X = r.normal(size=(80, 4))
    y_bin = np.where(X[:, 0] + 0.5 * X[:, 1] > 0, "yes", "no")
    clf = NumpyNetClassifier(**FAST).fit(X, y_bin)
    assert clf.out_activation_ == "logistic" and clf.n_outputs_ == 1
    assert list(clf.classes_) == ["no", "yes"] and clf.predict(X).dtype == y_bin.dtype
    assert clf.predict_proba(X).shape == (80, 2) and clf.score(X, y_bin) > 0.9
    np.testing.assert_array_equal(clf.classes_[clf.predict_proba(X).argmax(1)], clf.predict(X))
    np.testing.assert_allclose(np.exp(clf.predict_log_proba(X)), clf.predict_proba(X), rtol=1e-10)

    clf = NumpyNetClassifier(**FAST).fit(X_IRIS, Y_IRIS)
    assert clf.out_activation_ == "softmax" and clf.predict_proba(X_IRIS).shape == (150, 3)
    np.testing.assert_allclose(clf.predict_proba(X_IRIS).sum(1), 1)
    np.testing.assert_allclose(np.exp(clf.predict_log_proba(X_IRIS)), clf.predict_proba(X_IRIS), rtol=1e-10)

    Xm, Ym = make_multilabel_classification(n_samples=100, n_features=6, n_classes=3, random_state=0)
    clf = NumpyNetClassifier(**FAST).fit(StandardScaler().fit_transform(Xm), Ym)
    assert clf.out_activation_ == "logistic" and clf.n_outputs_ == 3
    pred = clf.predict(StandardScaler().fit_transform(Xm))
    assert pred.shape == Ym.shape and set(np.unique(pred)) <= {0, 1}
    assert clf.predict_proba(Xm).shape == (100, 3)


def test_multioutput_regression_and_poisson():
    Y2 = np.column_stack([Y_REG, -Y_REG])
    reg = NumpyNetRegressor(**FAST).fit(X_REG, Y2)
    assert reg.predict(X_REG).shape == (120, 2) and reg.score(X_REG, Y2) > 0.8
    counts = np.random.default_rng(0).poisson(np.exp(0.5 * X_REG[:, 0]))
    reg = NumpyNetRegressor(loss="poisson", **FAST).fit(X_REG, counts)
    assert reg.out_activation_ == "exp" and np.all(reg.predict(X_REG) > 0)
    with pytest.raises(ValueError, match="non-negative"):
        NumpyNetRegressor(loss="poisson", **FAST).fit(X_REG, -np.abs(Y_REG))


def test_sparse_input_matches_dense():
    Xs = sp.csr_matrix(np.where(np.abs(X_IRIS) > 0.5, X_IRIS, 0))
    a = NumpyNetClassifier(**FAST).fit(Xs, Y_IRIS)
    b = NumpyNetClassifier(**FAST).fit(Xs.toarray(), Y_IRIS)
    np.testing.assert_allclose(a.predict_proba(Xs.tocsc()), b.predict_proba(Xs.toarray()), rtol=1e-9, atol=1e-12)


def test_float32_kept_end_to_end():
    X32 = X_IRIS.astype(np.float32)
    clf = NumpyNetClassifier(**FAST).fit(X32, Y_IRIS)
    assert all(c.dtype == np.float32 for c in clf.coefs_ + clf.intercepts_)
    assert clf.predict_proba(X32).dtype == np.float32
    np.testing.assert_allclose(clf.predict_proba(X32).sum(1), 1, rtol=1e-6)
    reg = NumpyNetRegressor(**FAST).fit(X_REG.astype(np.float32), Y_REG)
    assert reg.predict(X_REG.astype(np.float32)).dtype == np.float32


def test_convergence_warning_and_verbose(capsys):
    with pytest.warns(ConvergenceWarning, match="Maximum iterations"):
        NumpyNetClassifier(hidden_layer_sizes=(4,), max_iter=2, verbose=True, random_state=0).fit(X_IRIS, Y_IRIS)
    out = capsys.readouterr().out
    assert "Iteration 1, loss = " in out and "Iteration 2, loss = " in out
    with pytest.warns(ConvergenceWarning, match="lbfgs"):
        NumpyNetClassifier(hidden_layer_sizes=(4,), solver="lbfgs", max_iter=2, random_state=0).fit(X_IRIS, Y_IRIS)


def test_early_stopping_restores_best_weights_and_records_curves():
    X, y = load_digits(return_X_y=True)
    X = X / 16
    clf = NumpyNetClassifier(
        hidden_layer_sizes=(32,),
        early_stopping=True,
        n_iter_no_change=3,
        max_iter=200,
        learning_rate_init=0.05,
        random_state=0,
    ).fit(X, y)
    assert clf.n_iter_ < 200 and clf.best_loss_ is None
    assert len(clf.validation_scores_) == clf.n_iter_ == len(clf.validation_loss_curve_)
    assert clf.best_validation_score_ == max(clf.validation_scores_)
    # the restored weights are those of the best epoch, not the last one
    best_epoch = int(np.argmax(clf.validation_scores_))
    assert best_epoch < clf.n_iter_ - 1
    # the same run cut at the best epoch ends with exactly the restored weights
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        cut = NumpyNetClassifier(
            hidden_layer_sizes=(32,),
            early_stopping=True,
            n_iter_no_change=3,
            max_iter=best_epoch + 1,
            learning_rate_init=0.05,
            random_state=0,
        ).fit(X, y)
    for ca, cb in zip(clf.coefs_ + clf.intercepts_, cut.coefs_ + cut.intercepts_, strict=True):
        np.testing.assert_array_equal(ca, cb)


def test_early_stopping_tiny_data_rules():
    with pytest.raises(ValueError, match="validation set is too small"):
        NumpyNetClassifier(early_stopping=True, max_iter=3).fit(X_IRIS[[0, 60]], Y_IRIS[[0, 60]])
    NumpyNetClassifier(early_stopping=True, max_iter=3, random_state=0).fit(X_IRIS[:10], np.r_[[0] * 5, [1] * 5])
    # a binary class with a single row cannot be stratified, as in MLP; a multiclass split
    # with such a class is not stratified, as in MLP, and fits
    with pytest.raises(ValueError, match="least populated class"):
        NumpyNetClassifier(early_stopping=True, max_iter=3).fit(X_IRIS[:11], np.r_[[0] * 10, [1]])
    est = NumpyNetClassifier(early_stopping=True, max_iter=3, random_state=0)
    assert len(est.fit(X_IRIS[:11], np.r_[[0] * 5, [1] * 5, [2]]).validation_scores_) == 3
    with pytest.raises(ValueError, match="partial_fit does not support early_stopping=True"):
        NumpyNetClassifier(early_stopping=True).partial_fit(X_IRIS, Y_IRIS, classes=[0, 1, 2])


def test_warm_start_and_partial_fit_continue_training():
    clf = NumpyNetClassifier(hidden_layer_sizes=(8,), max_iter=5, warm_start=True, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X_IRIS, Y_IRIS)
        coef = clf.coefs_[0].copy()
        curve = list(clf.loss_curve_)
        clf.fit(X_IRIS, Y_IRIS)
    assert len(clf.loss_curve_) == 10 and clf.loss_curve_[:5] == curve
    assert not np.array_equal(coef, clf.coefs_[0])
    t = clf.t_
    clf.partial_fit(X_IRIS, Y_IRIS)
    assert clf.t_ == t + 150 and clf.n_iter_ == 1

    pf = NumpyNetClassifier(hidden_layer_sizes=(8,), learning_rate_init=0.01, random_state=0)
    with pytest.raises(ValueError, match="classes must be passed"):
        pf.partial_fit(X_IRIS, Y_IRIS)
    for _ in range(30):
        pf.partial_fit(X_IRIS, Y_IRIS, classes=[0, 1, 2])
    assert pf.score(X_IRIS, Y_IRIS) > 0.8
    assert not hasattr(NumpyNetClassifier(solver="lbfgs"), "partial_fit")


def test_same_random_state_same_model_and_no_global_state():
    np.random.seed(0)
    state = np.random.get_state()[1].copy()
    params = dict(hidden_layer_sizes=(8,), dropout=0.2, max_iter=10, random_state=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        a = NumpyNetClassifier(**params).fit(X_IRIS, Y_IRIS)
        b = NumpyNetClassifier(**params).fit(X_IRIS, Y_IRIS)
        c = NumpyNetClassifier(**{**params, "random_state": 4}).fit(X_IRIS, Y_IRIS)
    np.testing.assert_array_equal(a.coefs_[0], b.coefs_[0])
    assert a.loss_curve_ == b.loss_curve_
    assert not np.array_equal(a.coefs_[0], c.coefs_[0])
    np.testing.assert_array_equal(np.random.get_state()[1], state)


def test_non_finite_weights_are_a_clear_error():
    X = X_IRIS * 1e200
    with pytest.raises(ValueError, match="non-finite|diverged"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            NumpyNetRegressor(hidden_layer_sizes=(4,), max_iter=5, learning_rate_init=1.0).fit(X, Y_IRIS * 1e200)


def test_not_fitted_and_feature_count_errors():
    with pytest.raises(NotFittedError):
        NumpyNetClassifier().predict(X_IRIS)
    clf = NumpyNetClassifier(**FAST).fit(X_IRIS, Y_IRIS)
    with pytest.raises(ValueError, match="X has 3 features, but NumpyNetClassifier is expecting 4 features"):
        clf.predict(X_IRIS[:, :3])


def test_coefs_are_mlp_shaped_views_and_settable():
    clf = NumpyNetClassifier(hidden_layer_sizes=(6, 5), max_iter=3, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X_IRIS, Y_IRIS)
    assert [c.shape for c in clf.coefs_] == [(4, 6), (6, 5), (5, 3)]
    assert [b.shape for b in clf.intercepts_] == [(6,), (5,), (3,)]
    clf.coefs_ = [np.zeros_like(c) for c in clf.coefs_]
    clf.intercepts_ = [np.zeros_like(b) for b in clf.intercepts_]
    np.testing.assert_allclose(clf.predict_proba(X_IRIS), 1 / 3)
    with pytest.raises(ValueError, match="does not fit"):
        clf.coefs_ = [np.zeros((2, 2))] * 3


def test_class_weight_and_sample_weight():
    r = np.random.default_rng(0)
    X = r.normal(size=(200, 2))
    y = (X[:, 0] > 1.0).astype(int)  # ~16% positives
    plain = NumpyNetClassifier(**FAST).fit(X, y)
    balanced = NumpyNetClassifier(**FAST, class_weight="balanced").fit(X, y)
    assert balanced.predict(X).mean() > plain.predict(X).mean()
    by_dict = NumpyNetClassifier(**FAST, class_weight={0: 1.0, 1: 5.0}).fit(X, y)
    by_weight = NumpyNetClassifier(**FAST).fit(X, y, sample_weight=np.where(y == 1, 5.0, 1.0))
    np.testing.assert_allclose(by_dict.predict_proba(X), by_weight.predict_proba(X), rtol=1e-10)
    with pytest.raises(ValueError, match="not in classes_"):
        NumpyNetClassifier(**FAST, class_weight={7: 2.0}).fit(X, y)
    with pytest.raises(ValueError, match="non-zero"):
        NumpyNetClassifier(**FAST).fit(X, y, sample_weight=np.zeros(200))


def test_callbacks_can_stop_training():
    seen = []

    def stop_at_three(est, info):
        seen.append(info["iteration"])
        return info["iteration"] >= 3

    clf = NumpyNetClassifier(**{**FAST, "max_iter": 50}, callbacks=[stop_at_three]).fit(X_IRIS, Y_IRIS)
    assert clf.n_iter_ == 3 and seen == [1, 2, 3]


@pytest.mark.parametrize("mmap_mode", [None, "r"])
def test_persistence_round_trip_then_partial_fit_and_warm_start(tmp_path, mmap_mode):
    clf = NumpyNetClassifier(**FAST).fit(X_IRIS, Y_IRIS)
    path = tmp_path / "model.joblib"
    joblib.dump(clf, path)
    loaded = joblib.load(path, mmap_mode=mmap_mode)
    np.testing.assert_array_equal(loaded.predict_proba(X_IRIS), clf.predict_proba(X_IRIS))
    loaded.partial_fit(X_IRIS, Y_IRIS)
    clf.partial_fit(X_IRIS, Y_IRIS)
    np.testing.assert_array_equal(loaded.predict_proba(X_IRIS), clf.predict_proba(X_IRIS))
    loaded.set_params(warm_start=True, max_iter=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        loaded.fit(X_IRIS, Y_IRIS)
    assert loaded.n_iter_ == 2
    again = pickle.loads(pickle.dumps(loaded))
    np.testing.assert_array_equal(again.predict(X_IRIS), loaded.predict(X_IRIS))


def test_bad_input_changes_nothing():
    clf = NumpyNetClassifier(**FAST).fit(X_IRIS, Y_IRIS)
    before = clf.predict_proba(X_IRIS)
    state = dict(vars(clf))
    bad_X = X_IRIS.copy()
    bad_X[0, 0] = np.nan
    for call in (
        lambda: clf.fit(bad_X, Y_IRIS),
        lambda: clf.set_params(layers=["nonexistent_layer"]).fit(X_IRIS, Y_IRIS),
        lambda: clf.set_params(layers=None, input_shape=(3, 3)).fit(X_IRIS, Y_IRIS),
        lambda: clf.set_params(input_shape=None).partial_fit(X_IRIS[:, :3], Y_IRIS),
        lambda: clf.partial_fit(X_IRIS, np.full(150, 7)),
    ):
        with pytest.raises(ValueError):
            call()
        assert vars(clf).keys() == state.keys()
        np.testing.assert_array_equal(clf.predict_proba(X_IRIS), before)
    fresh = NumpyNetClassifier(layers=["nonexistent_layer"])
    with pytest.raises(ValueError, match="Unknown layer"):
        fresh.fit(X_IRIS, Y_IRIS)
    with pytest.raises(NotFittedError):
        fresh.predict(X_IRIS)
    fresh = NumpyNetClassifier()
    with pytest.raises(ValueError):
        fresh.partial_fit(bad_X, Y_IRIS, classes=[0, 1, 2])
    assert not hasattr(fresh, "classes_")


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize(
    "params",
    [
        dict(solver="adam"),
        dict(solver="sgd", shuffle=False),
        dict(solver="adam", early_stopping=True),  # the bad row may land in the validation part
        dict(solver="lbfgs"),
    ],
    ids=["adam", "sgd-no-shuffle", "early-stopping", "lbfgs"],
)
def test_fit_rejects_non_finite_input_in_any_row(value, params):
    message = "Input X contains NaN" if np.isnan(value) else "Input X contains infinity"
    for row in (0, 77, 149):
        bad = X_IRIS.astype(np.float32)
        bad[row, 3] = value
        clf = NumpyNetClassifier(hidden_layer_sizes=(4,), batch_size=16, max_iter=2, random_state=0, **params)
        with pytest.raises(ValueError, match=message):
            clf.fit(bad, Y_IRIS)
        assert not hasattr(clf, "coefs_") and not hasattr(clf, "classes_")


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_fit_checks_rows_of_zero_weight_and_refits_change_nothing_on_error():
    bad = X_IRIS.copy()
    bad[140:, 0] = np.nan
    weights = np.ones(150)
    weights[135:] = 0.0  # the last batch (rows 135-149 without shuffling) carries no gradient
    clf = NumpyNetClassifier(hidden_layer_sizes=(4,), batch_size=15, shuffle=False, max_iter=2, random_state=0)
    with pytest.raises(ValueError, match="Input X contains NaN"):
        clf.fit(bad, Y_IRIS, sample_weight=weights)
    fitted = NumpyNetClassifier(hidden_layer_sizes=(4,), max_iter=3, random_state=0).fit(X_IRIS, Y_IRIS)
    before = fitted.predict_proba(X_IRIS)
    for warm_start in (False, True):  # a new network, or the fitted one trained further
        with pytest.raises(ValueError, match="Input X contains NaN"):
            fitted.set_params(warm_start=warm_start).fit(bad, Y_IRIS)
        np.testing.assert_array_equal(fitted.predict_proba(X_IRIS), before)


@pytest.mark.parametrize("alpha", [0.3, 0.0])  # 0: no L2 term, the gradient starts from zeros
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("weighted", [False, True])
def test_training_objective_is_mlp_loss_with_its_l2_term_and_gradient(dtype, weighted, alpha):
    from sknn_scratch.estimators._training import Objective
    from sknn_scratch.nn import Conv2d, Flatten, Linear, Sequential, SoftmaxCrossEntropyCriterion

    rng = np.random.default_rng(0)
    net = Sequential(Conv2d(1, 2, 3, rng=0, dtype=dtype), Flatten(), Linear(2 * 4 * 4, 3, rng=1, dtype=dtype))
    X = rng.normal(size=(5, 1, 4, 4)).astype(dtype)
    Y = np.eye(3, dtype=dtype)[[0, 1, 2, 1, 0]]
    w = rng.random(5).astype(dtype) if weighted else None
    objective = Objective(net, SoftmaxCrossEntropyCriterion(), alpha=alpha)
    objective.grads.fill(np.nan)  # whatever the previous batch left
    loss = objective(X, Y, w)
    weight = 5 if w is None else float(w.sum())
    weights = np.concatenate([net[0].W.ravel(), net[2].W.ravel()]).astype(np.float64)
    data = SoftmaxCrossEntropyCriterion().forward(net.forward(X), Y, w)
    assert loss == pytest.approx(data + 0.5 * alpha / weight * float(weights @ weights), rel=1e-5)
    assert np.isfinite(objective.grads).all()
    if dtype == np.float64:  # the gradient against central differences of the loss
        grads, params = objective.grads.copy(), objective.params
        numeric = np.empty_like(grads)
        for i in range(params.size):
            keep = params[i]
            params[i] = keep + 1e-6
            up = objective(X, Y, w)
            params[i] = keep - 1e-6
            down = objective(X, Y, w)
            params[i] = keep
            numeric[i] = (up - down) / 2e-6
        np.testing.assert_allclose(grads, numeric, rtol=1e-6, atol=1e-8)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_prediction_rejects_non_finite_input(value, dtype):
    import sklearn

    X = X_IRIS.astype(dtype)
    clf = NumpyNetClassifier(**FAST).fit(X, Y_IRIS)
    reg = NumpyNetRegressor(**FAST).fit(X, X_IRIS[:, 0])
    cnn = NumpyNetRegressor(layers=[("conv2d", {"out_channels": 2, "kernel_size": 1})], input_shape=(1, 2, 2))
    cnn.set_params(max_iter=2).fit(X, X_IRIS[:, 0])
    bad = X.copy()
    bad[7, 2] = value
    message = "Input X contains NaN" if np.isnan(value) else "Input X contains infinity"
    for call in (clf.predict, clf.predict_proba, reg.predict, cnn.predict, lambda b: clf.score(b, Y_IRIS)):
        with pytest.raises(ValueError, match=message):
            call(bad)
        with pytest.raises(ValueError, match=message):
            call(sp.csr_matrix(bad))
    with sklearn.config_context(assume_finite=True), np.errstate(invalid="ignore"):
        clf.predict(bad)  # the user vouches for the data: no check


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_summary_lists_the_layers_their_output_shapes_and_parameters(capsys):
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    layers = [("conv2d", {"out_channels": 4, "kernel_size": 3}), "relu", ("maxpool2d", {"kernel_size": 2})]
    cnn = NumpyNetClassifier(layers=layers, input_shape=(1, 8, 8), max_iter=2, random_state=0)
    before = cnn.summary(n_outputs=10)
    assert capsys.readouterr().out.strip() == before.strip()
    cnn.fit(X / 16, y)
    after = cnn.summary(file=io.StringIO())
    assert before.splitlines()[1:] == after.splitlines()[1:]  # the same network, before and after fit
    rows = [line for line in after.splitlines() if line[:1].isdigit()]
    assert [row.split()[1].split("(")[0] for row in rows] == [type(m).__name__ for m in cnn.network_]
    assert "(4, 4, 4)" in rows[3] and rows[-1].split()[-2:] == ["(10,)", "650"]  # 64 * 10 + 10
    n_params = sum(p.size for m in cnn.network_.leaves() for p in m.getParameters())
    assert f"total parameters: {n_params:,}" in after
    assert "(input: samples of shape (1, 8, 8))" in after
    with pytest.raises(ValueError, match=r"needs the shape of the input: summary\(n_features\)"):
        NumpyNetClassifier().summary()
    # without n_outputs, one output is assumed, and said
    mlp = NumpyNetClassifier(hidden_layer_sizes=(5,)).summary(4, file=io.StringIO())
    assert "(input: 4 features per row)" in mlp and "outputs: 1, as summary(n_features, n_outputs) assumes" in mlp
