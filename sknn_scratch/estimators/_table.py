"""Tables as they come, encoded for a network: the preprocessing of the tabular estimators.

:func:`fit_table` learns, from the rows given to ``fit``, how to encode every column;
:func:`encode_table` applies it to any rows with the same columns. The encoding is plain
data (dicts, lists and arrays), saved with the estimator like its other settings.

Columns:

* **numeric**: centred on the training median, divided by the interquartile range
  (half the range where that is 0; a constant column becomes 0), then smoothly clipped,
  ``x / sqrt(1 + (x / 3)**2)`` (values stay in (-3, 3) and keep their order). A missing
  value becomes 0, the median, and a column that had missing values in training gets a
  0/1 indicator column beside it. Dates and durations (``datetime64``, with or without
  a time zone, ``timedelta64``, and pandas' Arrow timestamps) are numbers of seconds
  (since 1970 for dates), whatever their unit, and NaT is missing;
* **categorical** (pandas ``category``, ``string`` and ``bool`` columns, ``object``
  columns holding anything but numbers, or those named in ``categorical_features``):
  each training category gets a code; a missing or unseen category gets its own. A
  column of at most ``max_one_hot`` categories becomes one 0/1 column per category,
  scaled like a numeric column; a larger one stays an integer code, for an embedding
  in the network.

The encoded rows are one float matrix: the numeric columns (with indicators and one-hot
columns) first, then one column of codes per large categorical column.
"""

from __future__ import annotations

import decimal
import numbers

import numpy as np
import scipy.sparse as sp

__all__ = ["fit_table", "encode_table", "check_table_shape", "CLIP"]

#: smooth clipping's bound: x / sqrt(1 + (x / CLIP)**2) stays in (-CLIP, CLIP)
CLIP = 3.0
#: the most categories a column may have to be one-hot encoded (more: learned embeddings)
MAX_ONE_HOT = 8


def _is_frame(X):
    return hasattr(X, "dtypes") and hasattr(X, "columns")


def _categorical_dtype(dtype):
    kind = getattr(dtype, "kind", None)
    name = str(dtype)
    return name == "category" or name.startswith("string") or name == "str" or kind in ("O", "b", "U", "S")


def _holds_only_numbers(column):
    """Whether an object column holds numbers (and missing values) only, at least one."""
    values = np.asarray(column, dtype=object)[~_missing(column)]
    return values.size > 0 and all(
        isinstance(v, (numbers.Real, decimal.Decimal)) and not isinstance(v, (bool, np.bool_)) for v in values
    )


def check_table_shape(X):
    """Refuse an array that is not a table (one row or one column needs a reshape); return
    its shape."""
    shape = X.shape if _is_frame(X) or sp.issparse(X) else np.asarray(X).shape
    if len(shape) == 1:
        raise ValueError(
            f"Expected 2D array, got 1D array instead: array of shape {shape}. Reshape your data either "
            "using array.reshape(-1, 1) if your data has a single feature or array.reshape(1, -1) if it "
            "contains a single sample."
        )
    if len(shape) != 2:
        raise ValueError(f"Expected a 2-D table (n_samples, n_features), got an array of shape {shape}")
    return shape


def _columns(X):
    """``(names or None, list of 1-D columns)`` of a DataFrame, an array or a sparse matrix."""
    if _is_frame(X):
        names, columns = [str(c) for c in X.columns], [X.iloc[:, j] for j in range(X.shape[1])]
    else:
        check_table_shape(X)
        if sp.issparse(X):
            X = X.toarray()
        elif not hasattr(X, "dtype") and np.asarray(X).dtype.kind in "US":
            X = np.asarray(X, dtype=object)  # rows in lists: numbers beside text stay numbers, not text
        X = np.asarray(X)
        names, columns = None, [X[:, j] for j in range(X.shape[1])]
    if not columns:
        raise ValueError(f"Found array with 0 feature(s) (shape={X.shape}) while a minimum of 1 is required.")
    if any(getattr(c, "dtype", None) is not None and c.dtype.kind == "c" for c in columns):
        raise ValueError("Complex data not supported: the table holds a column of complex numbers")
    return names, columns


def _holds_text(column):
    """Whether an object column of an array holds text or booleans (a category) rather
    than numbers."""
    return any(isinstance(v, (str, bytes, bool, np.bool_)) for v in column)


def _categorical_mask(X, names, columns, categorical_features):
    """Which columns are categorical, from the dtypes or from ``categorical_features``."""
    n = len(columns)
    if isinstance(categorical_features, str) and categorical_features == "from_dtype":
        if _is_frame(X):  # an object column of numbers (e.g. left so by a replace) stays numeric
            return [
                _categorical_dtype(c.dtype) and not (c.dtype == np.dtype(object) and _holds_only_numbers(c))
                for c in columns
            ]
        # an array: text columns (and object columns holding text or booleans)
        return [c.dtype.kind in "USb" or (c.dtype.kind == "O" and _holds_text(c)) for c in columns]
    if categorical_features is None:
        return [False] * n
    given = np.asarray(categorical_features)
    if given.dtype == bool:
        if given.shape != (n,):
            raise ValueError(f"categorical_features as a mask must have {n} entries, one per column; got {len(given)}")
        return [bool(v) for v in given]
    mask = [False] * n
    for item in given.tolist():
        if isinstance(item, str):
            if names is None or item not in names:
                raise ValueError(
                    f"categorical_features names column {item!r}, but X has "
                    + (f"the columns {names}" if names is not None else "no column names (an array)")
                )
            mask[names.index(item)] = True
        elif isinstance(item, numbers.Integral) and -n <= item < n:
            mask[item] = True
        else:
            raise ValueError(f"categorical_features holds {item!r}: give column names, indices in [0, {n}) or a mask")
    return mask


def _missing(values):
    """Missing entries of a column: None, NaN, pandas' NA and NaT."""
    try:
        import pandas as pd

        return np.asarray(pd.isna(values), dtype=bool)
    except ImportError:  # pragma: no cover - the estimators accept arrays without pandas
        values = np.asarray(values, dtype=object)
        return np.array([v is None or (isinstance(v, float) and np.isnan(v)) for v in values], dtype=bool)


#: the kinds of dates and durations, by their dtype's kind
_TIME_KINDS = {"M": "dates", "m": "durations"}


def _time_kind(column):
    """``"M"`` for a column of dates, ``"m"`` for one of durations, else None."""
    kind = getattr(getattr(column, "dtype", None), "kind", None)
    return kind if kind in _TIME_KINDS else None


def _seconds(column, kind):
    """Dates as seconds since 1970 (in UTC for dates with a time zone), durations as
    seconds, in float64 whatever their unit; NaN where missing."""
    unit = "datetime64[us]" if kind == "M" else "timedelta64[us]"
    try:
        values = column.to_numpy(dtype=unit) if hasattr(column, "to_numpy") else np.asarray(column).astype(unit)
    except (TypeError, ValueError):  # e.g. Arrow dates without a time of day
        import pandas as pd

        convert = pd.to_datetime if kind == "M" else pd.to_timedelta
        values = np.asarray(convert(pd.Series(column)).to_numpy(dtype=unit))
    seconds = values.astype(np.int64) / 1e6
    seconds[np.isnat(values)] = np.nan
    return seconds


def _as_numbers(column, name, time_kind=None):
    """A column as float64, or a clear error naming it. Dates and durations become
    seconds; ``time_kind`` is what the column held in training (see :func:`_time_kind`),
    and a column that holds dates or durations now and not then, or the other way
    round, is an error."""
    kind = _time_kind(column)
    if kind != time_kind:
        held = lambda k: _TIME_KINDS[k] if k else "numbers"  # noqa: E731
        raise ValueError(
            f"column {name} holds {held(kind)}, but it held {held(time_kind)} when the estimator was fitted"
        )
    if kind is not None:
        return _seconds(column, kind)
    try:
        values = np.asarray(column, dtype=np.float64)
    except (TypeError, ValueError):
        missing = _missing(column)
        try:  # None / pd.NA among numbers
            values = np.where(missing, np.nan, np.asarray(column, dtype=object)).astype(np.float64)
        except (TypeError, ValueError):
            raise ValueError(
                f"column {name} holds values that are not numbers (e.g. {_not_a_number(column, missing)!r}); "
                "name it in categorical_features, or give it a categorical dtype"
            ) from None
    if np.isinf(values).any():
        raise ValueError(f"column {name} holds infinite values; replace them (e.g. by NaN, which counts as missing)")
    return values


def _not_a_number(column, missing):
    """The first value of ``column`` that is neither missing nor a number."""
    for value, skip in zip(np.asarray(column, dtype=object), missing, strict=True):
        if not skip:
            try:
                float(value)
            except (TypeError, ValueError):
                return value
    return None


def _scale_of(values):
    """The robust scale of a column's known values: ``(median, 1 / spread)``, the spread
    the interquartile range, or half the range where that is 0; 0 for a constant column."""
    values = values[~np.isnan(values)]
    if values.size == 0:
        return 0.0, 0.0
    q25, median, q75 = np.quantile(values, [0.25, 0.5, 0.75])
    spread = q75 - q25
    if spread == 0:
        spread = 0.5 * (values.max() - values.min())
    return float(median), (0.0 if spread == 0 else float(1.0 / spread))


def _category_keys(values, name):
    """Each category of ``values`` as a hashable key that compares equal across dtypes of
    the same value (a column's ``True`` and ``"True"`` stay apart; ``1`` and ``1.0`` do
    not); a clear error for a value that cannot be a key (a list, a dict)."""
    keys = [v.item() if isinstance(v, np.generic) else v for v in values]
    for key in keys:
        try:
            hash(key)
        except TypeError:
            raise ValueError(
                f"column {name} holds {key!r}, a {type(key).__name__}, which cannot be a category: turn such "
                "values into text or numbers (e.g. column.map(str))"
            ) from None
    return keys


def _name(table, j):
    """Column ``j`` as the errors name it."""
    return repr(table["names"][j]) if table.get("names") is not None else str(j)


def fit_table(X, categorical_features="from_dtype", max_one_hot=MAX_ONE_HOT):
    """Learn the encoding of the table ``X`` (see the module docstring); return it as a
    dict of plain values."""
    names, columns = _columns(X)
    mask = _categorical_mask(X, names, columns, categorical_features)
    label = (lambda j: repr(names[j])) if names is not None else (lambda j: str(j))
    numeric, categorical = [], []
    for j, column in enumerate(columns):
        if mask[j]:
            missing = _missing(column)
            values = np.asarray(column, dtype=object)[~missing]
            keys = sorted(set(_category_keys(values, label(j))), key=lambda v: (type(v).__name__, str(v)))
            categorical.append({"column": j, "categories": keys, "one_hot": len(keys) <= max_one_hot})
        else:
            kind = _time_kind(column)
            values = _as_numbers(column, label(j), kind)
            median, inverse_spread = _scale_of(values)
            spec = {"column": j, "median": median, "scale": inverse_spread, "indicator": bool(np.isnan(values).any())}
            numeric.append(spec if kind is None else {**spec, "time": kind})
    table = {"n_columns": len(columns), "names": names, "numeric": numeric, "categorical": categorical}
    one_hot = _encode_categories(table, columns)
    # the one-hot columns are scaled like numeric ones, on the training rows
    table["one_hot_scales"] = [list(_scale_of(one_hot[:, k])) for k in range(one_hot.shape[1])]
    return table


def _encode_numbers(table, columns, label):
    """``(scaled numbers, missing indicators)`` of the given columns."""
    n = len(columns[0]) if columns else 0
    numbers, indicators = [], []
    for spec in table["numeric"]:
        values = _as_numbers(columns[spec["column"]], label(spec["column"]), spec.get("time"))
        missing = np.isnan(values)
        with np.errstate(over="ignore"):  # beyond float64's range: infinity, which smooth_clip bounds
            scaled = (values - spec["median"]) * spec["scale"]
        scaled[missing] = 0.0
        numbers.append(scaled)
        if spec["indicator"]:
            indicators.append(missing.astype(np.float64))
    return tuple(np.column_stack(block) if block else np.zeros((n, 0)) for block in (numbers, indicators))


def _encode_categories(table, columns):
    """The raw one-hot block: a column of two categories as one column (+1 for the first,
    -1 for the second, 0 when missing or unseen), a larger one as one 0/1 column per
    category."""
    n = len(columns[0]) if columns else 0
    blocks = []
    for spec in table["categorical"]:
        if spec["one_hot"]:
            codes = _codes(spec, columns[spec["column"]], _name(table, spec["column"]))
            if len(spec["categories"]) == 2:
                blocks.append(np.array([0.0, 1.0, -1.0])[codes][:, None])
            else:
                blocks.append((codes[:, None] == np.arange(1, len(spec["categories"]) + 1)[None, :]).astype(np.float64))
    return np.hstack(blocks) if blocks else np.zeros((n, 0))


def _codes(spec, column, name):
    """Codes 1..K of a categorical column's training categories; 0 for missing and unseen."""
    lookup = {key: i + 1 for i, key in enumerate(spec["categories"])}
    missing = _missing(column)
    codes = np.zeros(len(missing), dtype=np.int64)
    known = ~missing
    values = np.asarray(column, dtype=object)[known]
    try:  # the distinct values first (in C with pandas), so that Python sees each once
        import pandas as pd

        inverse, distinct = pd.factorize(values)
    except (ImportError, TypeError):  # no pandas, or values that cannot be keys (named below)
        inverse, distinct = np.arange(len(values)), values
    codes[known] = np.array([lookup.get(key, 0) for key in _category_keys(distinct, name)], dtype=np.int64)[inverse]
    return codes


def smooth_clip(x):
    """``x / sqrt(1 + (x / CLIP)**2)``: the identity near 0, bounded by ``CLIP``. Values
    beyond 1e150 (whose square would overflow to infinity, and the result to 0) give
    ``CLIP``, as 1e150 itself does."""
    x = np.clip(x, -1e150, 1e150)
    return x / np.sqrt(1.0 + (x / CLIP) ** 2)


def encode_table(table, X, dtype=np.float64):
    """The network's input for the rows of ``X``, encoded as ``table`` says: one float
    matrix, the scaled numeric columns, their missing indicators and the one-hot
    columns, then the codes of the large categorical columns."""
    names, columns = _columns(X)
    if len(columns) != table["n_columns"]:
        raise ValueError(f"X has {len(columns)} features, but the table was fitted with {table['n_columns']} features")
    label = (lambda j: repr(names[j])) if names is not None else (lambda j: str(j))
    numbers, indicators = _encode_numbers(table, columns, label)
    one_hot = _encode_categories(table, columns)
    if one_hot.shape[1]:
        centre = np.array([m for m, _ in table["one_hot_scales"]])
        scale = np.array([s for _, s in table["one_hot_scales"]])
        one_hot = (one_hot - centre) * scale
    codes = [
        _codes(spec, columns[spec["column"]], _name(table, spec["column"]))
        for spec in table["categorical"]
        if not spec["one_hot"]
    ]
    n = len(columns[0]) if columns else 0
    code_block = np.column_stack(codes).astype(np.float64) if codes else np.zeros((n, 0))
    return np.hstack([smooth_clip(numbers), smooth_clip(indicators), smooth_clip(one_hot), code_block]).astype(
        dtype, copy=False
    )


def layout(table):
    """``(numbers, other dense columns, category counts of the embedded columns)`` of the
    encoded rows: the count of scaled numeric columns, that of the missing indicators and
    one-hot columns after them, and for each embedded column its categories plus the
    missing/unseen code."""
    n_numbers = len(table["numeric"])
    n_other = sum(spec["indicator"] for spec in table["numeric"]) + len(table["one_hot_scales"])
    cardinalities = [len(spec["categories"]) + 1 for spec in table["categorical"] if not spec["one_hot"]]
    return n_numbers, n_other, cardinalities
