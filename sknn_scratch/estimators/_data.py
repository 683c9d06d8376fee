"""What a fit takes in besides the training rows: its random numbers, sample weights and
validation set.

- :func:`training_rng` makes the one ``numpy.random.Generator`` behind every draw of a fit
  from ``random_state``, and :func:`consume` hands a ``RandomState``'s draws back, so that
  randomness follows scikit-learn's MLP.
- :func:`check_sample_weight` validates sample weights and multiplies class weights in.
- :func:`validation_split` holds out MLP's early-stopping split.
- :func:`as_model_dtype` converts rows to the dtype a fitted model computes in.
- :func:`check_known_targets` refuses missing or infinite targets.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from sklearn.utils.validation import _check_sample_weight

from ..nn import as_generator

__all__ = [
    "training_rng",
    "consume",
    "check_sample_weight",
    "validation_split",
    "as_model_dtype",
    "validation_arguments",
    "check_known_targets",
    "PIPELINE_ADVICE",
]


def training_rng(random_state) -> np.random.Generator:
    """The Generator behind every random draw of a fit.

    An int seeds a Mersenne Twister exactly as ``np.random.RandomState(seed)`` does,
    so that the initial weights equal those of scikit-learn's MLP for the same
    ``random_state`` (same draws, same order, same bounds). A ``RandomState`` gives a
    Generator that continues from its state (:func:`consume` hands the state back
    after the fit, so that the instance is consumed as MLP consumes it); a
    ``Generator`` is used as is; None draws fresh entropy. The global NumPy random
    state is never used.
    """
    if random_state is None or isinstance(random_state, np.random.Generator):
        return as_generator(random_state)
    if isinstance(random_state, (int, np.integer)):
        random_state = np.random.RandomState(random_state)
    if isinstance(random_state, np.random.RandomState):
        bit_generator = np.random.MT19937()
        bit_generator.state = {"bit_generator": "MT19937", "state": random_state.get_state(legacy=False)["state"]}
        return np.random.Generator(bit_generator)
    return as_generator(random_state)


def consume(random_state, rng):
    """Advance the ``RandomState`` given as ``random_state`` past the draws of ``rng``
    (the Generator :func:`training_rng` made from it)."""
    random_state.set_state(rng.bit_generator.state)


def check_sample_weight(sample_weight, X, extra=None, *, what="sample_weight"):
    """``sample_weight`` (None, or one weight per row) validated, times the weights
    ``extra`` (e.g. from ``class_weight``), in ``X``'s dtype; None when both are None.

    Weights must be finite and non-negative, and some row must keep a positive weight
    once everything is multiplied in, and their sum must be a normal number of the dtype:
    a fit on rows that all weigh nothing (or that sum to infinity) would learn nothing and
    say nothing."""
    if sample_weight is None and extra is None:
        return None
    if sample_weight is not None:
        try:
            sample_weight = _check_sample_weight(sample_weight, X, dtype=X.dtype, ensure_non_negative=True)
        except ValueError as exc:
            raise ValueError(f"{what}: {exc}") from None
    if extra is not None:
        sample_weight = extra if sample_weight is None else sample_weight * extra
    sample_weight = np.asarray(sample_weight, dtype=X.dtype)
    where = f"{what} with the class weights" if extra is not None else what
    weights = "the weights times the class weights" if extra is not None else "the weights"
    if not np.any(sample_weight > 0):
        raise ValueError(f"Sample weights must contain at least one non-zero number ({where} are all zero).")
    # the losses divide by the sum of the weights: a sum beyond the dtype's range would make
    # every loss and gradient 0, weights all below its smallest normal number count as 0
    # (subnormal numbers are flushed to zero in training), and nothing would be learned
    limits = np.finfo(X.dtype)
    with np.errstate(over="ignore"):  # the error below says it
        total = sample_weight.sum()
    if not np.isfinite(total):
        raise ValueError(
            f"{what}: {weights} add up to more than {X.dtype.name} holds ({limits.max:.3g}); divide them by a constant"
        )
    if sample_weight.max() < limits.tiny:
        raise ValueError(
            f"{what}: {weights} are all below {X.dtype.name}'s smallest normal number ({limits.tiny:.3g}), which "
            "training counts as zero; multiply them by a constant"
        )
    return sample_weight


def validation_split(n, validation_fraction, stratify, random_state, sample_weight=None):
    """Row indices ``(train, validation)`` of MLP's early-stopping split: a validation set
    of at least 2 rows (and, stratified, of at least one row per class), the rest for
    training. With ``sample_weight``, each side must keep a row of positive weight: the
    training side would learn nothing, the held-out side would leave nothing to score the
    epochs on."""
    from sklearn.model_selection import train_test_split

    n_val = max(int(np.ceil(validation_fraction * n)), 2)
    if stratify is not None:
        n_val = max(n_val, len(np.unique(stratify)))
    if n - n_val < 1:
        raise ValueError(
            "The validation set is too small. Increase 'validation_fraction' or the size of your dataset "
            f"(n_samples = {n})."
        )
    train, held = train_test_split(np.arange(n), test_size=n_val, random_state=random_state, stratify=stratify)
    for rows, side in ((held, "held out for early stopping"), (train, "left to train on")):
        if sample_weight is not None and not np.any(sample_weight[rows] > 0):
            raise ValueError(
                f"sample_weight: the {len(rows)} rows {side} (validation_fraction={validation_fraction} of {n} "
                "rows) all weigh 0. Give more rows a weight, or a validation set: fit(X, y, X_val=X_val, y_val=y_val)."
            )
    return train, held


def as_model_dtype(X, dtype):
    """``X`` in the model's ``dtype``; float64 values beyond float32's range are an error
    for a float32 model rather than infinities (and NaN predictions)."""
    if X.dtype == dtype:
        return X
    if np.dtype(dtype) == np.float32 and X.dtype == np.float64:
        values = X.data if sp.issparse(X) else X
        if values.size and np.abs(values).max() > np.finfo(np.float32).max:
            raise ValueError(
                f"X has values up to {np.abs(values).max():.3g}, beyond float32's range (3.4e38), and this model "
                "computes in float32 (it was fitted on float32 data); scale the data, or fit on float64 data."
            )
    return X.astype(dtype)


#: how a Pipeline passes a validation set through its steps, for the errors about one
PIPELINE_ADVICE = (
    "If the network is the last step of a Pipeline, its earlier steps transform X but not a validation set "
    "given as validation_data (nor X_val, unless the pipeline says so): give it as fit(X, y, X_val=X_val, "
    'y_val=y_val) with Pipeline(steps, transform_input=["X_val"]), after sklearn.set_config('
    "enable_metadata_routing=True) and the network's set_fit_request(X_val=True, y_val=True)."
)


def validation_arguments(X_val, y_val, sample_weight_val, validation_data):
    """``(X_val, y_val, sample_weight_val)`` from either spelling of a validation set, or None."""
    if validation_data is not None:
        if X_val is not None or y_val is not None or sample_weight_val is not None:
            raise ValueError(
                "give the validation set either as X_val, y_val (and sample_weight_val) or as validation_data, not both"
            )
        if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2, 3):
            raise ValueError("validation_data must be a pair (X_val, y_val) or a triple (X_val, y_val, sample_weight)")
        X_val, y_val, *rest = validation_data
        sample_weight_val = rest[0] if rest else None
    if (X_val is None) != (y_val is None):
        raise ValueError("X_val and y_val go together: give both, or neither")
    if sample_weight_val is not None and X_val is None:
        raise ValueError("sample_weight_val needs X_val and y_val")
    return None if X_val is None else (X_val, y_val, sample_weight_val)


def check_known_targets(y, what="y"):
    """Refuse targets ``y`` that hold missing (NaN, None, pandas' NA) or infinite values,
    naming ``what`` and the first such row: a loss on them is NaN, and a validation
    score of NaN would pick no epoch."""
    y = np.asarray(y)
    if y.dtype.kind in "fc":
        bad = ~np.isfinite(y)
    elif y.dtype.kind == "O":  # labels: None, NaN, pandas' NA and infinities among them
        bad = np.array([_unknown(v) for v in y.ravel().tolist()], dtype=bool).reshape(y.shape)
    else:
        return
    if bad.any():
        row = int(np.argwhere(bad)[0][0])
        value = y[row] if y.ndim == 1 else y[row][bad[row]][0]
        value = value.item() if isinstance(value, np.generic) else value
        raise ValueError(
            f"{what} holds {int(bad.sum())} missing or infinite value(s) (e.g. {value!r} at row {row}); "
            "drop those rows or fill them in"
        )


def _unknown(value):
    """Whether a label is missing or infinite: None, pandas' NA or NaT, NaN or an infinity."""
    if value is None or type(value).__name__ in ("NAType", "NaTType"):
        return True
    return isinstance(value, (float, np.floating)) and not np.isfinite(value)
