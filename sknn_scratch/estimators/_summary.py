"""``summary()``: the table of an estimator's layers (Keras's ``model.summary()``)."""

from __future__ import annotations

import sys

import numpy as np

from ._builder import build_network, given_shape
from ._data import training_rng
from ._params import read_settings


def summary_table(est, n_features=None, n_outputs=None, file=None):
    """Print and return the table of :meth:`BaseNumpyNet.summary`: each layer with the
    shape of one sample's output and its number of parameters, then the totals. The
    shapes come from the layers' ``output_shape``: nothing is computed."""
    if hasattr(est, "network_"):
        net, n_in = est.network_, getattr(est, "_n_inputs", est.n_features_in_)
        title, activation = "fitted", est.out_activation_
    else:
        if hasattr(est, "_table_network"):
            raise ValueError(
                f"{type(est).__name__}.summary() shows the network of a fitted estimator: its input depends "
                "on the table's columns; fit first"
            )
        if n_features is None and est.input_shape is not None and -1 not in tuple(est.input_shape):
            n_features = int(np.prod(est.input_shape))
        if n_features is None:
            raise ValueError(
                "summary() before fit needs the shape of the input: summary(n_features) for rows of n_features "
                "values, or input_shape=(C, H, W) (without -1) for images; after fit it shows the fitted network"
            )
        settings = read_settings(est)
        n_in, title = int(n_features), "not fitted"
        net = build_network(
            settings, n_in, int(n_outputs or 1), training_rng(0), np.float64, given_shape(settings, n_in)
        )
        activation = est._make_criterion(settings).out_activation
    rows, total, shape = [], 0, (n_in,)
    for i, module in enumerate(net.modules):
        shape = module.output_shape(shape)
        count = sum(p.size for leaf in module.leaves() for p in leaf.getParameters())
        total += count
        rows.append((f"{i:<3}{module!r}", str(tuple(shape)), f"{count:,}"))
    width = max(len(r[0]) for r in rows) + 2
    rule = "=" * (width + 30)
    lines = [f"{type(est).__name__} ({title})", rule, f"{'layer':<{width}}{'output shape':<18}{'parameters':>12}"]
    lines += [rule] + [f"{a:<{width}}{b:<18}{c:>12}" for a, b, c in rows]
    sample_shape = getattr(est, "_sample_shape", None) if hasattr(est, "network_") else est.input_shape
    given = f"samples of shape {tuple(sample_shape)}" if sample_shape is not None else f"{n_in} features per row"
    lines += [rule, f"total parameters: {total:,} (input: {given})"]
    lines.append(f"the network ends in raw scores; predictions apply the output activation {activation!r}")
    if not hasattr(est, "network_") and n_outputs is None:
        lines.append(
            "outputs: 1, as summary(n_features, n_outputs) assumes by default; fit gives the network one per class "
            "(one for two classes) or per target"
        )
    table = "\n".join(lines)
    print(table, file=file or sys.stdout)
    return table
