"""KMM and KLIEP against the unweighted estimator under sample selection bias: accuracy and time.

The data come from ``make_selection_bias`` (private to ``sktransfer.datasets``): standard normal
rows labelled by a parabola, the source a biased subsample crowding where the parabola is steep
(Huang et al., 2007; Shimodaira, 2000). Every model is a ``LogisticRegression``, which cannot
follow the parabola, fitted on the same labelled source rows; the weighted ones also see the
same unlabelled target rows. "oracle weights" uses the true density ratio, the best that any
weighting can do with this model. Accuracy is measured on 5,000 held-out target rows, over
several seeds (data draw and weighter seed). A no-shift setting (``bias=0``) shows what
weighting costs when there is nothing to correct. A timing table fits the weighters on up to
20,000 source rows.

Usage: ``python benchmarks/bench_da_importance.py [--quick]``. Prints tables, writes
``benchmarks/results/bench_da_importance.json``.
"""

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

import numpy as np
import scipy
import sklearn
from sklearn.linear_model import LogisticRegression

from sktransfer.datasets._selection_bias import make_selection_bias, selection_probability
from sktransfer.instance_transfer import KLIEP, KMM, ImportanceWeightedClassifier
from sktransfer.utils import pack_domains

RESULTS = Path(__file__).parent / "results" / "bench_da_importance.json"
N_TEST = 5000


def models(seed, bias):
    """Each model as a function ``(X, y, sample_domain, Xs, ys) -> fitted classifier``."""

    def weighted(weighter):
        def fit(X, y, sample_domain, Xs, ys):
            clf = ImportanceWeightedClassifier(LogisticRegression(), weighting=weighter)
            return clf.fit(X, y, sample_domain=sample_domain)

        return fit

    def oracle(X, y, sample_domain, Xs, ys):
        ratio = 1.0 / selection_probability(Xs, bias)  # the true ratio, up to a constant
        return LogisticRegression().fit(Xs, ys, sample_weight=ratio)

    return {
        "unweighted": lambda X, y, sample_domain, Xs, ys: LogisticRegression().fit(Xs, ys),
        "KMM (Nystroem, 500)": weighted(KMM(random_state=seed)),
        "KMM (exact kernel)": weighted(KMM(n_components=None, random_state=seed)),
        "KLIEP": weighted(KLIEP(random_state=seed)),
        "oracle weights": oracle,
    }


def one_draw(n_source, n_target, bias, seed):
    """Accuracy and fit seconds of every model on one draw of the data."""
    Xs, ys, Xt, yt = make_selection_bias(
        n_source=n_source, n_target=n_target + N_TEST, bias=bias, random_state=seed
    )
    X, y, sample_domain = pack_domains(source=(Xs, ys), target=(Xt[:n_target], None))
    X_test, y_test = Xt[n_target:], yt[n_target:]
    out = {}
    for name, fit in models(seed, bias).items():
        start = time.perf_counter()
        model = fit(X, y, sample_domain, Xs, ys)
        seconds = time.perf_counter() - start
        out[name] = (model.score(X_test, y_test), seconds)
    return out


def accuracy_rows(settings, seeds):
    rows = []
    for n_source, n_target, bias in settings:
        draws = [one_draw(n_source, n_target, bias, seed) for seed in range(seeds)]
        baseline = [draw["unweighted"][0] for draw in draws]
        for name in draws[0]:
            accuracies = [draw[name][0] for draw in draws]
            gains = np.subtract(accuracies, baseline)
            rows.append(
                {
                    "model": name,
                    "bias": bias,
                    "n_source": n_source,
                    "n_target": n_target,
                    "accuracy_mean": float(np.mean(accuracies)),
                    "accuracy_std": float(np.std(accuracies)),
                    "accuracies": [float(a) for a in accuracies],
                    "gain_mean": float(np.mean(gains)),
                    "gain_min": float(np.min(gains)),
                    "fit_seconds_median": statistics.median(draw[name][1] for draw in draws),
                }
            )
    return rows


def timing_rows(sizes, n_target, seed=0):
    """Seconds to learn the weights of ``n_source`` rows, and the classifier's accuracy."""
    rows = []
    for n_source in sizes:
        Xs, ys, Xt, yt = make_selection_bias(
            n_source=n_source, n_target=n_target + N_TEST, random_state=seed
        )
        X, y, sample_domain = pack_domains(source=(Xs, ys), target=(Xt[:n_target], None))
        plain = LogisticRegression().fit(Xs, ys).score(Xt[n_target:], yt[n_target:])
        weighters = {"KMM (Nystroem, 500)": KMM(random_state=seed), "KLIEP": KLIEP(random_state=0)}
        if n_source <= 5000:  # the exact kernel of 20,000 rows would take 3.2 GB
            weighters["KMM (exact kernel)"] = KMM(n_components=None, random_state=seed)
        for name, weighter in weighters.items():
            clf = ImportanceWeightedClassifier(LogisticRegression(), weighting=weighter)
            start = time.perf_counter()
            clf.fit(X, y, sample_domain=sample_domain)
            seconds = time.perf_counter() - start
            rows.append(
                {
                    "model": name,
                    "n_source": n_source,
                    "n_target": n_target,
                    "fit_seconds": seconds,
                    "accuracy": clf.score(Xt[n_target:], yt[n_target:]),
                    "unweighted_accuracy": plain,
                }
            )
    return rows


def print_table(rows, columns):
    widths = [max(len(c), 22 if c == "model" else 0) for c in columns]
    print(" | ".join(f"{c:>{w}}" for c, w in zip(columns, widths, strict=True)))
    for row in rows:
        cells = [
            f"{row[c]:>{w}.3f}" if isinstance(row[c], float) else f"{row[c]!s:>{w}}"
            for c, w in zip(columns, widths, strict=True)
        ]
        print(" | ".join(cells))


def run(quick=False):
    """Run the benchmark and return its JSON-able results."""
    if quick:
        seeds, settings, sizes, n_target = 3, [(300, 300, 2.5)], [2000], 500
    else:
        seeds = 5
        settings = [(500, 500, 2.5), (2000, 2000, 2.5), (2000, 2000, 0.0)]
        sizes, n_target = [2000, 20_000], 2000
    machine = {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "scikit-learn": sklearn.__version__,
        "scipy": scipy.__version__,
        "numpy": np.__version__,
        "cpus": os.cpu_count(),
    }
    return {
        "machine": machine,
        "args": {"quick": quick, "seeds": seeds, "n_test": N_TEST},
        "accuracy": accuracy_rows(settings, seeds),
        "timing": timing_rows(sizes, n_target),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    args = parser.parse_args()
    results = run(quick=args.quick)
    print(
        f"\nLogisticRegression on biased source rows, {N_TEST} target test rows, "
        f"mean over {results['args']['seeds']} seeds; gain = accuracy - unweighted's"
    )
    columns = ["model", "bias", "n_source", "accuracy_mean", "accuracy_std", "gain_mean"]
    print_table(results["accuracy"], columns + ["gain_min", "fit_seconds_median"])
    print("\nTime to weight the source rows and fit (one seed)")
    columns = ["model", "n_source", "n_target", "fit_seconds", "accuracy"]
    print_table(results["timing"], columns + ["unweighted_accuracy"])
    if not args.quick:
        RESULTS.parent.mkdir(exist_ok=True)
        RESULTS.write_text(json.dumps(results, indent=2))
        print(f"\nwrote {RESULTS}")


if __name__ == "__main__":
    main()
