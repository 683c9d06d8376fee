"""Fit and predict seconds of the tabular estimators on a table of 10,000 rows and 30 columns.

    python benchmarks/bench_tabular_size.py            # 3 rounds, the machine's threads
    python benchmarks/bench_tabular_size.py --rounds 5 --rows 20000

The table is generated: 22 numeric columns (a fifth of one of them missing) and 8 categorical ones (3 to 40
categories, some missing), a target that mixes them non-linearly. Each round fits ``TabularNetClassifier`` and
``TabularNetRegressor`` with their defaults on every row and predicts every row; the medians over the rounds are
printed. The targets are a fit within 10 s and a prediction of 10,000 rows within 0.5 s on two cores.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import pandas as pd

from sknn_scratch import TabularNetClassifier, TabularNetRegressor


def table(n_rows: int, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """A mixed table of ``n_rows`` rows and 30 columns, and a real-valued target."""
    rng = np.random.default_rng(seed)
    numbers = rng.normal(size=(n_rows, 22))
    X = pd.DataFrame(numbers, columns=[f"x{i}" for i in range(22)])
    X.loc[rng.random(n_rows) < 0.2, "x3"] = np.nan
    effect = np.zeros(n_rows)
    for i, k in enumerate([3, 5, 8, 12, 20, 25, 30, 40]):
        codes = rng.integers(0, k, size=n_rows)
        effect += rng.normal(size=k)[codes] / 2
        column = pd.Categorical.from_codes(codes, [f"c{j}" for j in range(k)])
        X[f"cat{i}"] = column
        X.loc[rng.random(n_rows) < 0.05, f"cat{i}"] = np.nan
    y = np.sin(numbers[:, 0]) + numbers[:, 1] * numbers[:, 2] + np.abs(numbers[:, 4]) + effect
    return X, y + rng.normal(scale=0.3, size=n_rows)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--rows", type=int, default=10_000)
    args = parser.parse_args(argv)
    X, y = table(args.rows)
    targets = {TabularNetRegressor: y, TabularNetClassifier: (y > np.median(y)).astype(int)}
    times: dict[str, list[float]] = {}
    for _ in range(args.rounds):
        for cls, target in targets.items():
            start = time.perf_counter()
            model = cls(random_state=0).fit(X, target)
            fitted = time.perf_counter()
            model.predict(X)
            times.setdefault(f"{cls.__name__} fit", []).append(fitted - start)
            times.setdefault(f"{cls.__name__} predict", []).append(time.perf_counter() - fitted)
    print(f"{args.rows:,} rows x {X.shape[1]} columns, {args.rounds} rounds, median seconds:")
    for name, values in times.items():
        print(f"  {name:<32} {statistics.median(values):.2f}  (min {min(values):.2f}, max {max(values):.2f})")


if __name__ == "__main__":
    main()
