"""How the tabular estimators encode a table: robust scaling with smooth clipping, missing
values, categories (one-hot or codes), column typing, errors."""

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from sknn_scratch.estimators._table import CLIP, encode_table, fit_table, layout, smooth_clip


def test_numeric_columns_are_median_centred_divided_by_the_iqr_and_smoothly_clipped():
    x = np.array([1.0, 2.0, 3.0, 4.0, 100.0])
    table = fit_table(x[:, None])
    encoded = encode_table(table, x[:, None])[:, 0]
    q25, median, q75 = np.quantile(x, [0.25, 0.5, 0.75])
    expected = (x - median) / (q75 - q25)
    np.testing.assert_allclose(encoded, expected / np.sqrt(1 + (expected / CLIP) ** 2))
    assert encoded[2] == 0 and encoded.max() < CLIP  # the outlier is squeezed below the clip
    assert np.all(np.diff(encoded) > 0)  # order kept
    assert smooth_clip(np.array([1e9]))[0] == pytest.approx(CLIP)
    # far outliers reach the clip too (their square overflowed, and they became the median)
    with np.errstate(all="raise"):
        far = encode_table(table, np.array([[1e160], [-1e200], [1e308]]))[:, 0]
    np.testing.assert_array_equal(far, [CLIP, -CLIP, CLIP])
    narrow = fit_table(np.array([[0.0], [0.1], [0.2], [0.3]]))  # a scale of 1 / 0.15: 1e308 scales beyond float64
    with np.errstate(all="raise"):
        np.testing.assert_array_equal(encode_table(narrow, np.array([[1e308], [-1e308]]))[:, 0], [CLIP, -CLIP])


def test_spread_falls_back_to_half_the_range_and_constant_columns_become_zero():
    x = np.array([0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 4.0])  # interquartile range 0
    encoded = encode_table(fit_table(x[:, None]), x[:, None])[:, 0]
    assert encoded[-1] == pytest.approx(smooth_clip(np.array([4.0 / 2.0]))[0])
    constant = np.full((5, 1), 7.0)
    assert not encode_table(fit_table(constant), constant).any()


def test_missing_numbers_become_the_median_with_an_indicator_column():
    df = pd.DataFrame({"a": [1.0, np.nan, 3.0, 4.0], "b": [1.0, 2.0, 3.0, 4.0]})
    table = fit_table(df)
    assert layout(table) == (2, 1, [])  # a and b, then a's indicator
    encoded = encode_table(table, df)
    assert encoded[1, 0] == 0.0 and encoded[1, 2] > 0 and encoded[0, 2] == 0
    # a column with no missing value in training has no indicator: a missing value later is the median
    later = encode_table(table, pd.DataFrame({"a": [1.0], "b": [np.nan]}))
    assert later.shape == (1, 3) and later[0, 1] == 0.0


def test_categories_one_hot_when_few_codes_when_many_and_missing_or_unseen_apart():
    df = pd.DataFrame(
        {
            "small": pd.Categorical(["x", "y", "x", None, "y", "x"]),
            "large": [f"c{i}" for i in range(6)],
            "flag": [True, False, True, True, False, True],
        }
    )
    table = fit_table(df, max_one_hot=3)
    # small (x, y) and flag (False, True): one column each; large: 6 categories + the missing code
    assert layout(table) == (0, 2, [7])
    encoded = encode_table(table, df)
    np.testing.assert_array_equal(encoded[:, -1], [1, 2, 3, 4, 5, 6])
    new = pd.DataFrame({"small": ["z"], "large": ["unseen"], "flag": [None]})
    row = encode_table(table, new)[0]
    assert row[-1] == 0  # an unseen category has the code of a missing one
    missing = encode_table(table, df.iloc[[3]])[0]
    assert row[0] == missing[0]  # unseen and missing are one category
    # two categories: +1 and -1 (then scaled like a number), a missing one 0, between them
    small = encoded[:, 0]
    assert small[0] == small[2] == small[5] != small[1] == small[4]
    assert min(small[0], small[1]) < small[3] < max(small[0], small[1])
    assert len(np.unique(encoded[:, 1])) == 2


def test_up_to_eight_categories_one_hot_more_embedded():
    eight = pd.DataFrame({"c": pd.Categorical(list("abcdefgh") * 3)})
    table = fit_table(eight)
    assert layout(table) == (0, 8, [])
    encoded = encode_table(table, eight)
    assert np.all((encoded > 0).sum(axis=1) == 1)  # one column per category, one of them on per row
    assert layout(fit_table(pd.DataFrame({"c": list("abcdefghi") * 3}))) == (0, 0, [10])


def test_categorical_features_by_name_index_mask_or_none_and_clear_errors():
    df = pd.DataFrame({"n": [1.0, 2.0, 3.0], "code": [10, 20, 10]})
    assert layout(fit_table(df)) == (2, 0, [])  # numbers by their dtype
    assert layout(fit_table(df, ["code"])) == (1, 1, [])  # code: two categories, one column
    assert layout(fit_table(df, [1])) == (1, 1, [])
    assert layout(fit_table(df, [False, True])) == (1, 1, [])
    with pytest.raises(ValueError, match="names column 'nope'"):
        fit_table(df, ["nope"])
    with pytest.raises(ValueError, match="3 entries|2 entries"):
        fit_table(df, [True, False, True])
    text = pd.DataFrame({"t": ["a", "b", "c"]})
    with pytest.raises(ValueError, match="not numbers"):
        fit_table(text, None)
    # the example is a value that is not a number, not the first value of the column
    with pytest.raises(ValueError, match=r"column 'n' holds values that are not numbers \(e.g. 'n/a'\)"):
        encode_table(fit_table(df), pd.DataFrame({"n": pd.Series([1.0, None, "n/a"], dtype=object), "code": 10}))
    with pytest.raises(ValueError, match="infinite"):
        fit_table(np.array([[1.0], [np.inf]]))


def test_arrays_sparse_matrices_and_object_arrays():
    X = np.array([[1.0, 0.0], [2.0, 5.0], [3.0, 0.0]])
    np.testing.assert_allclose(
        encode_table(fit_table(sp.csr_matrix(X)), sp.csr_matrix(X)), encode_table(fit_table(X), X)
    )
    mixed = np.array([[1.5, "a"], [2.5, "b"], [np.nan, None]], dtype=object)
    table = fit_table(mixed)
    assert layout(table) == (1, 2, [])  # the number; its indicator and a/b as one column
    with pytest.raises(ValueError, match="features"):
        encode_table(table, X[:, :1])


def test_dates_and_durations_are_seconds_whatever_their_unit_and_nat_is_missing():
    dates = pd.Series(pd.to_datetime(["2020-01-01", "2020-01-02", None, "2020-01-05"]))
    table = fit_table(pd.DataFrame({"d": dates.astype("datetime64[ns]")}))
    assert layout(table) == (1, 1, [])  # the date, and an indicator: NaT is missing, not year -292
    encoded = encode_table(table, pd.DataFrame({"d": dates.astype("datetime64[ns]")}))
    assert encoded[1, 0] == encoded[2, 0] == 0 and encoded[2, 1] > encoded[0, 1]  # the median date; missing
    assert np.all(np.abs(encoded[:, 0]) < 2)  # no date pushed to the clip
    # the same dates in seconds, with a time zone, or as Arrow timestamps encode the same
    for same in (
        dates.astype("datetime64[s]"),
        dates.dt.tz_localize("UTC").dt.tz_convert("Asia/Tokyo"),
        dates.astype("timestamp[ms][pyarrow]"),
    ):
        np.testing.assert_array_equal(encode_table(table, pd.DataFrame({"d": same})), encoded)
    waits = pd.DataFrame({"w": pd.to_timedelta([1, 2, None, 5], unit="h")})
    seconds = pd.DataFrame({"w": [3600.0, 7200.0, None, 18000.0]})
    np.testing.assert_allclose(
        encode_table(fit_table(waits), waits.astype("timedelta64[s]")), encode_table(fit_table(seconds), seconds)
    )
    with pytest.raises(ValueError, match="column 'd' holds numbers, but it held dates"):
        encode_table(table, pd.DataFrame({"d": [1.0, 2.0, 3.0, 4.0]}))


def test_an_object_column_of_numbers_in_a_dataframe_is_numeric():
    # pandas leaves numbers in an object column after e.g. df.replace("?", None): they stay numbers, so that
    # values not seen in training still count (as a category they would all be "unseen")
    df = pd.DataFrame({"x": pd.Series([1.0, None, 3, 4.5, 2], dtype=object), "t": ["a", "b", "a", None, "b"]})
    table = fit_table(df)
    assert [spec["column"] for spec in table["numeric"]] == [0]
    assert [spec["column"] for spec in table["categorical"]] == [1]
    new = encode_table(table, pd.DataFrame({"x": pd.Series([100.0], dtype=object), "t": ["a"]}))
    assert new[0, 0] > encode_table(table, df)[:, 0].max()
    # a category dtype says categories, whatever its values
    codes = pd.DataFrame({"c": pd.Categorical([3, 1, 2, 1]), "d": pd.Categorical([1.5, None, 2.5, 1.5])})
    assert layout(fit_table(codes)) == (0, 4, [])


def test_cells_that_cannot_be_categories_are_named_and_decimals_are_numbers():
    from decimal import Decimal

    tags = pd.DataFrame({"tags": pd.Series([["a"], ["b"], None], dtype=object)})
    with pytest.raises(ValueError, match=r"column 'tags' holds \['a'\], a list, which cannot be a category"):
        fit_table(tags)
    table = fit_table(pd.DataFrame({"tags": ["a", "b", None]}))
    with pytest.raises(ValueError, match=r"column 'tags' holds \{'k': 1\}, a dict"):
        encode_table(table, pd.DataFrame({"tags": pd.Series([{"k": 1}], dtype=object)}))
    # numbers read from a database often come as Decimal objects: a column of them is numeric
    prices = pd.DataFrame({"price": pd.Series([Decimal("1.50"), Decimal("2.25"), None, Decimal("10")], dtype=object)})
    assert layout(fit_table(prices)) == (1, 1, [])


def test_rows_given_as_lists_keep_their_numbers_beside_text():
    rows = [[1.5, "a"], [2.0, "b"], [3.25, "a"], [7.0, "c"]]  # numpy would make every value text
    table = fit_table(rows)
    assert layout(table) == (1, 3, [])  # a number; a, b, c one-hot
    as_objects = fit_table(np.array(rows, dtype=object))
    np.testing.assert_array_equal(encode_table(table, rows), encode_table(as_objects, rows))
    assert encode_table(table, [[100.0, "a"]])[0, 0] > encode_table(table, rows)[:, 0].max()


def test_category_codes_of_mixed_values_are_those_of_a_lookup_value_by_value():
    # the distinct values are found first (pandas' factorize); each row's code must still be the training
    # category its value equals, whatever the mix of types (1 and 1.0 are one key, True and "True" two)
    train = pd.DataFrame({"c": pd.Series(["a", "True", True, 2, 3.5, None] * 2, dtype=object)})
    table = fit_table(train, categorical_features=[0])
    rng = np.random.default_rng(0)
    pool = np.array(["a", "True", True, 2, 2.0, np.int64(2), 3.5, "zz", None, np.nan, 7], dtype=object)
    rows = pd.DataFrame({"c": pd.Series(pool[rng.integers(0, len(pool), size=400)], dtype=object)})
    encoded = encode_table(table, rows)
    one_by_one = np.vstack([encode_table(table, rows.iloc[[i]]) for i in range(len(rows))])
    np.testing.assert_array_equal(encoded, one_by_one)
    twos = rows["c"].map(lambda v: isinstance(v, (int, float, np.integer)) and not isinstance(v, bool) and v == 2)
    assert len({tuple(r) for r in encoded[twos.to_numpy()]}) == 1  # 2, 2.0 and np.int64(2): one category
