"""``Conv1d`` against a loop over positions and finite differences."""

import numpy as np
import pytest
from _finite_differences import numeric_grad

from sknn_scratch import nn
from sknn_scratch.testing import check_module

# (in_channels, out_channels, kernel_size, stride, padding, length, bias)
CONFIGS = [
    (2, 3, 3, 1, 0, 7, True),
    (3, 2, 1, 1, 0, 5, True),
    (2, 4, 3, 2, 1, 8, True),
    (1, 2, 4, 3, 2, 9, False),  # the stride does not divide: a tail no window reaches
    (2, 2, 5, 1, "same", 6, True),
    (2, 2, 3, 1, "valid", 3, True),
]


def naive_conv1d(x, W, b, stride, pad):
    N, C, L = x.shape
    O, _, k = W.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad)))
    Lo = (L + 2 * pad - k) // stride + 1
    y = np.zeros((N, O, Lo))
    for n in range(N):
        for o in range(O):
            for t in range(Lo):
                y[n, o, t] = b[o] + np.sum(W[o] * xp[n, :, t * stride : t * stride + k])
    return y


@pytest.mark.parametrize("C, O, k, s, p, L, bias", CONFIGS)
def test_forward_and_gradients_match_loops(C, O, k, s, p, L, bias, rng):
    conv = nn.Conv1d(C, O, k, stride=s, padding=p, bias=bias, rng=0)
    pad = k // 2 if p == "same" else 0 if p == "valid" else p
    x = rng.normal(size=(3, C, L))
    y = conv.forward(x)
    np.testing.assert_allclose(y, naive_conv1d(x, conv.W, conv.b, s, pad), rtol=1e-12, atol=1e-12)
    assert y.shape[1:] == conv.output_shape(x.shape[1:]) and y.flags.c_contiguous
    g = rng.normal(size=y.shape)
    conv.zeroGradParameters()
    grad = conv.backward(x, g)

    def loss():
        return float(np.sum(naive_conv1d(x, conv.W, conv.b, s, pad) * g))

    np.testing.assert_allclose(grad, numeric_grad(loss, x), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(conv.gradW, numeric_grad(loss, conv.W), rtol=1e-6, atol=1e-8)
    if bias:
        np.testing.assert_allclose(conv.gradb, g.sum(axis=(0, 2)), rtol=1e-12)
    else:
        assert not conv.b.any() and not conv.gradb.any()


def test_default_initialisation_is_pytorchs(rng):
    conv = nn.Conv1d(16, 64, 5, rng=0)
    bound = 1 / np.sqrt(16 * 5)
    for p in (conv.W, conv.b):
        assert np.abs(p).max() <= bound and np.abs(p).max() > 0.9 * bound
    assert abs(conv.W.std() - bound / np.sqrt(3)) < 0.05 * bound
    glorot = nn.Conv1d(16, 64, 5, init="glorot_uniform", rng=0)
    assert np.abs(glorot.W).max() <= np.sqrt(6 / (16 * 5 + 64 * 5))


def test_float32_stays_float32(rng):
    conv = nn.Conv1d(2, 3, 3, rng=0)
    x = rng.normal(size=(2, 2, 6)).astype(np.float32)
    assert conv.forward(x).dtype == np.float32 and conv.backward(x, np.ones((2, 3, 4), np.float32)).dtype == np.float32


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(padding="same", kernel_size=4), "odd kernel_size"),
        (dict(padding="same", stride=2), "stride=1"),
        (dict(padding="full"), "padding must be"),
        (dict(padding=-1), "padding"),
        (dict(stride=0), "stride"),
    ],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        nn.Conv1d(2, 3, **{"kernel_size": 3, **kwargs})


def test_bad_input_is_named(rng):
    conv = nn.Conv1d(2, 3, 5)
    with pytest.raises(ValueError, match=r"expects input of shape \(n_samples, 2, length\), got \(4, 3, 8\)"):
        conv.forward(np.zeros((4, 3, 8)))
    with pytest.raises(ValueError, match=r"padded sequence \(4 = 4 \+ 2 \* 0\) is shorter than the kernel \(5\)"):
        conv.forward(np.zeros((4, 2, 4)))
    with pytest.raises(ValueError, match=r"takes samples of shape \(2, length\), got samples of shape \(2, 3, 4\)"):
        conv.output_shape((2, 3, 4))
    conv.forward(np.zeros((1, 2, 6)))
    with pytest.raises(ValueError, match="gradOutput must have shape"):
        conv.backward(np.zeros((1, 2, 6)), np.zeros((1, 3, 3)))


def test_declarations():
    conv = nn.Conv1d(4, 8, 3, stride=2, padding=1, bias=False)
    assert repr(conv) == "Conv1d(4, 8, kernel_size=3, stride=2, padding=1, bias=False)"
    assert repr(nn.Conv1d(4, 8, 3, padding="same")) == "Conv1d(4, 8, kernel_size=3, padding='same')"
    assert conv._decayed == ("W",) and nn.Conv1d.infer_args((4, 100)) == {"in_channels": 4}


def test_conv1d_in_a_network_passes_check_module(rng):
    net = nn.Sequential(nn.Conv1d(2, 3, 3, stride=2, padding=1, rng=0), nn.SiLU(), nn.Conv1d(3, 2, 2, rng=1))
    check_module(net, rng.normal(size=(2, 2, 7)))


def test_blocks_of_samples_give_the_whole_batch_result(rng, monkeypatch):
    from sknn_scratch.nn import _kernels

    conv = nn.Conv1d(3, 4, 3, stride=2, padding=1, rng=0)
    x, g = rng.normal(size=(5, 3, 9)), rng.normal(size=(5, 4, 5))
    want = [conv.forward(x).copy(), conv.backward(x, g).copy(), conv.gradW.copy(), conv.gradb.copy()]
    monkeypatch.setattr(_kernels, "BLOCK_BYTES", 1)  # one sample per block
    assert len(conv._blocks(5, 5, 8)) == 5
    conv.zeroGradParameters()
    got = [conv.forward(x), conv.backward(x, g), conv.gradW, conv.gradb]
    for a, b in zip(got, want, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


def test_backward_is_both_passes_at_once(rng):
    conv = nn.Conv1d(3, 4, 3, stride=2, padding=1, rng=0)
    x, g = rng.normal(size=(5, 3, 9)), rng.normal(size=(5, 4, 5))
    conv.forward(x)
    grad = conv.updateGradInput(x, g).copy()
    conv.accGradParameters(x, g)
    want = [conv.gradW.copy(), conv.gradb.copy()]
    conv.zeroGradParameters()
    np.testing.assert_allclose(conv.backward(x, g), grad, rtol=1e-12, atol=1e-14)
    for got, expected in zip([conv.gradW, conv.gradb], want, strict=True):
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-14)
    conv.zeroGradParameters()
    assert conv.backward(x, g, input_grad=False) is None and conv.gradInput is None
    for got, expected in zip([conv.gradW, conv.gradb], want, strict=True):
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-14)
