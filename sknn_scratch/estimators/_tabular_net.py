"""How the network of the tabular estimators trains, beyond its layers (which
:mod:`sknn_scratch.estimators.tabular` assembles):

* the learning-rate and weight-decay factors of its parts (RealMLP-TD's);
* hidden weights that train as in the NTK parametrisation: each weight's learning rate
  divided by the square root of its layer's inputs;
* an initialisation from the data: unit output variance on a sample of the rows, and
  offsets that place each unit's kink among the rows' values;
* dropout and decoupled weight decay that fade out over the second half of training.
"""

from __future__ import annotations

import math

import numpy as np

from ..callbacks import Callback
from ..nn import Dropout, Linear

#: learning-rate factors of the parts of the network (RealMLP-TD's)
LR_FACTORS = {"offsets": 0.1, "scale": 6.0, "mix": 0.1, "numeric": 0.1}
#: weight-decay factors of the same parts: AdamW decays by lr * weight_decay * lr_factor *
#: decay_factor, RealMLP by lr * weight_decay * lr_factor**2, so these equal the factors above
DECAY_FACTORS = {"scale": 6.0, "mix": 0.1, "numeric": 0.1}


def _ntk_linear(n_in, n_out, rng, dtype):
    """A linear layer that trains as in the NTK parametrisation ``x @ W.T / sqrt(n_in)``:
    with Adam, the same as a plain weight whose learning rate is divided by ``sqrt(n_in)``
    (and whose decay is multiplied by it, so that a step decays it as much); offsets train
    ten times slower and do not decay."""
    layer = Linear(n_in, n_out, rng=rng, dtype=dtype)
    root = math.sqrt(n_in)
    layer.lr_factors = {"W": 1.0 / root, "b": LR_FACTORS["offsets"]}
    layer.decay_factors = {"W": root, "b": 0.0}
    return layer


def _init_from_data(net, X, rng, n_rows=1024, n_simplex=5):
    """Initialise the linear layers of ``net`` on up to ``n_rows`` rows of ``X``, layer
    after layer (RealMLP's ``std`` and ``he+5``): Gaussian weights scaled so that every
    unit's output has unit variance on those rows, and offsets that put each unit's zero
    at a random convex combination of ``n_simplex`` rows' values, so that the kinks of
    the activations fall among the data."""
    rows = X if len(X) <= n_rows else X[rng.choice(len(X), n_rows, replace=False)]
    net.evaluate()
    x = rows
    for module in net.modules:
        if isinstance(module, Linear):
            W = rng.standard_normal((module.n_in, module.n_out)).astype(module.W.dtype)
            z = x @ W
            spread = z.std(axis=0)
            W /= np.where(spread > 0, spread, 1.0)
            z = x @ W
            picks = rng.integers(0, len(x), size=(module.n_out, n_simplex))
            weights = rng.exponential(size=(module.n_out, n_simplex))
            weights /= weights.sum(axis=1, keepdims=True)
            module.W[...] = W.T
            module.b[...] = -(z[picks, np.arange(module.n_out)[:, None]] * weights).sum(axis=1)
        x = module.forward(x)
    net.train()
    net.clearState()


class _Regularisation(Callback):
    """Dropout and weight decay that fade out with a schedule: before every step, each
    Dropout layer's rate and the optimizer's weight decay are their initial values times
    ``schedule(t, T)`` (``flat_cos``: constant for half the steps, then a cosine to 0)."""

    def __init__(self, dropout, weight_decay, schedule):
        self.dropout, self.weight_decay, self.schedule = dropout, weight_decay, schedule

    def _set(self, estimator):
        optimizer = estimator.optimizer_
        factor = self.schedule(optimizer.t, optimizer.total_steps) if optimizer.total_steps else 1.0
        for layer in estimator.network_.leaves():
            if isinstance(layer, Dropout):
                layer.p = self.dropout * factor
        optimizer.weight_decay = self.weight_decay * factor

    def on_fit_begin(self, estimator, logs):
        self._set(estimator)

    def on_batch_end(self, estimator, logs):
        self._set(estimator)

    def on_fit_end(self, estimator, logs):  # the network shows its dropout rate, not the faded one
        for layer in estimator.network_.leaves():
            if isinstance(layer, Dropout):
                layer.p = self.dropout
