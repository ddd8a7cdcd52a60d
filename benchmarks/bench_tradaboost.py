"""TrAdaBoost against AdaBoost on pooled rows and on the target rows alone: accuracy and fit time.

The data come from ``make_shifted_classification``: 20,000 source rows, 30% or 40% of them
labelled by a concept rotated by 90 degrees, and a few labelled target rows. Every model boosts
the same depth-5 decision trees for the same number of iterations, so fit times compare the
boosting loops themselves. Accuracy is measured on 5,000 held-out target rows; each setting is
repeated over several seeds (data draw and model seed).

Usage: ``python benchmarks/bench_tradaboost.py [--quick]``. Prints a table, writes
``benchmarks/results/bench_tradaboost.json``.
"""

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

import numpy as np
import sklearn
from sklearn.ensemble import AdaBoostClassifier
from sklearn.tree import DecisionTreeClassifier

from sktransfer.datasets import make_shifted_classification
from sktransfer.instance_transfer import TrAdaBoost
from sktransfer.utils import pack_domains

RESULTS = Path(__file__).parent / "results" / "bench_tradaboost.json"
N_TEST = 5000


def models(n_estimators, seed):
    """Each model as ``(estimator, rows it trains on, passes sample_domain)``."""
    tree = DecisionTreeClassifier(max_depth=5)
    boost = {"n_estimators": n_estimators, "random_state": seed}
    dynamic = TrAdaBoost(tree, dynamic_correction=True, **boost)
    return {
        "TrAdaBoost": (TrAdaBoost(tree, **boost), "pooled", True),
        "TrAdaBoost (dynamic)": (dynamic, "pooled", True),
        "AdaBoost, pooled rows": (AdaBoostClassifier(tree, **boost), "pooled", False),
        "AdaBoost, target rows only": (AdaBoostClassifier(tree, **boost), "target", False),
        "AdaBoost, source rows only": (AdaBoostClassifier(tree, **boost), "source", False),
    }


def one_draw(args, shifted_fraction, n_target, seed):
    """Accuracy and fit seconds of every model on one draw of the data."""
    Xs, ys, Xt, yt = make_shifted_classification(
        n_source=args.n_source,
        n_target=n_target + N_TEST,
        shifted_fraction=shifted_fraction,
        random_state=seed,
    )
    X_test, y_test = Xt[n_target:], yt[n_target:]
    X, y, sample_domain = pack_domains(source=(Xs, ys), target=(Xt[:n_target], yt[:n_target]))
    rows = {"pooled": (X, y), "target": (Xt[:n_target], yt[:n_target]), "source": (Xs, ys)}
    out = {}
    for name, (model, data, with_domain) in models(args.n_estimators, seed).items():
        fit_params = {"sample_domain": sample_domain} if with_domain else {}
        start = time.perf_counter()
        model.fit(*rows[data], **fit_params)
        seconds = time.perf_counter() - start
        out[name] = (model.score(X_test, y_test), seconds)
    return out


def benchmark(args):
    rows = []
    settings = [(f, n) for f in args.shifted_fraction for n in args.n_target]
    for shifted_fraction, n_target in settings:
        draws = [one_draw(args, shifted_fraction, n_target, seed) for seed in range(args.seeds)]
        for name in draws[0]:
            accuracies = [draw[name][0] for draw in draws]
            seconds = [draw[name][1] for draw in draws]
            rows.append(
                {
                    "model": name,
                    "shifted_fraction": shifted_fraction,
                    "n_target": n_target,
                    "accuracy_mean": float(np.mean(accuracies)),
                    "accuracy_std": float(np.std(accuracies)),
                    "fit_seconds_median": statistics.median(seconds),
                }
            )
    return rows


def print_table(rows, columns):
    widths = [max(len(c), 26 if c == "model" else 0) for c in columns]
    print(" | ".join(f"{c:>{w}}" for c, w in zip(columns, widths, strict=True)))
    for row in rows:
        cells = [
            f"{row[c]:>{w}.3f}" if isinstance(row[c], float) else f"{row[c]!s:>{w}}"
            for c, w in zip(columns, widths, strict=True)
        ]
        print(" | ".join(cells))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-source", type=int, default=20_000)
    parser.add_argument("--n-target", type=int, nargs="+", default=[10, 25, 100])
    parser.add_argument("--shifted-fraction", type=float, nargs="+", default=[0.3, 0.4])
    parser.add_argument("--n-estimators", type=int, default=50)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    args = parser.parse_args()
    if args.quick:
        args.n_source, args.n_target, args.n_estimators, args.seeds = 2000, [10], 10, 1
        args.shifted_fraction = [0.4]
    rows = benchmark(args)
    print(
        f"\n{args.n_source} source rows, depth-5 trees, {args.n_estimators} iterations, "
        f"{N_TEST} target test rows, mean over {args.seeds} seeds"
    )
    columns = ["model", "shifted_fraction", "n_target", "accuracy_mean", "accuracy_std"]
    print_table(rows, columns + ["fit_seconds_median"])
    RESULTS.parent.mkdir(exist_ok=True)
    machine = {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "scikit-learn": sklearn.__version__,
        "numpy": np.__version__,
        "cpus": os.cpu_count(),
    }
    RESULTS.write_text(json.dumps({"machine": machine, "args": vars(args), "rows": rows}, indent=2))
    print(f"\nwrote {RESULTS}")


if __name__ == "__main__":
    main()
