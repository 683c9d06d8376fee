"""A table as it comes: a DataFrame with numbers, categories and missing values.

``TabularNetRegressor`` takes the DataFrame as it is: it detects the categorical columns
from their dtypes, scales the numbers robustly, gives missing values an indicator column
and standardises the target, all fitted on the training rows inside the estimator. The
same table needs a ColumnTransformer (imputation, one-hot encoding, scaling) before
``MLPRegressor``; ``HistGradientBoostingRegressor`` reads the categories natively.

The table is scikit-learn's diabetes data in its original units, made to look like a
table from a database: ``sex`` as text, an age group as an ordered category, and a
tenth of the blood pressures missing.

Run it: ``python examples/tabular_dataframe.py``.
"""

import time

import numpy as np
import pandas as pd
from sklearn.compose import TransformedTargetRegressor, make_column_transformer
from sklearn.datasets import load_diabetes
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.impute import SimpleImputer
from sklearn.model_selection import KFold, cross_val_score
from sklearn.neural_network import MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from sknn_scratch import TabularNetRegressor


def mixed_table(seed=0):
    """``(X, y)``: the diabetes table with a text column, a category and missing values."""
    X, y = load_diabetes(return_X_y=True, as_frame=True, scaled=False)
    X = X.copy()
    X["sex"] = X["sex"].map({1.0: "female", 2.0: "male"})  # text (object dtype)
    X["age_group"] = pd.cut(X.pop("age"), [0, 30, 45, 60, 100], labels=["<30", "30-44", "45-59", "60+"])
    rng = np.random.default_rng(seed)
    X.loc[rng.random(len(X)) < 0.1, "bp"] = np.nan
    return X, y


def main(n_splits=3):
    """Cross-validated R^2 and fit seconds of the three models; returns ``{name: (r2, seconds)}``."""
    X, y = mixed_table()
    print(X.dtypes.value_counts().to_dict(), f"{int(X.isna().sum().sum())} missing values")
    categorical = ["sex", "age_group"]
    numeric = [c for c in X.columns if c not in categorical]
    mlp = make_pipeline(
        make_column_transformer(
            (make_pipeline(SimpleImputer(), StandardScaler()), numeric),
            (OneHotEncoder(handle_unknown="ignore"), categorical),
        ),
        MLPRegressor(hidden_layer_sizes=(64,), early_stopping=True, max_iter=1000, random_state=0),
    )
    mlp = TransformedTargetRegressor(mlp, transformer=StandardScaler())  # and a scaled target
    models = {
        "TabularNetRegressor": TabularNetRegressor(random_state=0),  # no preprocessing at all
        "HistGradientBoostingRegressor": HistGradientBoostingRegressor(categorical_features="from_dtype"),
        "MLPRegressor (preprocessed)": mlp,
    }
    # HistGradientBoosting reads pandas categories, not text: give it the text column as a category
    X_hgb = X.astype({"sex": "category"})
    folds = KFold(n_splits, shuffle=True, random_state=0)
    results = {}
    for name, model in models.items():
        start = time.perf_counter()
        data = X_hgb if name.startswith("Hist") else X
        r2 = cross_val_score(model, data, y, cv=folds, scoring="r2").mean()
        results[name] = (r2, (time.perf_counter() - start) / n_splits)
        print(f"{name:34s} R^2 {r2:.3f}   {results[name][1]:.1f} s per fit")
    return results


if __name__ == "__main__":
    main()
