"""The new blocks compute what PyTorch's CPU implementation computes (float64): outputs,
input gradients and parameter gradients. Skipped when PyTorch is not installed."""

import numpy as np
import pytest

from sknn_scratch import nn

torch = pytest.importorskip("torch")
tnn = torch.nn


def assert_close(ours, theirs):
    """Relative agreement 1e-6 (with an absolute floor of 1e-12 for values near zero)."""
    theirs = theirs.detach().numpy() if isinstance(theirs, torch.Tensor) else np.asarray(theirs)
    np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-12)


def run_both(ours, theirs, x, params=(), codes=False):
    """Forward and backward through our module and PyTorch's, with one random
    gradient; ``params`` pairs our gradient attribute names with PyTorch tensors."""
    rng = np.random.default_rng(1)
    xt = torch.from_numpy(x)
    if not codes:
        xt.requires_grad_(True)
    yt = theirs(xt)
    y = ours.forward(x.copy())
    assert_close(y, yt)
    g = rng.normal(size=y.shape)
    ours.zeroGradParameters()
    grad = ours.backward(x, g.copy())
    yt.backward(torch.from_numpy(g))
    if not codes:
        assert_close(grad, xt.grad)
    for name, tensor in params:
        assert_close(getattr(ours, name), tensor.grad)


def _x(*shape, scale=2.0):
    return np.random.default_rng(0).normal(scale=scale, size=shape)


ACTIVATIONS = [
    (nn.GELU(), tnn.GELU()),
    (nn.GELU("tanh"), tnn.GELU(approximate="tanh")),
    (nn.SiLU(), tnn.SiLU()),
    (nn.Mish(), tnn.Mish()),
    (nn.SELU(), tnn.SELU()),
    (nn.ELU(), tnn.ELU()),
    (nn.ELU(0.3), tnn.ELU(0.3)),
    (nn.LeakyReLU(), tnn.LeakyReLU()),
    (nn.LeakyReLU(-0.2), tnn.LeakyReLU(-0.2)),
    (nn.Softplus(), tnn.Softplus()),
    (nn.Softplus(2.0, 3.0), tnn.Softplus(2.0, 3.0)),
]


@pytest.mark.parametrize("ours, theirs", ACTIVATIONS, ids=repr)
def test_activations(ours, theirs):
    run_both(ours, theirs, _x(8, 16, scale=4.0))


@pytest.mark.parametrize("shape", [(6, 5), (4, 5, 3), (2, 5, 3, 3)])
@pytest.mark.parametrize("n_parameters", [1, 5])
def test_prelu(shape, n_parameters):
    rng = np.random.default_rng(2)
    ours = nn.PReLU(n_parameters)
    ours.slope[...] = rng.uniform(-0.5, 0.8, size=n_parameters)
    theirs = tnn.PReLU(n_parameters).double()
    with torch.no_grad():
        theirs.weight.copy_(torch.from_numpy(ours.slope))
    run_both(ours, theirs, _x(*shape), [("gradSlope", theirs.weight)])


@pytest.mark.parametrize("shape", [(6, 7), (3, 4, 7)])
@pytest.mark.parametrize("eps", [1e-5, 0.1])
def test_layer_norm(shape, eps):
    rng = np.random.default_rng(3)
    ours = nn.LayerNorm(7, eps=eps)
    ours.gamma[...] = rng.normal(size=7)
    ours.beta[...] = rng.normal(size=7)
    theirs = tnn.LayerNorm(7, eps=eps).double()
    with torch.no_grad():
        theirs.weight.copy_(torch.from_numpy(ours.gamma))
        theirs.bias.copy_(torch.from_numpy(ours.beta))
    run_both(ours, theirs, _x(*shape) + 3, [("gradGamma", theirs.weight), ("gradBeta", theirs.bias)])


def test_layer_norm_without_affine():
    run_both(nn.LayerNorm(6, affine=False), tnn.LayerNorm(6, elementwise_affine=False).double(), _x(5, 6))


@pytest.mark.parametrize("shape", [(9,), (6, 4)])
def test_embedding(shape):
    ours = nn.Embedding(7, 3, rng=0)
    theirs = tnn.Embedding(7, 3).double()
    with torch.no_grad():
        theirs.weight.copy_(torch.from_numpy(ours.W))
    codes = np.random.default_rng(4).integers(0, 7, size=shape)
    codes.flat[:4] = 5  # repeated codes accumulate
    run_both(ours, theirs, codes, [("gradW", theirs.weight)], codes=True)


@pytest.mark.parametrize(
    "kwargs", [{}, {"stride": 2}, {"padding": 2}, {"stride": 3, "padding": 1, "bias": False}, {"padding": "same"}]
)
def test_conv1d(kwargs):
    ours = nn.Conv1d(3, 4, 5, rng=0, **kwargs)
    theirs = tnn.Conv1d(3, 4, 5, **kwargs).double()
    with torch.no_grad():
        theirs.weight.copy_(torch.from_numpy(ours.W))
        if theirs.bias is not None:
            theirs.bias.copy_(torch.from_numpy(ours.b))
    params = [("gradW", theirs.weight)] + ([("gradb", theirs.bias)] if theirs.bias is not None else [])
    run_both(ours, theirs, _x(2, 3, 17), params)


@pytest.mark.parametrize(
    "ours, theirs, shape",
    [
        (nn.AvgPool2d(2), tnn.AvgPool2d(2), (2, 3, 7, 6)),
        (nn.AvgPool2d(3, 2), tnn.AvgPool2d(3, 2), (2, 3, 7, 8)),
        (nn.AvgPool1d(3), tnn.AvgPool1d(3), (2, 3, 11)),
        (nn.AvgPool1d(2, 1), tnn.AvgPool1d(2, 1), (2, 3, 7)),
        (nn.MaxPool1d(2), tnn.MaxPool1d(2), (2, 3, 9)),
        (nn.MaxPool1d(3, 2), tnn.MaxPool1d(3, 2), (2, 3, 10)),
        (nn.GlobalAvgPool2d(), tnn.Sequential(tnn.AdaptiveAvgPool2d(1), tnn.Flatten()), (2, 3, 5, 4)),
    ],
    ids=repr,
)
def test_pooling(ours, theirs, shape):
    run_both(ours, theirs, _x(*shape))


class _TorchResidual(tnn.Module):
    def __init__(self, *modules):
        super().__init__()
        self.chain = tnn.Sequential(*modules)

    def forward(self, x):
        return x + self.chain(x)


def test_residual():
    ours = nn.Residual(nn.Linear(5, 5, rng=0), nn.GELU(inplace=True), nn.Linear(5, 5, rng=1))
    first, second = tnn.Linear(5, 5).double(), tnn.Linear(5, 5).double()
    with torch.no_grad():
        for layer, mine in ((first, ours[0]), (second, ours[2])):
            layer.weight.copy_(torch.from_numpy(np.ascontiguousarray(mine.W)))
            layer.bias.copy_(torch.from_numpy(mine.b))
    theirs = _TorchResidual(first, tnn.GELU(), second)
    run_both(ours, theirs, _x(4, 5))
    assert_close(ours[0].gradW, first.weight.grad)
    assert_close(ours[2].gradb, second.bias.grad)


def _loss_parity(head, loss_fn, z, target):
    """Our head's loss and gradient against a PyTorch loss of the same scores."""
    zt = torch.from_numpy(z).requires_grad_(True)
    lt = loss_fn(zt)
    lt.backward()
    loss, grad = head.loss_and_grad(z, target)
    assert_close(np.array(loss), lt)
    assert_close(grad, zt.grad)


def _scores(*shape, seed=5):
    return np.random.default_rng(seed).normal(scale=2.0, size=shape)


@pytest.mark.parametrize("delta", [1.0, 0.4])
def test_huber(delta):
    z, y = _scores(6, 3), _scores(6, 3, seed=8)
    _loss_parity(nn.HuberCriterion(delta), lambda zt: tnn.HuberLoss(delta=delta)(zt, torch.from_numpy(y)), z, y)


def test_absolute_error():
    z, y = _scores(6, 3), _scores(6, 3, seed=8)
    _loss_parity(nn.AbsCriterion(), lambda zt: tnn.L1Loss()(zt, torch.from_numpy(y)), z, y)


def test_pinball_against_its_formula_in_torch():
    taus = torch.tensor([0.1, 0.5, 0.9], dtype=torch.float64).repeat(2)  # column j * 3 + i: tau_i
    z, y = _scores(5, 6), _scores(5, 2, seed=8)

    def loss_fn(zt):
        u = torch.from_numpy(np.repeat(y, 3, axis=1)) - zt
        return torch.maximum(taus * u, (taus - 1) * u).mean()

    _loss_parity(nn.PinballCriterion((0.1, 0.5, 0.9)), loss_fn, z, y)


@pytest.mark.parametrize("smoothing", [0.0, 0.1, 0.5])
@pytest.mark.parametrize("one_hot", [False, True])
def test_softmax_cross_entropy_with_label_smoothing(smoothing, one_hot):
    z = _scores(7, 4)
    labels = np.random.default_rng(6).integers(0, 4, size=7)
    target = np.eye(4)[labels] if one_hot else labels
    loss = tnn.CrossEntropyLoss(label_smoothing=smoothing)
    _loss_parity(nn.SoftmaxCrossEntropyCriterion(smoothing), lambda zt: loss(zt, torch.from_numpy(target)), z, target)


@pytest.mark.parametrize("smoothing", [0.0, 0.2])
def test_sigmoid_bce_with_label_smoothing(smoothing):
    """PyTorch's BCEWithLogitsLoss of the smoothed targets, summed over columns as our
    head (MLP's multilabel loss) does."""
    z = _scores(6, 3)
    y = (np.random.default_rng(7).random((6, 3)) > 0.5).astype(float)
    smooth = torch.from_numpy(y * (1 - smoothing) + smoothing / 2)
    loss = tnn.BCEWithLogitsLoss(reduction="sum")
    _loss_parity(nn.SigmoidBCECriterion(smoothing), lambda zt: loss(zt, smooth) / 6, z, y)


# -- the tabular layers, against their formulas written with torch operations ----------------
def _ple_reference(x, edges):
    """The piecewise-linear encoding of Gorishniy et al., column by column: how far each
    value has crossed each bin, the outer bins open-ended, padded with zeros."""
    T = max(len(e) - 1 for e in edges)
    columns = []
    for j, e in enumerate(edges):
        e = torch.from_numpy(e)
        t = len(e) - 1
        v = (x[:, j : j + 1] - e[:-1]) / (e[1:] - e[:-1])  # (N, t)
        parts = []
        for i in range(t):
            lo = None if i == 0 else 0.0
            hi = None if i == t - 1 else 1.0
            parts.append(v[:, i : i + 1] if lo is None and hi is None else torch.clamp(v[:, i : i + 1], lo, hi))
        parts.append(torch.zeros(len(x), T - t, dtype=x.dtype))
        columns.append(torch.cat(parts, dim=1))
    return torch.stack(columns, dim=1)  # (N, F, T)


def _tensor(array):
    return torch.from_numpy(np.array(array)).requires_grad_(True)


@pytest.mark.parametrize(
    "kind, kwargs",
    [
        ("pbld", {}),
        ("pbld", {"n_frequencies": 5, "dim": 2, "sigma": 0.7}),
        ("periodic", {"n_frequencies": 6, "dim": 3, "sigma": 0.5}),
        ("piecewise_linear", {"dim": 3}),
        ("piecewise_linear", {"dim": None}),
    ],
)
def test_numeric_embedding(kind, kwargs):
    rng = np.random.default_rng(8)
    x = rng.normal(size=(7, 4))
    if kind == "piecewise_linear":
        edges = nn.NumericEmbedding.piecewise_edges(rng.normal(size=(60, 4)), 5)
        edges[2] = np.array([-0.5, 0.25])  # a single bin, and padding
        edges[3] = np.array([-1.0, 0.0, 0.4])
        kwargs = {**kwargs, "edges": edges}
    ours = nn.NumericEmbedding(4, kind, rng=3, **kwargs)
    tensors = {name: _tensor(getattr(ours, name)) for name in ours._parameters}

    def theirs(xt):
        n = xt.shape[0]
        if kind == "piecewise_linear":
            h = _ple_reference(xt, ours.edges)
        else:
            z = 2 * torch.pi * xt[:, :, None] * tensors["frequencies"]
            if kind == "pbld":
                h = torch.cos(z + tensors["phases"])
            else:
                h = torch.cat([torch.cos(z), torch.sin(z)], dim=2)
        if "W" in tensors:  # each column's own linear map
            h = torch.stack([h[:, j] @ tensors["W"][j] + tensors["b"][j] for j in range(4)], dim=1)
        if kind == "periodic":
            h = torch.relu(h)
        if kind == "pbld":
            h = torch.cat([h, xt[:, :, None]], dim=2)
        return h.reshape(n, -1)

    grads = dict(zip(ours._parameters, ours._gradients, strict=True))
    run_both(ours, theirs, x, [(grads[name], tensor) for name, tensor in tensors.items()])


def test_feature_scale():
    ours = nn.FeatureScale(5)
    ours.scale[...] = np.random.default_rng(9).normal(size=5)
    scale = _tensor(ours.scale)
    run_both(ours, lambda xt: xt * scale, _x(3, 4, 5), [("gradScale", scale)])


_ELEMENTWISE = [("selu", tnn.SELU()), ("mish", tnn.Mish()), ("gelu", tnn.GELU()), ("relu", tnn.ReLU())]


@pytest.mark.parametrize(
    "activation, f, shape, n_features",
    [(name, f, shape, n) for name, f in _ELEMENTWISE for shape, n in (((6, 5), 5), ((4, 5, 3), 5), ((6, 5), None))]
    + [("softmax", tnn.Softmax(dim=1), (6, 5), 5)],  # row-wise: the mix goes through its Jacobian
    ids=str,
)
def test_parametric_activation(activation, f, shape, n_features):
    ours = nn.ParametricActivation(activation, n_features)
    ours.weight[...] = np.random.default_rng(10).uniform(-0.5, 1.5, size=ours.weight.shape)
    weight = _tensor(ours.weight)
    w = weight if n_features is None else weight.reshape((1, -1) + (1,) * (len(shape) - 2))
    run_both(ours, lambda xt: xt + w * (f(xt) - xt), _x(*shape), [("gradWeight", weight)])
