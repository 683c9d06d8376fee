"""How much code one small fit runs, and how large the modules are.

    python benchmarks/code_measures.py [--list]

Measured on ``NumpyNetClassifier(hidden_layer_sizes=(10,), max_iter=20,
random_state=0).fit(*load_iris(return_X_y=True))``, the first fit of a fresh process,
against scikit-learn's ``MLPClassifier`` with the same settings:

* distinct functions of the package the fit runs, and the number of calls to them
  (``sys.setprofile``; generated code such as comprehensions is not counted);
* the files a reader opens to follow the fit from ``fit`` to the linear layer's weight
  gradient and to the optimizer's step: every package file on the call stack at those
  two points;
* the longest module of the package, in lines.
"""

from __future__ import annotations

import argparse
import collections
import os
import sys
import warnings


def _profile(package_dir, fit, stops):
    """Run ``fit()`` under a profiler: ``(calls per function, files on the stack at the
    functions named in stops)``."""
    calls = collections.Counter()
    on_stack = set()

    def hook(frame, event, arg):
        if event != "call":
            return
        code = frame.f_code
        if not code.co_filename.startswith(package_dir) or code.co_name.startswith("<"):
            return
        where = os.path.relpath(code.co_filename, package_dir)
        calls[(where, code.co_name, code.co_firstlineno)] += 1
        if (where, code.co_name) in stops:
            while frame is not None:
                if frame.f_code.co_filename.startswith(package_dir):
                    on_stack.add(os.path.relpath(frame.f_code.co_filename, package_dir))
                frame = frame.f_back

    sys.setprofile(hook)
    try:
        fit()
    finally:
        sys.setprofile(None)
    return calls, on_stack


def _longest(package_dir):
    sizes = {}
    for root, _, files in os.walk(package_dir):
        for name in files:
            if name.endswith(".py"):
                path = os.path.join(root, name)
                with open(path) as fh:
                    sizes[os.path.relpath(path, package_dir)] = sum(1 for _ in fh)
    return max(sizes.items(), key=lambda item: item[1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--list", action="store_true", help="list every function with its number of calls")
    args = parser.parse_args(argv)

    from sklearn.datasets import load_iris
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    import sknn_scratch
    from sknn_scratch import NumpyNetClassifier

    warnings.simplefilter("ignore", ConvergenceWarning)
    X, y = load_iris(return_X_y=True)
    params = dict(hidden_layer_sizes=(10,), max_iter=20, random_state=0)
    ours_dir = os.path.dirname(sknn_scratch.__file__)
    stops = {("nn/linear.py", "accGradParameters"), ("optim/optimizers.py", "step")}
    ours, files = _profile(ours_dir, lambda: NumpyNetClassifier(**params).fit(X, y), stops)
    mlp_dir = os.path.dirname(sys.modules["sklearn.neural_network"].__file__)
    theirs, _ = _profile(mlp_dir, lambda: MLPClassifier(**params).fit(X, y), set())
    longest, lines = _longest(ours_dir)

    print(f"{'measure':<62}{'MLPClassifier':>15}{'sknn_scratch':>14}")
    print(f"{'distinct package functions one small fit runs':<62}{len(theirs):>15}{len(ours):>14}")
    print(f"{'package calls in that fit':<62}{sum(theirs.values()):>15,}{sum(ours.values()):>14,}")
    print(f"{'files on the stack from fit to Linear backward and Adam step':<62}{'':>15}{len(files):>14}")
    print(f"{'longest module (lines)':<62}{'':>15}{lines:>14}  ({longest})")
    print("files:", ", ".join(sorted(files)))
    if args.list:
        for (where, name, line), count in sorted(ours.items()):
            print(f"{count:>6}  {where}:{line} {name}")


if __name__ == "__main__":
    main()
