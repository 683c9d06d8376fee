"""The smooth and exponential activations against their textbook formulas, in place
and out of place, on extreme inputs, and PReLU's learned slopes."""

import math
import warnings

import numpy as np
import pytest

from sknn_scratch import nn
from sknn_scratch.testing import check_module

SELU_ALPHA, SELU_SCALE = 1.6732632423543772, 1.0507009873554805


def _gelu(x):
    return x * 0.5 * (1 + math.erf(x / math.sqrt(2)))


def _softplus(x, beta=1.0, threshold=20.0):
    return x if beta * x > threshold else math.log1p(math.exp(beta * x)) / beta


# name -> (module factory, the function of one float, computed independently)
REFERENCES = {
    "gelu": (nn.GELU, _gelu),
    "gelu_tanh": (
        lambda: nn.GELU("tanh"),
        lambda x: 0.5 * x * (1 + math.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3))),
    ),
    "silu": (nn.SiLU, lambda x: x / (1 + math.exp(-x))),
    "mish": (nn.Mish, lambda x: x * math.tanh(math.log1p(math.exp(x)))),
    "selu": (nn.SELU, lambda x: SELU_SCALE * (x if x > 0 else SELU_ALPHA * (math.exp(x) - 1))),
    "elu": (lambda: nn.ELU(0.7), lambda x: x if x > 0 else 0.7 * (math.exp(x) - 1)),
    "leaky_relu": (lambda: nn.LeakyReLU(0.2), lambda x: x if x > 0 else 0.2 * x),
    "softplus": (nn.Softplus, _softplus),
    "softplus_beta": (lambda: nn.Softplus(2.0, 3.0), lambda x: _softplus(x, 2.0, 3.0)),
}
ELEMENTWISE = sorted(REFERENCES)


def _derivative(fn, x, h=1e-6):
    return (fn(x + h) - fn(x - h)) / (2 * h)


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_forward_and_derivative_match_the_formula(name, rng):
    factory, fn = REFERENCES[name]
    x = rng.normal(scale=2.5, size=(6, 7))
    x[0, :3] = [0.1, -0.1, 0.3]  # values on both sides of 0
    module = factory()
    y = module.forward(x)
    np.testing.assert_allclose(y, np.vectorize(fn)(x), rtol=1e-12, atol=1e-14)
    g = rng.normal(size=x.shape)
    expected = g * np.vectorize(lambda v: _derivative(fn, v))(x)
    np.testing.assert_allclose(module.backward(x, g), expected, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_in_place_training_pass_overwrites_and_matches(name, rng):
    factory, _ = REFERENCES[name]
    x = rng.normal(scale=2.0, size=(5, 4))
    g = rng.normal(size=x.shape)
    reference = factory()
    want_y, want_g = reference.forward(x).copy(), reference.backward(x, g).copy()

    module = factory()
    module.inplace = True
    x_inplace, g_inplace = x.copy(), g.copy()
    y = module.forward(x_inplace)
    assert y is x_inplace, "the forward pass did not write into its input"
    grad = module.backward(x_inplace, g_inplace)  # the input now holds the output
    assert grad is g_inplace, "the backward pass did not write into its gradOutput"
    np.testing.assert_array_equal(y, want_y)
    np.testing.assert_array_equal(grad, want_g)
    assert "inplace=True" in repr(module)


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_evaluation_pass_keeps_its_input_and_backward_uses_it(name, rng):
    factory, _ = REFERENCES[name]
    x = rng.normal(size=(4, 3))
    g = rng.normal(size=x.shape)
    trained = factory()
    want = trained.forward(x).copy(), trained.backward(x, g).copy()
    module = factory()
    module.inplace = True
    module.evaluate()
    x_kept = x.copy()
    y = module.forward(x_kept)
    np.testing.assert_array_equal(x_kept, x)  # never overwritten in evaluation
    assert module.derivative is None
    np.testing.assert_array_equal(y, want[0])
    np.testing.assert_array_equal(module.backward(x_kept, g.copy()), want[1])


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_in_place_after_a_linear_layer_passes_check_module(name, rng):
    factory, _ = REFERENCES[name]
    act = factory()
    act.inplace = True
    net = nn.Sequential(nn.Linear(3, 4, rng=0), act, nn.Linear(4, 2, rng=1))
    check_module(net, rng.normal(size=(5, 3)))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", ELEMENTWISE)
def test_extreme_inputs_give_finite_values_and_no_warnings(name, dtype):
    factory, fn = REFERENCES[name]
    x = np.array([[-1e30, -1e4, -100.0, -30.0, 0.0, 30.0, 100.0, 1e4, 1e30]], dtype=dtype)
    module = factory()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = module.forward(x.copy())
        d = module.derivative
    assert y.dtype == dtype and np.all(np.isfinite(y)) and np.all(np.isfinite(d))
    finite = np.abs(x) < 1e4  # where the float formula itself does not overflow
    want = np.vectorize(fn)(x[finite].astype(np.float64))
    np.testing.assert_allclose(y[finite], want, rtol=1e-6, atol=1e-30)


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_float16_keeps_its_dtype_and_gives_finite_values_near_float64(name):
    # float16 overflows at 65504: an exponential of 12 already does, a product of a few hundreds too
    factory, _ = REFERENCES[name]
    x = np.array([[-1e4, -100.0, -30.0, -5.0, -0.5, 0.0, 0.5, 5.0, 12.0, 30.0, 100.0, 1e4]], dtype=np.float16)
    g = np.ones_like(x)
    module, reference = factory(), factory()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y, grad = module.forward(x.copy()), module.backward(x, g)
    want_y, want_grad = reference.forward(x.astype(np.float64)), reference.backward(x.astype(np.float64), g)
    assert y.dtype == grad.dtype == np.float16
    np.testing.assert_allclose(y.astype(np.float64), want_y, rtol=2e-3, atol=1e-3)
    np.testing.assert_allclose(grad.astype(np.float64), want_grad, rtol=2e-3, atol=1e-3)


def test_gelu_float32_error_is_at_float32_resolution():
    """float32 uses the Abramowitz-Stegun erf: absolute error near 1e-7 per unit of x."""
    x64 = np.linspace(-8, 8, 20001)
    x32 = x64.astype(np.float32)
    exact = nn.GELU().forward(x32.astype(np.float64)[None])
    module = nn.GELU()
    fast = module.forward(x32[None])
    assert fast.dtype == np.float32
    assert np.max(np.abs(fast - exact) / (1 + np.abs(x32))) < 4e-7
    derivative = nn.GELU()
    derivative.forward(x32.astype(np.float64)[None])
    assert np.max(np.abs(module.derivative - derivative.derivative)) < 1e-6


@pytest.mark.parametrize(
    "factory, message",
    [
        (lambda: nn.GELU("erf"), "approximate"),
        (lambda: nn.ELU(float("nan")), "alpha"),
        (lambda: nn.LeakyReLU("0.1"), "negative_slope"),
        (lambda: nn.Softplus(beta=0), "beta"),
        (lambda: nn.PReLU(0), "n_parameters"),
        (lambda: nn.PReLU(init="glorot_uniform"), "initial slope"),
    ],
)
def test_bad_arguments_are_named(factory, message):
    with pytest.raises(ValueError, match=message):
        factory()


def test_reprs():
    assert repr(nn.GELU()) == "GELU()"
    assert repr(nn.GELU("tanh", inplace=True)) == "GELU(approximate='tanh', inplace=True)"
    assert repr(nn.SiLU(inplace=True)) == "SiLU(inplace=True)"
    assert repr(nn.ELU(0.5)) == "ELU(alpha=0.5)"
    assert repr(nn.LeakyReLU()) == "LeakyReLU(negative_slope=0.01)"
    assert repr(nn.Softplus(2.0)) == "Softplus(beta=2.0)"
    assert repr(nn.PReLU()) == "PReLU()"
    assert repr(nn.PReLU(3, 0.1)) == "PReLU(n_parameters=3, init=0.1)"


def test_integer_input_becomes_float64(rng):
    y = nn.SiLU().forward(np.array([[-1, 0, 2]]))
    assert y.dtype == np.float64
    np.testing.assert_allclose(y, [[-1 / (1 + math.e), 0, 2 / (1 + math.exp(-2))]])


def test_prelu_one_slope_per_channel(rng):
    prelu = nn.PReLU(3, init=0.2)
    prelu.slope[...] = [0.1, -0.5, 2.0]
    x = rng.normal(size=(2, 3, 4, 4))
    y = prelu.forward(x)
    a = prelu.slope[None, :, None, None]
    np.testing.assert_array_equal(y, np.where(x > 0, x, a * x))
    g = rng.normal(size=x.shape)
    prelu.zeroGradParameters()
    np.testing.assert_array_equal(prelu.backward(x, g), np.where(x > 0, g, a * g))
    np.testing.assert_allclose(prelu.gradSlope, np.sum(np.where(x > 0, 0, x) * g, axis=(0, 2, 3)))
    check_module(prelu, rng.normal(size=(2, 3, 2, 2)))
    with pytest.raises(ValueError, match="3 slopes, one per entry of the input's axis 1"):
        prelu.forward(np.zeros((2, 4)))
    with pytest.raises(ValueError, match="3 slopes"):
        prelu.output_shape((5,))


def test_prelu_slope_is_learned_and_reset(rng):
    prelu = nn.PReLU(init=0.3)
    assert prelu.getParameters()[0].tolist() == [0.3]
    prelu.slope[...] = 1.0
    prelu.reset_parameters(0)
    assert prelu.slope.tolist() == [0.3]
    assert prelu._decayed == () and nn.PReLU.infer_args((5,)) == {}


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_large_batches_in_pieces_match_the_whole_batch(name, rng, monkeypatch):
    """Batches beyond one piece are evaluated piece by piece, also in place and for
    arrays that are not C-contiguous (evaluated whole)."""
    from sknn_scratch.nn import modern_activation as activation

    factory, _ = REFERENCES[name]
    x, g = rng.normal(scale=3, size=(40, 30)), rng.normal(size=(40, 30))
    whole = factory()
    want_y, want_g = whole.forward(x).copy(), whole.backward(x, g).copy()
    monkeypatch.setattr(activation, "_PIECE", 64)  # 19 pieces, the last one partial
    for inplace, layout in [(False, "C"), (True, "C"), (False, "F")]:
        module = factory()
        module.inplace = inplace
        xi = np.array(x, order=layout)
        np.testing.assert_array_equal(module.forward(xi), want_y)
        np.testing.assert_array_equal(module.backward(xi, g.copy()), want_g)
        module.evaluate()
        np.testing.assert_array_equal(module.forward(np.array(x, order=layout)), want_y)


def test_training_passes_reuse_the_derivative_array(rng):
    gelu = nn.GELU()
    gelu.forward(rng.normal(size=(3, 4)))
    kept = gelu.derivative
    y = gelu.forward(rng.normal(size=(3, 4)))
    assert gelu.derivative is kept and y is not kept
    gelu.forward(rng.normal(size=(2, 4)))  # another shape: a new array
    assert gelu.derivative is not kept and gelu.derivative.shape == (2, 4)
