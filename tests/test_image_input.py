"""Images as images: arrays ``(n, H, W)``, ``(n, C, H, W)`` and, with ``channels_last=True``,
``(n, H, W, C)``, in every method that takes ``X``, with the same results as flat rows."""

import io
import pickle
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._param_validation import InvalidParameterError

from sknn_scratch import NumpyNetClassifier, NumpyNetRegressor
from sknn_scratch.estimators._builder import reads_both_ways

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

DIGITS, LABELS = load_digits(return_X_y=True)
FLAT, Y = (DIGITS[:300] / 16).astype(np.float32), LABELS[:300]
IMAGES = FLAT.reshape(-1, 8, 8)
CNN = [("conv2d", {"out_channels": 3, "kernel_size": 3}), "relu", ("maxpool2d", {"kernel_size": 2})]


def _cnn(cls=NumpyNetClassifier, **kw):
    return cls(**{"layers": CNN, "max_iter": 3, "random_state": 0, **kw})


#: the same 300 digits in every form the estimators take, with the parameters each needs
FORMS = {
    "flat rows + input_shape": (FLAT, dict(input_shape=(1, 8, 8))),
    "(n, H, W) + input_shape": (IMAGES, dict(input_shape=(1, 8, 8))),
    "(n, 1, H, W) + input_shape": (IMAGES[:, None], dict(input_shape=(1, 8, 8))),
    "(n, 1, H, W) + input_shape with -1": (IMAGES[:, None], dict(input_shape=(1, -1, 8))),
    "(n, H, W)": (IMAGES, {}),
    "(n, 1, H, W)": (IMAGES[:, None], {}),
    "(n, H, W, 1) + channels_last": (IMAGES[..., None], dict(channels_last=True)),
    "(n, H, W) + input_shape (H, W, 1) + channels_last": (IMAGES, dict(input_shape=(8, 8, 1), channels_last=True)),
    "flat rows + input_shape (H, W, 1) + channels_last": (FLAT, dict(input_shape=(8, 8, 1), channels_last=True)),
}


@pytest.fixture(scope="module", params=[NumpyNetClassifier, NumpyNetRegressor], ids=lambda c: c.__name__)
def reference(request):
    """The estimator fitted on flat rows with ``input_shape=(1, 8, 8)``."""
    cls = request.param
    target = Y if cls is NumpyNetClassifier else Y.astype(np.float32)
    return cls, target, _cnn(cls, input_shape=(1, 8, 8)).fit(FLAT, target)


def _outputs(est, X):
    out = [est.predict(X)]
    if hasattr(est, "predict_proba"):
        out.append(est.predict_proba(X))
    return out


@pytest.mark.parametrize("form", FORMS)
def test_every_form_fits_and_predicts_as_flat_rows(reference, form):
    cls, target, expected = reference
    X, params = FORMS[form]
    est = _cnn(cls, **params).fit(X, target)
    assert est.n_features_in_ == 64
    assert est.loss_curve_ == expected.loss_curve_
    for given in (X, FLAT):  # predicts on its own form and on flat rows
        for mine, theirs in zip(_outputs(est, given), _outputs(expected, FLAT), strict=True):
            np.testing.assert_array_equal(mine, theirs)
    assert est.score(X, target) == expected.score(FLAT, target)


@pytest.mark.parametrize("form", ["(n, H, W) + input_shape", "(n, 1, H, W)", "(n, H, W, 1) + channels_last"])
def test_partial_fit_and_validation_sets_take_images(reference, form):
    cls, target, _ = reference
    X, params = FORMS[form]
    kwargs = {"classes": np.arange(10)} if cls is NumpyNetClassifier else {}
    flat = _cnn(cls, input_shape=(1, 8, 8))
    mine = _cnn(cls, **params)
    for _ in range(2):
        flat.partial_fit(FLAT, target, **kwargs)
        mine.partial_fit(X, target, **kwargs)
    np.testing.assert_array_equal(mine.predict(X), flat.predict(FLAT))
    # a validation set in the same form scores as flat rows do
    flat = _cnn(cls, input_shape=(1, 8, 8)).fit(FLAT[:200], target[:200], X_val=FLAT[200:], y_val=target[200:])
    mine = _cnn(cls, **params).fit(X[:200], target[:200], validation_data=(X[200:], target[200:]))
    assert mine.validation_loss_curve_ == flat.validation_loss_curve_
    assert mine.validation_scores_ == flat.validation_scores_


def test_channels_last_reorders_every_channel():
    """Three channels: channels-last images, and flat rows in that order, train and predict
    as the channels-first images they are."""
    rng = np.random.default_rng(0)
    first = rng.normal(size=(120, 3, 6, 5))  # (n, C, H, W): 6x5 images, not square, to catch a swapped axis
    y = rng.integers(0, 3, size=120)
    last = np.ascontiguousarray(np.moveaxis(first, 1, -1))  # (n, H, W, C)
    expected = _cnn(input_shape=(3, 6, 5)).fit(first.reshape(120, -1), y)
    cases = [
        (last, dict(channels_last=True)),
        (last, dict(channels_last=True, input_shape=(6, 5, 3))),
        (last.reshape(120, -1), dict(channels_last=True, input_shape=(6, 5, 3))),
        (sp.csr_matrix(last.reshape(120, -1)), dict(channels_last=True, input_shape=(6, 5, 3))),
        (first, {}),
    ]
    for X, params in cases:
        est = _cnn(**params).fit(X, y)
        assert est.loss_curve_ == expected.loss_curve_, params
        np.testing.assert_array_equal(est.predict_proba(X), expected.predict_proba(first))
        assert est.network_.modules[0].shape == (3, 6, 5)  # the network computes channels first
    # and a channels-first model is not fooled by the same values in the other order
    assert not np.array_equal(expected.predict_proba(last.reshape(120, -1)), expected.predict_proba(first))


@pytest.mark.parametrize(
    "shape, both",
    [
        ((8, 8, 1), True),
        ((28, 28, 1), True),
        ((32, 32, 3), True),
        ((64, 48, 4), True),
        ((1, 28, 28), False),
        ((3, 32, 32), False),
        ((16, 8, 8), False),  # 16 feature maps
        ((8, 8, 5), False),  # 5 is not a colour count
        ((4, 8, 4), False),  # not below both others
        ((28, 28), False),
        ((8, 8, 1, 1), False),
    ],
)
def test_which_shapes_read_both_ways(shape, both):
    assert reads_both_ways(shape) is both


def test_a_shape_that_reads_both_ways_is_an_error_until_channels_last_says_which():
    X = IMAGES[..., None]  # (n, 8, 8, 1)
    for est, data in [(_cnn(input_shape=(8, 8, 1)), FLAT), (_cnn(), X)]:
        with pytest.raises(ValueError, match="reads two ways") as info:
            est.fit(data, Y)
        message = str(info.value)
        assert "channels_last=True" in message and "channels_last=False" in message
        assert "np.moveaxis(X, -1, 1)" in message and "input_shape=(1, 8, 8)" in message
        assert not hasattr(est, "network_")
    # either answer is taken; False really means 8 channels of 8x1 images (a legitimate shape)
    assert _cnn(input_shape=(8, 8, 1), channels_last=True).fit(FLAT, Y).network_.modules[0].shape == (1, 8, 8)
    odd = _cnn(layers=[("conv2d", {"out_channels": 2, "kernel_size": 3})], input_shape=(8, 8, 1), channels_last=False)
    assert odd.fit(FLAT, Y).network_.modules[1].in_channels == 8
    # a network that flattens its rows reads them the same either way: no question asked
    mlp = NumpyNetClassifier(hidden_layer_sizes=(8,), input_shape=(8, 8, 1), max_iter=2, random_state=0)
    assert mlp.fit(X, Y).n_features_in_ == 64
    # summary() before fit asks too, and reads channels_last
    with pytest.raises(ValueError, match="reads two ways"):
        _cnn(input_shape=(8, 8, 1)).summary(file=io.StringIO())
    table = _cnn(input_shape=(8, 8, 1), channels_last=True).summary(file=io.StringIO())
    assert "Reshape((1, 8, 8))" in table


@pytest.mark.parametrize(
    "fitted_on, params, X, message",
    [
        (FLAT, dict(input_shape=(1, 8, 8)), IMAGES.reshape(-1, 4, 16), r"shape \(4, 16\).*\(1, 8, 8\) or \(8, 8\)"),
        (IMAGES, {}, IMAGES[:, :7, :7], r"shape \(7, 7\).*\(1, 8, 8\) or \(8, 8\) \(or flat rows of 64 values\)"),
        (IMAGES, {}, IMAGES[..., None], r"channels last: give np.moveaxis\(X, -1, 1\)"),
        (IMAGES[..., None], dict(channels_last=True), IMAGES[:, None], r"channels first: give np.moveaxis\(X, 1, -1\)"),
    ],
)
def test_predicting_on_images_of_another_shape_names_both_shapes(fitted_on, params, X, message):
    est = _cnn(**params).fit(fitted_on, Y)
    for method in (est.predict, est.predict_proba, lambda X: est.score(X, Y[: len(X)])):
        with pytest.raises(ValueError, match=message):
            method(X)
    with pytest.raises(ValueError, match=message):  # a validation set too
        _cnn(**params).fit(fitted_on, Y, X_val=X, y_val=Y)


def test_fitting_images_that_do_not_match_input_shape_names_both_shapes():
    with pytest.raises(ValueError, match=r"samples of shape \(8, 8, 1\), but input_shape=\(1, 8, 8\) takes") as info:
        _cnn(input_shape=(1, 8, 8)).fit(IMAGES[..., None], Y)
    assert "input_shape=(8, 8, 1) with channels_last=True" in str(info.value)
    with pytest.raises(ValueError, match=r"samples of shape \(7, 7\), but input_shape=\(1, 8, 8\) takes"):
        _cnn(input_shape=(1, 8, 8)).fit(IMAGES[:, :7, :7], Y)


def test_a_model_fitted_on_flat_rows_refuses_images_it_cannot_place():
    est = NumpyNetClassifier(hidden_layer_sizes=(8,), max_iter=2, random_state=0).fit(FLAT, Y)
    with pytest.raises(ValueError, match=r"fitted on flat rows of 64 features: give rows, X.reshape\(len\(X\), -1\)"):
        est.predict(IMAGES)


def test_an_mlp_takes_images_too():
    flat = NumpyNetClassifier(hidden_layer_sizes=(8,), max_iter=3, random_state=0).fit(FLAT, Y)
    images = NumpyNetClassifier(hidden_layer_sizes=(8,), max_iter=3, random_state=0).fit(IMAGES, Y)
    np.testing.assert_array_equal(images.predict_proba(IMAGES), flat.predict_proba(FLAT))


def test_channels_last_is_a_parameter_like_any_other(tmp_path):
    est = _cnn(channels_last=True)
    assert est.get_params()["channels_last"] is True and clone(est).channels_last is True
    assert NumpyNetClassifier().channels_last is None and NumpyNetRegressor().channels_last is None
    with pytest.raises(InvalidParameterError, match="channels_last"):
        _cnn(channels_last="yes").fit(IMAGES[..., None], Y)
    fitted = est.fit(IMAGES[..., None], Y)
    loaded = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(loaded.predict_proba(IMAGES[..., None]), fitted.predict_proba(IMAGES[..., None]))
    with pytest.raises(ValueError, match="channels first"):
        loaded.predict(IMAGES[:, None])
    # a warm start may not change how the samples are read
    fitted.set_params(warm_start=True, channels_last=False)
    with pytest.raises(ValueError, match="warm_start and partial_fit continue"):
        fitted.fit(FLAT, Y)


def test_lists_of_images_and_images_as_integers():
    est = _cnn(input_shape=(1, 8, 8)).fit(FLAT, Y)
    as_list = IMAGES[:5].tolist()
    np.testing.assert_array_equal(est.predict(as_list), est.predict(FLAT[:5]))
    pixels = DIGITS[:300].reshape(-1, 8, 8).astype(np.uint8)  # integer pixels convert as rows do
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.simplefilter("ignore", ConvergenceWarning)
        a = _cnn().fit(pixels, Y).predict_proba(pixels)
    b = _cnn(input_shape=(1, 8, 8)).fit(DIGITS[:300], Y).predict_proba(DIGITS[:300])
    np.testing.assert_array_equal(a, b)


def test_an_array_of_no_images_is_refused_as_no_rows_are():
    est = _cnn().fit(IMAGES, Y)
    for fit_or_predict in (lambda: _cnn().fit(IMAGES[:0], Y[:0]), lambda: est.predict(IMAGES[:0])):
        with pytest.raises(ValueError, match=r"Found array with 0 sample\(s\) \(shape=\(0, 64\)\)"):
            fit_or_predict()


def test_sequences_as_a_3d_array_are_told_to_give_input_shape():
    sequences = IMAGES[:, :2, :]  # (n, 2, 8): read as one-channel 2x8 images unless input_shape says otherwise
    conv1d = [("conv1d", {"out_channels": 3, "kernel_size": 3}), "relu"]
    with pytest.raises(ValueError, match=r"sequences of 2 channels of length 8, give input_shape=\(2, 8\)"):
        _cnn(layers=conv1d).fit(sequences, Y)
    est = _cnn(layers=conv1d, input_shape=(2, 8)).fit(sequences, Y)
    np.testing.assert_array_equal(est.predict(sequences), est.predict(sequences.reshape(len(sequences), -1)))


@pytest.mark.parametrize(
    "params, X, one",
    [
        ({}, IMAGES, IMAGES[0]),
        ({}, IMAGES[:, None], IMAGES[0]),
        (
            dict(channels_last=True),
            np.repeat(IMAGES[..., None], 3, axis=-1),
            np.repeat(IMAGES[0, ..., None], 3, axis=-1),
        ),
    ],
)
def test_one_image_where_an_array_of_images_is_expected_says_to_add_an_axis(params, X, one):
    est = _cnn(**params).fit(X, Y)
    with pytest.raises(ValueError, match=r"X has the shape of one sample, \(8, 8(, 3)?\), .* give X\[np.newaxis\]"):
        est.predict(one)
    np.testing.assert_array_equal(est.predict(one[np.newaxis]), est.predict(X[:1]))
    # rows that happen to have a sample's shape are rows: one (1, 64) row of a (1, 64) sample
    rows = NumpyNetClassifier(layers=[("conv1d", {"out_channels": 2, "kernel_size": 3})], input_shape=(1, 64))
    rows.set_params(max_iter=3, random_state=0).fit(FLAT, Y)
    assert rows.predict(FLAT[:1]).shape == (1,)


def test_summary_before_fit_says_how_to_give_the_shape_of_images():
    with pytest.raises(ValueError, match=r"summary\(n_features\) for rows .* input_shape=\(C, H, W\)"):
        _cnn().summary()
    assert "(3, 4, 4)" in _cnn(input_shape=(1, 8, 8)).summary(file=io.StringIO())
