"""The layers of tabular networks: ``NumericEmbedding`` (its three kinds against a loop over
columns, the piecewise-linear bins by hand), ``FeatureScale`` and ``ParametricActivation``
(its held activation following the wrapper); gradients, pickling, plain descriptions and
the errors on bad arguments."""

import copy
import pickle

import numpy as np
import pytest

from sknn_scratch import NumpyNetRegressor, nn
from sknn_scratch._plain import from_plain, to_plain
from sknn_scratch.testing import check_module

EDGES = [np.array([-1.0, -0.2, 0.3, 1.5]), np.array([0.0, 0.5]), np.array([-2.0, 0.0, 2.0])]


def _embeddings():
    """One embedding of each kind and option, for 3 columns."""
    return [
        nn.NumericEmbedding(3, rng=0),
        nn.NumericEmbedding(3, "pbld", n_frequencies=3, dim=2, sigma=0.8, rng=1),
        nn.NumericEmbedding(3, "periodic", n_frequencies=6, dim=5, sigma=0.5, rng=2),
        nn.NumericEmbedding(3, "piecewise_linear", dim=4, edges=EDGES, rng=3),
        nn.NumericEmbedding(3, "piecewise_linear", dim=None, edges=EDGES),
    ]


# -- NumericEmbedding ---------------------------------------------------------------------
@pytest.mark.parametrize("emb", _embeddings(), ids=repr)
def test_numeric_embedding_passes_check_module(emb, rng):
    report = check_module(emb, rng.normal(size=(5, 3)), expected_output_shape=(5, 3 * emb.embedding_dim))
    assert report["grad_input_error"] < 1e-6


def _ple_by_hand(value, edges):
    """The piecewise-linear encoding of one value, bin by bin."""
    T = len(edges) - 1
    out = []
    for t in range(T):
        v = (value - edges[t]) / (edges[t + 1] - edges[t])
        if t > 0:
            v = max(v, 0.0)
        if t < T - 1:
            v = min(v, 1.0)
        out.append(v)
    return out


def _column_loop(emb, x):
    """The embedding computed column by column and sample by sample, from the docstring's formulas."""
    rows = []
    for row in x:
        values = []
        for j, value in enumerate(row):
            if emb.kind == "piecewise_linear":
                h = np.array(_ple_by_hand(value, emb.edges[j]) + [0.0] * (emb.slopes.shape[1] + 1 - len(emb.edges[j])))
            elif emb.kind == "pbld":
                h = np.cos(2 * np.pi * emb.frequencies[j] * value + emb.phases[j])
            else:
                z = 2 * np.pi * emb.frequencies[j] * value
                h = np.concatenate([np.cos(z), np.sin(z)])
            e = h if emb.W is None else h @ emb.W[j] + emb.b[j]
            if emb.kind == "periodic":
                e = np.maximum(e, 0)
            values.extend(e)
            if emb.kind == "pbld":
                values.append(value)
        rows.append(values)
    return np.array(rows)


@pytest.mark.parametrize("emb", _embeddings(), ids=repr)
def test_numeric_embedding_matches_a_loop_over_columns(emb, rng):
    x = rng.normal(size=(6, 3)) * 1.5
    np.testing.assert_allclose(emb.forward(x), _column_loop(emb, x), rtol=1e-12, atol=1e-14)


def test_piecewise_linear_encoding_by_hand():
    emb = nn.NumericEmbedding(2, "piecewise_linear", dim=None, edges=[[0.0, 1.0, 3.0], [10.0, 12.0]])
    x = np.array([[-1.0, 9.0], [0.5, 11.0], [2.0, 12.0], [5.0, 16.0]])
    # column 0: bins [0, 1] and [1, 3], the first open to the left, the last to the right;
    # column 1: a single bin, never clipped, and a padded zero
    want = [[-1.0, 0.0, -0.5, 0.0], [0.5, 0.0, 0.5, 0.0], [1.0, 0.5, 1.0, 0.0], [1.0, 2.0, 3.0, 0.0]]
    np.testing.assert_allclose(emb.forward(x), want, rtol=1e-15)
    g = np.arange(1.0, 17.0).reshape(4, 4)
    # d/dx: column 0 the unclipped bins' g / width, column 1 g / 2; the padding gets nothing
    want_grad = [[1.0, 3 / 2], [5.0, 7 / 2], [10 / 2, 11 / 2], [14 / 2, 15 / 2]]
    np.testing.assert_allclose(emb.backward(x, g), want_grad, rtol=1e-15)


def test_piecewise_gradient_at_an_edge_is_the_derivative_from_the_right():
    emb = nn.NumericEmbedding(1, "piecewise_linear", dim=None, edges=[[0.0, 1.0, 3.0]])
    x = np.array([[1.0]])
    emb.forward(x)
    np.testing.assert_allclose(emb.backward(x, np.ones((1, 2))), [[0.5]])  # only the second bin moves to the right


def test_piecewise_edges_are_quantiles_without_repeats():
    X = np.column_stack([np.arange(101.0), np.repeat([0.0, 1.0], [80, 21]), np.full(101, 7.0)])
    edges = nn.NumericEmbedding.piecewise_edges(X, n_bins=4)
    np.testing.assert_array_equal(edges[0], [0.0, 25.0, 50.0, 75.0, 100.0])
    np.testing.assert_array_equal(edges[1], [0.0, 1.0])  # repeated quantiles dropped: one bin
    np.testing.assert_array_equal(edges[2], [7.0, 8.0])  # a single value: the bin [v, v + 1]
    emb = nn.NumericEmbedding(3, "piecewise_linear", dim=None, edges=edges)
    assert emb.embedding_dim == 4
    out = emb.forward(np.array([[30.0, 0.5, 9.0]])).reshape(3, 4)
    np.testing.assert_allclose(out, [[1.0, 0.2, 0.0, 0.0], [0.5, 0, 0, 0], [2.0, 0, 0, 0]])


@pytest.mark.parametrize(
    "X, n_bins, message",
    [
        (np.ones(5), 4, r"shape \(n_samples, n_features\)"),
        (np.array([[0.0, np.nan], [1.0, 2.0]]), 4, "NaN or infinity"),
        (np.ones((5, 2)), 0, "n_bins must be an integer >= 1"),
    ],
)
def test_piecewise_edges_names_bad_input(X, n_bins, message):
    with pytest.raises(ValueError, match=message):
        nn.NumericEmbedding.piecewise_edges(X, n_bins)


def test_initialisation_follows_the_documented_distributions():
    emb = nn.NumericEmbedding(200, n_frequencies=50, dim=5, sigma=0.3, rng=0)
    assert abs(emb.frequencies.std() - 0.3) < 0.01 and abs(emb.frequencies.mean()) < 0.01
    assert -np.pi <= emb.phases.min() < -3.1 and 3.1 < emb.phases.max() <= np.pi
    bound = 1 / np.sqrt(50)
    assert np.abs(emb.W).max() <= bound and np.abs(emb.W).max() > 0.99 * bound
    assert np.abs(emb.b).max() <= bound and emb.W.shape == (200, 50, 4) and emb.b.shape == (200, 4)
    periodic = nn.NumericEmbedding(2, "periodic", n_frequencies=16, dim=3, rng=0)
    assert periodic.frequencies.shape == (2, 8) and periodic.W.shape == (2, 16, 3) and periodic.phases is None
    np.testing.assert_array_equal(nn.NumericEmbedding(4, rng=5).W, nn.NumericEmbedding(4, rng=5).W)
    ple = nn.NumericEmbedding(3, "piecewise_linear", dim=None, edges=EDGES)
    assert ple._parameters == () and ple.dtype is None
    grid = nn.NumericEmbedding(2, "piecewise_linear", dim=None, edges=np.array([[0.0, 1.0, 2.0], [0.0, 2.0, 4.0]]))
    np.testing.assert_allclose(grid.forward(np.array([[1.5, 1.0]])), [[1.0, 0.5, 0.5, 0.0]])  # edges as rows
    ple.reset_parameters(0)  # nothing to draw: the bins stay
    np.testing.assert_array_equal(ple.slopes[0], 1 / np.diff(EDGES[0]))


def test_every_embedding_parameter_is_decayed_unless_an_instance_says_otherwise():
    emb = nn.NumericEmbedding(2, rng=0)
    assert emb._parameters == emb._decayed == ("frequencies", "phases", "W", "b")
    assert emb.parameter_factors() == [(1.0, 1.0)] * 4
    emb.decay_factors = {"phases": 0.0}
    emb.lr_factors = {"frequencies": 0.1}
    assert emb.parameter_factors() == [(0.1, 1.0), (1.0, 0.0), (1.0, 1.0), (1.0, 1.0)]
    assert nn.NumericEmbedding(2, "periodic", rng=0)._decayed == ("frequencies", "W", "b")


@pytest.mark.parametrize("emb", _embeddings(), ids=repr)
def test_backward_paths_agree(emb, rng):
    """``backward`` in one pass, ``updateGradInput`` and ``accGradParameters`` apart,
    ``input_grad=False``, and a backward pass after an evaluation-mode forward."""
    x = rng.normal(size=(4, 3))
    g = rng.normal(size=(4, 3 * emb.embedding_dim))
    one, two, three, four = (copy.deepcopy(emb) for _ in range(4))
    for m in (one, two, three):
        m.forward(x)
    four.evaluate()
    four.forward(x)
    want = one.backward(x, g).copy()
    np.testing.assert_allclose(two.updateGradInput(x, g), want, rtol=1e-13)
    two.accGradParameters(x, g)
    assert three.backward(x, g, input_grad=False) is None and three.gradInput is None
    np.testing.assert_allclose(four.backward(x, g), want, rtol=1e-13)
    for other in (two, three, four):
        for got, expected in zip(other.getGradParameters(), one.getGradParameters(), strict=True):
            np.testing.assert_allclose(got, expected, rtol=1e-13)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"n_features": 0}, "n_features must be an integer >= 1, got 0"),
        (
            {"n_features": 2, "kind": "ple"},
            r"kind must be one of \('pbld', 'periodic', 'piecewise_linear'\), got 'ple'",
        ),
        ({"n_features": 2, "n_frequencies": 0}, "n_frequencies must be an integer >= 1"),
        ({"n_features": 2, "kind": "periodic", "n_frequencies": 5}, "even n_frequencies"),
        ({"n_features": 2, "dim": 1}, r"NumericEmbedding\(kind='pbld'\) dim must be an integer >= 2, got 1"),
        ({"n_features": 2, "dim": None}, r"kind='pbld'\) dim must be an integer >= 2, got None"),
        ({"n_features": 2, "kind": "periodic", "dim": 0}, "dim must be an integer >= 1"),
        ({"n_features": 2, "sigma": 0.0}, "sigma must be a finite number > 0"),
        ({"n_features": 2, "sigma": float("inf")}, "sigma must be a finite number > 0"),
        ({"n_features": 2, "edges": [[0, 1], [0, 1]]}, "edges are for kind='piecewise_linear' only"),
        ({"n_features": 2, "kind": "piecewise_linear"}, "needs edges"),
        ({"n_features": 2, "kind": "piecewise_linear", "edges": [[0, 1]]}, "a list of 2 arrays .* got 1"),
        ({"n_features": 2, "kind": "piecewise_linear", "edges": [[0, 1], [1, 1]]}, r"edges\[1\] must hold"),
        ({"n_features": 2, "kind": "piecewise_linear", "edges": [[0, 1], [2]]}, r"edges\[1\] must hold at least two"),
        ({"n_features": 1, "kind": "piecewise_linear", "edges": [[0, np.nan]]}, "finite"),
    ],
)
def test_bad_embedding_arguments_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        nn.NumericEmbedding(**kwargs)


def test_bad_input_and_gradient_shapes_are_named(rng):
    emb = nn.NumericEmbedding(3, rng=0)
    with pytest.raises(ValueError, match=r"expects input of shape \(n_samples, 3\), got \(4, 2\)"):
        emb.forward(rng.normal(size=(4, 2)))
    with pytest.raises(ValueError, match=r"takes samples of shape \(3,\)"):
        emb.output_shape((3, 1))
    x = rng.normal(size=(4, 3))
    emb.forward(x)
    with pytest.raises(ValueError, match=r"gradOutput must have shape \(4, 12\), got \(4, 3\)"):
        emb.backward(x, np.ones((4, 3)))


def test_float32_and_integer_input(rng):
    emb = nn.NumericEmbedding(3, rng=0)
    x = rng.normal(size=(5, 3))
    want = emb.forward(x).copy()
    got = emb.forward(x.astype(np.float32))
    assert got.dtype == emb.W.dtype == emb.frequencies.dtype == np.float32
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
    ple = nn.NumericEmbedding(3, "piecewise_linear", dim=None, edges=EDGES)
    assert ple.forward(np.array([[0, 1, 2]])).dtype == np.float64
    assert ple.forward(np.zeros((1, 3), dtype=np.float32)).dtype == np.float32


def test_repr():
    assert repr(nn.NumericEmbedding(3)) == "NumericEmbedding(3, 'pbld', n_frequencies=16, dim=4)"
    assert repr(nn.NumericEmbedding(3, "periodic", 8, 2, 1.0)) == (
        "NumericEmbedding(3, 'periodic', n_frequencies=8, dim=2, sigma=1.0)"
    )
    assert repr(nn.NumericEmbedding(3, "piecewise_linear", dim=None, edges=EDGES)) == (
        "NumericEmbedding(3, 'piecewise_linear', dim=None, n_bins=3)"
    )


# -- FeatureScale -------------------------------------------------------------------------
def test_feature_scale_scales_the_last_axis(rng):
    layer = nn.FeatureScale(3, init=2.0)
    assert repr(layer) == "FeatureScale(3, init=2.0)" and repr(nn.FeatureScale(3)) == "FeatureScale(3)"
    layer.scale[...] = [1.0, -2.0, 0.5]
    x = rng.normal(size=(2, 4, 3))
    np.testing.assert_array_equal(layer.forward(x), x * [1.0, -2.0, 0.5])
    g = rng.normal(size=x.shape)
    layer.zeroGradParameters()
    np.testing.assert_array_equal(layer.backward(x, g), g * [1.0, -2.0, 0.5])
    np.testing.assert_allclose(layer.gradScale, (g * x).sum(axis=(0, 1)), rtol=1e-13)
    check_module(layer, x, expected_output_shape=x.shape)
    layer.reset_parameters()
    np.testing.assert_array_equal(layer.scale, [2.0, 2.0, 2.0])


def test_feature_scale_errors(rng):
    with pytest.raises(ValueError, match="n_features must be an integer >= 1, got 0"):
        nn.FeatureScale(0)
    with pytest.raises(ValueError, match="init must be a finite number, got nan"):
        nn.FeatureScale(2, init=float("nan"))
    with pytest.raises(ValueError, match=r"expects input of shape \(n_samples, ..., 3\), got \(4, 2\)"):
        nn.FeatureScale(3).forward(rng.normal(size=(4, 2)))


# -- ParametricActivation -----------------------------------------------------------------
def test_parametric_activation_starts_as_its_activation_and_mixes_with_the_identity(rng):
    x = rng.normal(size=(4, 3))
    layer = nn.ParametricActivation("mish", 3)
    assert isinstance(layer.activation, nn.Mish)
    np.testing.assert_allclose(layer.forward(x), nn.Mish().forward(x), rtol=1e-15)
    layer.weight[...] = [0.0, 0.5, 2.0]
    f = nn.Mish().forward(x)
    np.testing.assert_allclose(layer.forward(x), x + [0.0, 0.5, 2.0] * (f - x), rtol=1e-14)
    np.testing.assert_array_equal(layer.output[:, 0], x[:, 0])  # weight 0: the identity
    g = rng.normal(size=x.shape)
    layer.zeroGradParameters()
    grad = layer.backward(x, g)
    derivative = nn.Mish().backward(x, np.ones_like(x))
    np.testing.assert_allclose(grad, g * (1 - layer.weight) + layer.weight * derivative * g, rtol=1e-13)
    np.testing.assert_allclose(layer.gradWeight, (g * (f - x)).sum(axis=0), rtol=1e-13)


@pytest.mark.parametrize(
    "activation, shape, n_features",
    [
        ("selu", (4, 3), 3),
        ("softmax", (4, 3), 3),  # row-wise: the gradient goes through its Jacobian
        (nn.GELU(inplace=True), (4, 3), 3),
        (nn.LeakyReLU(0.2, inplace=True), (3, 2, 4), 2),
        ("tanh", (3, 2, 4), None),
    ],
    ids=str,
)
def test_parametric_activation_passes_check_module(activation, shape, n_features, rng):
    layer = nn.ParametricActivation(activation, n_features)
    layer.weight[...] = rng.uniform(-0.5, 1.5, size=layer.weight.shape)
    check_module(layer, rng.normal(size=shape), expected_output_shape=shape)


def test_an_in_place_activation_leaves_the_input_and_gradient_intact(rng):
    x, g = rng.normal(size=(4, 3)), rng.normal(size=(4, 3))
    reference = nn.ParametricActivation("silu", 3)
    layer = nn.ParametricActivation(nn.SiLU(inplace=True), 3)
    given_x, given_g = x.copy(), g.copy()
    np.testing.assert_array_equal(layer.forward(given_x), reference.forward(x))
    np.testing.assert_array_equal(layer.backward(given_x, given_g), reference.backward(x, g))
    np.testing.assert_array_equal(given_x, x)
    np.testing.assert_array_equal(given_g, g)


def test_the_held_activation_follows_the_wrapper(rng):
    layer = nn.ParametricActivation(nn.GELU(), 3)
    x = rng.normal(size=(4, 3))
    layer.forward(x)
    assert layer.activation.derivative is not None  # a training pass keeps it
    layer.evaluate()
    assert layer.activation.training is False
    layer.train()
    assert layer.activation.training is True
    layer.forward(x)
    layer.clearState()
    assert layer.activation.derivative is None and layer.activation.output is None and layer._cache_delta is None
    twin = layer.inference_copy()
    assert twin.activation is not layer.activation and twin.activation.training is False
    assert twin.weight is layer.weight  # shared, read only
    layer.astype(np.float32)
    assert layer.weight.dtype == np.float32 and layer.forward(x.astype(np.float32)).dtype == np.float32
    assert repr(layer) == "ParametricActivation(GELU(), n_features=3)"
    assert repr(nn.ParametricActivation("relu", init=0.5)) == "ParametricActivation(ReLU(), init=0.5)"


@pytest.mark.parametrize("activation", ["elu", "softmax"])
def test_backward_after_clear_state_recomputes_the_mix(activation, rng):
    x, g = rng.normal(size=(4, 3)), rng.normal(size=(4, 3))
    layer = nn.ParametricActivation(activation, 3)
    layer.forward(x)
    layer.zeroGradParameters()
    want = layer.backward(x, g).copy(), layer.gradWeight.copy()
    layer.clearState()
    layer.zeroGradParameters()
    np.testing.assert_allclose(layer.backward(x, g), want[0], rtol=1e-14)
    np.testing.assert_allclose(layer.gradWeight, want[1], rtol=1e-14)


def test_parametric_activation_errors(rng):
    with pytest.raises(ValueError, match="Unknown activation 'selux'. Did you mean 'selu'?"):
        nn.ParametricActivation("selux")
    with pytest.raises(TypeError, match="an activation name or a Module instance, got int"):
        nn.ParametricActivation(3)
    with pytest.raises(ValueError, match=r"without parameters, got PReLU\(\), which has \['slope'\]"):
        nn.ParametricActivation(nn.PReLU())
    with pytest.raises(ValueError, match="n_features must be an integer >= 1, got 0"):
        nn.ParametricActivation("relu", 0)
    with pytest.raises(ValueError, match="init must be a finite number"):
        nn.ParametricActivation("relu", init="one")
    layer = nn.ParametricActivation("relu", 3)
    with pytest.raises(ValueError, match=r"has 3 weights, one per entry of the input's axis 1; got input of shape"):
        layer.forward(rng.normal(size=(2, 4)))
    with pytest.raises(ValueError, match=r"got samples of shape \(4,\)"):
        layer.output_shape((4,))
    squeeze = nn.ParametricActivation(nn.Flatten())
    with pytest.raises(ValueError, match=r"the activation maps input of shape \(2, 3, 2\) to shape \(2, 6\)"):
        squeeze.forward(rng.normal(size=(2, 3, 2)))


# -- all three: pickling, plain descriptions, the builder ----------------------------------
def _all_layers():
    return [*_embeddings(), nn.FeatureScale(3, init=0.7), nn.ParametricActivation(nn.Mish(inplace=True), 3)]


@pytest.mark.parametrize("layer", _all_layers(), ids=repr)
def test_pickle_and_plain_round_trips_predict_the_same(layer, rng):
    x = rng.normal(size=(4, 3))
    y = layer.forward(x.copy())
    layer.backward(x, rng.normal(size=y.shape))
    layer.evaluate()
    want = layer.forward(x.copy()).copy()
    for loaded in (pickle.loads(pickle.dumps(layer)), from_plain(to_plain(layer))):
        assert type(loaded) is type(layer) and repr(loaded) == repr(layer)
        assert all(getattr(loaded, key, None) is None for key in ("output", "_cache_h", "_cache_delta"))
        np.testing.assert_array_equal(loaded.forward(x.copy()), want)
        for grad, param in zip(loaded.getGradParameters(), loaded.getParameters(), strict=True):
            assert grad.shape == param.shape and grad.dtype == param.dtype  # gradients back as zeros


def test_a_regressor_builds_and_trains_the_layers_by_name(rng):
    X = rng.normal(size=(200, 4))
    y = np.sin(3 * X[:, 0]) + X[:, 1] ** 2
    layers = [
        ("numeric_embedding", {"n_frequencies": 8, "sigma": 0.3}),
        "feature_scale",
        ("linear", {"n_out": 32}),
        ("parametric", {"activation": "mish"}),
    ]
    est = NumpyNetRegressor(layers=layers, max_iter=150, learning_rate_init=0.01, random_state=0).fit(X, y)
    emb, scale, _, act = est.network_.modules[:4]
    assert (emb.n_features, emb.n_frequencies, scale.n_features, act.n_features) == (4, 8, 16, 32)
    assert not np.allclose(scale.scale, 1) and not np.allclose(act.weight, 1)  # they were trained
    assert est.score(X, y) > 0.8
