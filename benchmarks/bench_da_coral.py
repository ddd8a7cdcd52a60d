"""CORAL with and without mean alignment, built with ``make_da_pipeline``, against no adaptation.

Two shifts from ``make_conditional_shift``, where the target rows are the source distribution
scaled and moved:

* ``conditional shift``: two features, every target feature times 0.7 plus 1 (the shape of
  skada's ``make_shifted_datasets`` conditional shift);
* ``rescaled and moved``: five features, each target feature scaled by a factor drawn in
  [0.3, 3] and moved by an offset drawn in [-4, 4], new draws for every seed.

Every model sees the same rows: 400 labelled source rows and 400 unlabelled target rows to
adapt on; accuracy is measured on 800 held-out target rows. ``source only`` is the classifier
trained on the source rows; ``CORAL, covariances only`` is the paper's map
(``align_means=False``); ``CORAL`` is the default, means and covariances;
``target-trained`` is the classifier trained on 400 labelled target rows (an upper bound that
uses labels the others do not have). Each CORAL model is
``make_da_pipeline(StandardScaler(), CORAL(...), classifier)``, fitted with
``fit(X, y, sample_domain=sample_domain)`` and metadata routing left disabled.

Usage: ``python benchmarks/bench_da_coral.py [--quick]``. Prints a table, writes
``benchmarks/results/bench_da_coral.json``.
"""

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np
import sklearn
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from sktransfer.datasets import make_conditional_shift
from sktransfer.domain_adaptation import CORAL
from sktransfer.pipeline import make_da_pipeline
from sktransfer.utils import pack_domains

RESULTS = Path(__file__).parent / "results" / "bench_da_coral.json"
N_SOURCE, N_ADAPT, N_TEST = 400, 400, 800
CLASSIFIERS = {"logistic regression": LogisticRegression(), "SVC (RBF)": SVC()}


def shifts(seed):
    """The generator's keyword arguments for each shift, for one seed."""
    rng = np.random.RandomState(10_000 + seed)
    return {
        "conditional shift": {"n_features": 2, "scale": 0.7, "offset": 1.0},
        "rescaled and moved": {
            "n_features": 5,
            "scale": rng.uniform(0.3, 3.0, size=5),
            "offset": rng.uniform(-4.0, 4.0, size=5),
        },
    }


def one_draw(shift, seed):
    """Target accuracy of every model on one draw of one shift."""
    Xs, ys, Xt, yt = make_conditional_shift(
        N_SOURCE, N_ADAPT + N_TEST, random_state=seed, **shifts(seed)[shift]
    )
    X_adapt, y_adapt, X_test, y_test = Xt[:N_ADAPT], yt[:N_ADAPT], Xt[N_ADAPT:], yt[N_ADAPT:]
    X, y, sample_domain = pack_domains(source=(Xs, ys), target=(X_adapt, None))
    out = {}
    for clf_name, classifier in CLASSIFIERS.items():
        out[("source only", clf_name)] = clone(classifier).fit(Xs, ys).score(X_test, y_test)
        for name, align_means in [("CORAL, covariances only", False), ("CORAL", True)]:
            model = make_da_pipeline(
                StandardScaler(), CORAL(align_means=align_means), clone(classifier)
            )
            model.fit(X, y, sample_domain=sample_domain)
            out[(name, clf_name)] = model.score(X_test, y_test)
        target = clone(classifier).fit(X_adapt, y_adapt)
        out[("target-trained", clf_name)] = target.score(X_test, y_test)
    return out


def run(quick=False):
    """Every model on every shift over several seeds, as JSON-able rows."""
    seeds = 3 if quick else 10
    start = time.perf_counter()
    rows = []
    for shift in ["conditional shift", "rescaled and moved"]:
        draws = [one_draw(shift, seed) for seed in range(seeds)]
        for model, classifier in draws[0]:
            accuracies = [draw[(model, classifier)] for draw in draws]
            rows.append(
                {
                    "shift": shift,
                    "model": model,
                    "classifier": classifier,
                    "accuracy_mean": float(np.mean(accuracies)),
                    "accuracy_min": float(np.min(accuracies)),
                    "accuracy_std": float(np.std(accuracies)),
                    "accuracies": [float(a) for a in accuracies],
                }
            )
    machine = {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "scikit-learn": sklearn.__version__,
        "numpy": np.__version__,
        "cpus": os.cpu_count(),
    }
    return {
        "machine": machine,
        "seeds": seeds,
        "n_source": N_SOURCE,
        "n_target_adapt": N_ADAPT,
        "n_target_test": N_TEST,
        "seconds": time.perf_counter() - start,
        "rows": rows,
    }


def print_table(rows):
    columns = ["shift", "model", "classifier", "accuracy_mean", "accuracy_min", "accuracy_std"]
    widths = [18, 23, 19, 13, 12, 12]
    print(" | ".join(f"{c:>{w}}" for c, w in zip(columns, widths, strict=True)))
    for row in rows:
        cells = [
            f"{row[c]:>{w}.3f}" if isinstance(row[c], float) else f"{row[c]!s:>{w}}"
            for c, w in zip(columns, widths, strict=True)
        ]
        print(" | ".join(cells))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 seeds instead of 10")
    args = parser.parse_args()
    results = run(quick=args.quick)
    print(
        f"\n{N_SOURCE} source rows, {N_ADAPT} unlabelled target rows to adapt on, {N_TEST} "
        f"target test rows; target accuracy over {results['seeds']} seeds"
    )
    print_table(results["rows"])
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2))
    print(f"\nwrote {RESULTS}")


if __name__ == "__main__":
    main()
