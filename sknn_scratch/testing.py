"""Checks for layer and criterion authors: one call verifies a component.

:func:`check_module` verifies a :class:`~sknn_scratch.nn.Module`:

* ``gradInput`` and every parameter gradient against central finite differences of
  ``L = sum(output * R)`` (float64, random ``R``), in training and evaluation mode;
* float32 input gives float32 parameters, output, ``gradInput`` and gradients, with
  values close to the float64 ones;
* the output has the expected shape and ``gradInput`` the shape of the input; a module
  that defines ``output_shape(sample_shape)`` predicts the shape of one output sample;
* integer input (categorical codes, e.g. for an embedding) has no input gradient: its
  ``gradInput`` must be None or zeros, only the parameter gradients are differentiated,
  and the float32 pass feeds the codes as float32;
* parameter gradients accumulate: two ``backward`` calls give twice the gradient;
* an :meth:`~sknn_scratch.nn.Module.inference_copy` computes the evaluation-mode output
  and leaves the module untouched (what makes prediction safe from many threads);
* ``train()`` / ``evaluate()`` set ``training``; evaluation is deterministic and does
  not change the module's parameters or buffers.

:func:`check_criterion` does the same for a :class:`~sknn_scratch.nn.Criterion`, and
also checks that integer sample weights are equivalent to repeating samples.

:func:`check_optimizer` verifies an optimizer class (bound to its parameters at
construction, with ``step``, ``state_dict`` and ``load_state_dict``): it minimises a
quadratic, updates in place, keeps float32 in float32, and its state survives pickling.

All raise ``AssertionError`` naming the failed property and return a dict of the
largest errors found. The package runs them over every registered component.

Examples
--------
>>> import numpy as np
>>> from sknn_scratch.nn import Linear
>>> from sknn_scratch.testing import check_module
>>> report = check_module(Linear(3, 2, rng=0), np.random.default_rng(0).normal(size=(4, 3)))
>>> report["grad_input_error"] < 1e-6
True
"""

from __future__ import annotations

import copy

import numpy as np

from .nn.module import map_held_modules

__all__ = ["check_module", "check_criterion", "check_optimizer"]


def _flat_params(module):
    """``(parameter, gradient)`` pairs of every module of the tree, in order."""
    return [pair for m in module.leaves() for pair in zip(m.getParameters(), m.getGradParameters(), strict=True)]


def _state_arrays(module):
    """Copies of the parameters and declared buffers (``_buffers``) of every module of
    the tree: the state that evaluation must not change."""
    out = [p.copy() for p, _ in _flat_params(module)]
    for m in module.leaves():
        for name in m._buffers:
            value = getattr(m, name, None)
            out.append(None if value is None else np.array(value, copy=True))
    return out


def _attributes(module, prefix=""):
    """``(name, value, copy of an array value)`` of every attribute of ``module`` and,
    recursively, of the modules it holds."""
    out = []
    for key, value in vars(module).items():
        out.append((prefix + key, value, value.copy() if isinstance(value, np.ndarray) else None))
        held = []
        map_held_modules(value, held.append)
        for i, sub in enumerate(held):
            out += _attributes(sub, f"{prefix}{key}[{i}].")
    return out


def _same_state(before, after):
    if len(before) != len(after):
        return False
    return all(
        (a is None and b is None) or (a is not None and b is not None and np.array_equal(a, b))
        for a, b in zip(before, after, strict=True)
    )


def _rel_error(a, b):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.size == 0:
        return 0.0
    return float(np.max(np.abs(a - b) / (np.abs(b) + 1.0)))


def _fd_grad(fun, x, eps):
    """Central finite differences of scalar ``fun()`` w.r.t. array ``x`` (perturbed in place)."""
    grad = np.zeros(x.shape, dtype=np.float64)
    for i in np.ndindex(x.shape):  # indexing works in place whatever the memory layout
        orig = x[i]
        x[i] = orig + eps
        plus = fun()
        x[i] = orig - eps
        minus = fun()
        x[i] = orig
        grad[i] = (plus - minus) / (2 * eps)
    return grad


def _set_mode(module, training):
    module.train() if training else module.evaluate()


def _check_gradients(template, x, R, eps, tol, training, name):
    """Finite-difference check of gradInput and parameter gradients in one mode."""
    errors = {}

    def loss_of(mod, inp):
        return float(np.sum(mod.forward(inp) * R))

    m = copy.deepcopy(template)
    _set_mode(m, training)
    m.forward(x)
    m.zeroGradParameters()
    grad_input = m.backward(x, R.copy())
    analytic = [g.copy() for _, g in _flat_params(m)]

    if _is_codes(x):  # no derivative with respect to integer codes
        _check_no_input_gradient(grad_input, x, name)
        err = 0.0
    else:
        xp = x.copy()
        numeric = _fd_grad(lambda: loss_of(_fresh(template, training), xp), xp, eps)
        err = _rel_error(grad_input, numeric)
    errors["grad_input_error" if training else "eval_grad_input_error"] = err
    assert err < tol, (
        f"{name}: gradInput differs from finite differences ({'train' if training else 'eval'} mode): "
        f"max rel error {err:.3g}"
    )

    if training:
        worst = 0.0
        for index, g in enumerate(analytic):
            probe = copy.deepcopy(template)
            target = _flat_params(probe)[index][0]

            def fun(probe=probe):
                mod = copy.deepcopy(probe)
                _set_mode(mod, training)
                return loss_of(mod, x)

            numeric = _fd_grad(fun, target, eps)
            err = _rel_error(g, numeric)
            worst = max(worst, err)
            assert err < tol, (
                f"{name}: gradient of parameter {index} differs from finite differences: max rel error {err:.3g}"
            )
        errors["grad_param_error"] = worst
    return errors


def _is_codes(x):
    """True for integer (or boolean) input: categorical codes rather than values."""
    return x.dtype.kind in "iub"


def _check_no_input_gradient(grad_input, x, name):
    assert grad_input is None or (
        isinstance(grad_input, np.ndarray) and grad_input.shape == x.shape and not np.any(grad_input)
    ), f"{name}: integer input has no gradient; gradInput must be None or zeros of the input's shape {x.shape}"


def _check_output_shape(template, sample_shape, out_shape, name):
    """``output_shape(sample_shape)`` of a module that defines it equals the shape of
    the output samples of a forward pass."""
    predict = getattr(copy.deepcopy(template), "output_shape", None)
    if predict is None:
        return
    try:
        predicted = predict(tuple(sample_shape))
    except NotImplementedError:
        return
    assert tuple(predicted) == tuple(out_shape), (
        f"{name}: output_shape({tuple(sample_shape)}) = {tuple(predicted)}, but the forward pass gives samples of "
        f"shape {tuple(out_shape)}"
    )


def _fresh(template, training):
    mod = copy.deepcopy(template)
    _set_mode(mod, training)
    return mod


def check_module(module, input, *, expected_output_shape=None, eps=1e-6, tol=1e-5, seed=0):
    """Check a module's gradients, dtype handling, shapes, accumulation and modes.

    Parameters
    ----------
    module : Module
        The module to check. It is deep-copied; the argument is never modified. Random
        modules (e.g. dropout) must keep their randomness in attributes (a
        ``numpy.random.Generator``) so that a copy replays the same draws.
    input : ndarray
        A float64 input batch, or an integer one (categorical codes, see above). Keep it
        small: the finite differences cost two forward passes per input and parameter
        entry.
    expected_output_shape : tuple, optional
        Checked when given; otherwise the output only has to keep the batch size.
    eps, tol : float
        Finite-difference step and the largest accepted error ``|a - n| / (|n| + 1)``.
    seed : int
        Seed of the random projection ``R`` of the output.

    Returns
    -------
    dict
        The largest errors found, by check.
    """
    name = repr(module)
    x = np.array(input)
    if not _is_codes(x):
        x = x.astype(np.float64)
    template = copy.deepcopy(module)
    rng = np.random.default_rng(seed)

    m = copy.deepcopy(template)
    m.train()
    out = m.forward(x.copy())
    assert isinstance(out, np.ndarray), f"{name}: forward must return an ndarray, got {type(out).__name__}"
    assert out is m.output, f"{name}: forward must return self.output"
    if expected_output_shape is not None:
        assert out.shape == tuple(expected_output_shape), (
            f"{name}: output shape {out.shape}, expected {tuple(expected_output_shape)}"
        )
    assert out.shape[:1] == x.shape[:1], f"{name}: output batch size {out.shape[:1]} != input batch size {x.shape[:1]}"
    assert out.dtype == np.float64, f"{name}: float64 input gave {out.dtype} output"
    _check_output_shape(template, x.shape[1:], out.shape[1:], name)
    R = rng.normal(size=out.shape)
    grad_input = m.backward(x, R)
    assert grad_input is m.gradInput, f"{name}: backward must return self.gradInput"
    if _is_codes(x):
        _check_no_input_gradient(grad_input, x, name)
    else:
        assert grad_input.shape == x.shape, f"{name}: gradInput shape {grad_input.shape} != input shape {x.shape}"

    report = {}
    report.update(_check_gradients(template, x, R, eps, tol, True, name))
    report.update(_check_gradients(template, x, R, eps, tol, False, name))

    # accumulation: a second backward adds the same gradient again
    m = _fresh(template, True)
    m.forward(x)
    m.zeroGradParameters()
    m.backward(x, R)
    once = [g.copy() for _, g in _flat_params(m)]
    m.backward(x, R)
    for index, (g1, (_, g2)) in enumerate(zip(once, _flat_params(m), strict=True)):
        assert np.allclose(g2, 2 * g1, rtol=1e-10, atol=1e-12), (
            f"{name}: gradient of parameter {index} does not accumulate over two backward calls"
        )
    m.zeroGradParameters()
    for index, (_, g) in enumerate(_flat_params(m)):
        assert not np.any(g), f"{name}: zeroGradParameters left parameter gradient {index} non-zero"

    # an inference copy gives the evaluation output and changes nothing in the module
    m = _fresh(template, True)
    m.forward(x)
    reference = copy.deepcopy(m)
    reference.evaluate()
    want = reference.forward(x)
    before = _attributes(m)
    got = m.inference_copy().forward(x)
    assert np.allclose(got, want, rtol=1e-12, atol=1e-14), f"{name}: inference_copy().forward differs from evaluation"
    after = _attributes(m)
    assert [k for k, _, _ in after] == [k for k, _, _ in before] and m.training, (
        f"{name}: a pass on an inference copy changed the module"
    )
    for (key, value, saved), (_, now, _) in zip(before, after, strict=True):
        same = now is value and (saved is None or np.array_equal(value, saved, equal_nan=True))
        assert same, f"{name}: a pass on an inference copy changed the module's attribute {key!r}"

    # float32 end to end; the parameters follow the input dtype
    m32 = _fresh(template, True)
    x32 = x.astype(np.float32)
    out32 = m32.forward(x32)
    gi32 = m32.backward(x32, R.astype(np.float32))
    assert out32.dtype == np.float32, f"{name}: float32 input gave {out32.dtype} output"
    if not (_is_codes(x) and gi32 is None):
        assert gi32.dtype == np.float32, f"{name}: float32 input gave {gi32.dtype} gradInput"
    for index, (p, g) in enumerate(_flat_params(m32)):
        assert p.dtype == np.float32 and g.dtype == np.float32, (
            f"{name}: float32 input left parameter {index} as {p.dtype} (gradient {g.dtype})"
        )
    ref = _fresh(template, True)
    ref_out = ref.forward(x)
    report["float32_output_error"] = _rel_error(out32, ref_out)
    assert report["float32_output_error"] < 1e-3, (
        f"{name}: float32 output differs from float64 by {report['float32_output_error']:.3g}"
    )

    # modes
    m = _fresh(template, True)
    m.forward(x)  # let modules with running statistics see a training batch
    m.evaluate()
    assert m.training is False, f"{name}: evaluate() did not set training to False"
    for sub in getattr(m, "modules", []):
        assert sub.training is False, f"{name}: evaluate() did not reach sub-module {sub!r}"
    before = _state_arrays(m)
    e1 = m.forward(x).copy()
    e2 = m.forward(x).copy()
    after = _state_arrays(m)
    assert np.array_equal(e1, e2), f"{name}: evaluation-mode forward is not deterministic"
    assert _same_state(before, after), f"{name}: evaluation-mode forward changed its parameters or buffers"
    m.train()
    assert m.training is True, f"{name}: train() did not set training to True"
    return report


def check_criterion(criterion, input, target, *, eps=1e-6, tol=1e-5, seed=0):
    """Check a criterion: gradient against finite differences (with and without sample
    weights), float32 preservation, and integer sample weights == repeated samples.

    Parameters
    ----------
    criterion : Criterion
    input : ndarray of shape (n_samples, ...)
        A float64 input batch at which the loss is differentiable.
    target : ndarray
        A matching target (``n_samples`` rows).

    Returns
    -------
    dict
        The largest errors found, by check.
    """
    name = repr(criterion)
    x = np.array(input, dtype=np.float64)
    n = x.shape[0]
    rng = np.random.default_rng(seed)
    report = {}
    for label, sw in (("unweighted", None), ("weighted", rng.integers(1, 4, size=n).astype(float))):
        crit = copy.deepcopy(criterion)
        loss = crit.forward(x, target, sw)
        assert np.ndim(loss) == 0 and np.isfinite(loss), f"{name}: loss must be a finite scalar, got {loss!r}"
        grad = np.array(crit.backward(x, target, sw))
        assert grad.shape == x.shape, f"{name}: gradInput shape {grad.shape} != input shape {x.shape}"
        xp = x.copy()
        numeric = _fd_grad(lambda sw=sw, xp=xp: float(copy.deepcopy(criterion).forward(xp, target, sw)), xp, eps)
        err = _rel_error(grad, numeric)
        report[f"{label}_grad_error"] = err
        assert err < tol, f"{name}: {label} gradient differs from finite differences: max rel error {err:.3g}"
        fused = copy.deepcopy(criterion).loss_and_grad(x, target, sw)
        assert np.isclose(fused[0], loss, rtol=1e-12) and np.allclose(fused[1], grad, rtol=1e-12, atol=0), (
            f"{name}: loss_and_grad disagrees with forward/backward"
        )

    # integer weights behave like repeated samples
    w = rng.integers(0, 3, size=n)
    w[0] = max(w[0], 1)
    rep = np.repeat(np.arange(n), w)
    t = np.asarray(target)
    crit = copy.deepcopy(criterion)
    weighted = crit.forward(x, target, w.astype(float))
    repeated = copy.deepcopy(criterion).forward(x[rep], t[rep])
    assert np.isclose(weighted, repeated, rtol=1e-10), f"{name}: integer sample weights differ from repeated samples"

    # float32
    crit = copy.deepcopy(criterion)
    x32 = x.astype(np.float32)
    loss32 = crit.forward(x32, target)
    g32 = crit.backward(x32, target)
    assert np.asarray(g32).dtype == np.float32, f"{name}: float32 input gave {np.asarray(g32).dtype} gradInput"
    report["float32_loss_error"] = abs(float(loss32) - float(copy.deepcopy(criterion).forward(x, target))) / (
        1 + abs(float(loss32))
    )
    assert report["float32_loss_error"] < 1e-4, f"{name}: float32 loss differs from float64"
    return report


def check_optimizer(optimizer_class, *, steps=500, seed=0, **hyperparameters):
    """Check an optimizer class on ``f(x) = 1/2 sum(a (x - c)**2)``, ``a`` in [0.5, 2].

    * bound to a list of parameter arrays (a vector and a matrix), ``steps`` steps
      (gradients refilled in place before each) bring ``f`` below 1 % of its start,
      updating the very arrays it was given;
    * float32 parameters stay float32, and so does its state;
    * ``state_dict()`` survives pickling: a new optimizer that loads it after half the
      steps ends exactly where the original does.

    Parameters
    ----------
    optimizer_class : type
        Called as ``optimizer_class(params, grads, **hyperparameters)``.
    steps : int, default=500
    seed : int, default=0
    **hyperparameters
        Passed to the constructor (e.g. a learning rate that suits the quadratic).

    Returns
    -------
    dict
        ``loss_ratio``: ``f`` after the steps over ``f`` at the start.
    """
    import pickle

    name = getattr(optimizer_class, "__name__", repr(optimizer_class))
    rng = np.random.default_rng(seed)
    shapes = [(7,), (3, 4)]
    scale = [rng.uniform(0.5, 2.0, size=s) for s in shapes]
    centre = [rng.normal(size=s) for s in shapes]

    def run(dtype, n_steps, state=None):
        params = [np.zeros(s, dtype=dtype) for s in shapes]
        grads = [np.zeros(s, dtype=dtype) for s in shapes]
        optimizer = optimizer_class(params, grads, **hyperparameters)
        before = [id(p) for p in params]
        if state is not None:
            optimizer.load_state_dict(pickle.loads(pickle.dumps(state)))
            for p, saved in zip(params, state["_params"], strict=True):
                p[...] = saved
        for _ in range(n_steps):
            for p, g, a, c in zip(params, grads, scale, centre, strict=True):
                g[...] = a * (p - c)
            optimizer.step()
        assert [id(p) for p in params] == before, f"{name}: step replaced parameter arrays instead of updating them"
        return params, optimizer

    def loss(params):
        return sum(float(np.sum(a * (p - c) ** 2)) / 2 for p, a, c in zip(params, scale, centre, strict=True))

    start = loss([np.zeros(s) for s in shapes])
    params, _ = run(np.float64, steps)
    ratio = loss(params) / start
    assert ratio < 1e-2, f"{name}: {steps} steps left the quadratic at {ratio:.3g} of its start (want < 1e-2)"

    params32, optimizer32 = run(np.float32, 3)
    assert all(p.dtype == np.float32 for p in params32), f"{name}: float32 parameters changed dtype"
    arrays = [v for v in optimizer32.state_dict().values() if isinstance(v, (list, tuple))]
    for value in (a for group in arrays for a in group if isinstance(a, np.ndarray)):
        assert value.dtype == np.float32, f"{name}: its state of float32 parameters is {value.dtype}"

    half = steps // 2
    first, optimizer = run(np.float64, half)
    state = dict(optimizer.state_dict(), _params=[p.copy() for p in first])
    resumed, _ = run(np.float64, steps - half, state=state)
    for got, want in zip(resumed, params, strict=True):
        assert np.array_equal(got, want), f"{name}: a new optimizer loaded from state_dict() does not continue exactly"
    return {"loss_ratio": ratio}
