"""TrAdaBoost when the source rows mislead: against AdaBoost on the labelled target rows alone.

Two tasks where the first learners, dominated by the source rows, are no better than chance on
the target rows (the stall that froze the old TrAdaBoost):

* ``concept swap``: source concept ``x0 > 0``, target concept ``x1 > 0``, two Gaussian features,
  5,000 source rows, 200 labelled target rows, 20 depth-5 trees;
* ``redrawn``: ``make_redrawn_classification`` (the shape of ADAPT's ``make_classification_da``),
  20 features, 20,000 source rows, 200 labelled target rows, depth-5 trees, 10 and 50 learners.

Every model boosts the same trees for the same number of rounds on the same draw; accuracy on
5,000 held-out target rows, over several seeds. TrAdaBoost runs three ways: with its defaults
(the target rows start with the source rows' total weight, every learner votes), with
``balance_domains=False`` (Dai et al.'s start, from uniform weights) and as in Dai et al.
(their start, and ``voters="last_half"``: only the last half of the learners vote).
``warned_every_seed`` says whether the stall warning was raised on every seed, and
``gap_to_target_only`` is the mean accuracy minus that of AdaBoost on the labelled target rows
(negative where the model loses to it). Usage: ``python benchmarks/bench_da_tradaboost.py
[--quick]``; prints a table and writes ``benchmarks/results/bench_da_tradaboost.json``.
"""

import argparse
import json
import os
import platform
import time
import warnings
from pathlib import Path

import numpy as np
import sklearn
from sklearn.ensemble import AdaBoostClassifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.tree import DecisionTreeClassifier

from sktransfer.datasets import make_redrawn_classification
from sktransfer.instance_transfer import TrAdaBoost
from sktransfer.utils import pack_domains

RESULTS = Path(__file__).parent / "results" / "bench_da_tradaboost.json"
N_TARGET, N_TEST, SEEDS = 200, 5000, 3
TARGET_ONLY = "AdaBoost, target rows only"
TRADABOOSTS = {
    "TrAdaBoost": {},
    "TrAdaBoost, balance_domains=False": {"balance_domains": False},
    "TrAdaBoost as Dai et al.": {"balance_domains": False, "voters": "last_half"},
}


def concept_swap(n_source, random_state):
    rng = np.random.RandomState(random_state)
    Xs = rng.normal(size=(n_source, 2))
    Xt = rng.normal(size=(N_TARGET + N_TEST, 2))
    return Xs, (Xs[:, 0] > 0).astype(int), Xt, (Xt[:, 1] > 0).astype(int)


def redrawn(n_source, random_state):
    return make_redrawn_classification(
        n_source, N_TARGET + N_TEST, n_features=20, random_state=random_state
    )


def one_draw(task, n_source, n_estimators, seed):
    Xs, ys, Xt, yt = task(n_source, seed)
    X_fit, y_fit, X_test, y_test = Xt[:N_TARGET], yt[:N_TARGET], Xt[N_TARGET:], yt[N_TARGET:]
    X, y, sample_domain = pack_domains(source=(Xs, ys), target=(X_fit, y_fit))
    tree = DecisionTreeClassifier(max_depth=5)
    out = {}
    for name, params in TRADABOOSTS.items():
        start = time.perf_counter()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            tradaboost = TrAdaBoost(tree, n_estimators=n_estimators, random_state=seed, **params)
            tradaboost.fit(X, y, sample_domain=sample_domain)
        out[name] = {
            "accuracy": tradaboost.score(X_test, y_test),
            "seconds": time.perf_counter() - start,
            "warned": any(issubclass(w.category, ConvergenceWarning) for w in caught),
            "first_error": float(tradaboost.estimator_errors_[0]),
        }
    for name, rows in [
        (TARGET_ONLY, (X_fit, y_fit)),
        ("AdaBoost, pooled", (X, y)),
    ]:
        start = time.perf_counter()
        ada = AdaBoostClassifier(tree, n_estimators=n_estimators, random_state=seed).fit(*rows)
        out[name] = {"accuracy": ada.score(X_test, y_test), "seconds": time.perf_counter() - start}
    return out


def run(quick=False):
    """Run every setting over ``SEEDS`` seeds; return the JSON-able results."""
    settings = [
        ("concept swap", concept_swap, 5000, 20),
        ("redrawn", redrawn, 5000 if quick else 20_000, 10),
        ("redrawn", redrawn, 5000 if quick else 20_000, 50),
    ]
    if quick:
        settings = settings[:2]
    rows = []
    for task_name, task, n_source, n_estimators in settings:
        draws = [one_draw(task, n_source, n_estimators, seed) for seed in range(SEEDS)]
        target_only = np.mean([draw[TARGET_ONLY]["accuracy"] for draw in draws])
        for model in draws[0]:
            accuracies = [draw[model]["accuracy"] for draw in draws]
            row = {
                "task": task_name,
                "n_source": n_source,
                "n_estimators": n_estimators,
                "model": model,
                "accuracy_mean": float(np.mean(accuracies)),
                "accuracy_min": float(np.min(accuracies)),
                "accuracies": [float(a) for a in accuracies],
                "gap_to_target_only": float(np.mean(accuracies) - target_only),
                "fit_seconds_mean": float(np.mean([draw[model]["seconds"] for draw in draws])),
            }
            if model in TRADABOOSTS:
                row["warned_every_seed"] = all(draw[model]["warned"] for draw in draws)
            rows.append(row)
    machine = {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "scikit-learn": sklearn.__version__,
        "cpus": os.cpu_count(),
    }
    return {"machine": machine, "quick": quick, "n_target": N_TARGET, "seeds": SEEDS, "rows": rows}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    results = run(quick=parser.parse_args().quick)
    columns = [
        "task",
        "n_estimators",
        "model",
        "accuracy_mean",
        "accuracy_min",
        "gap_to_target_only",
    ]
    print(" | ".join(columns + ["warned"]))
    for row in results["rows"]:
        cells = [f"{row[c]:.3f}" if isinstance(row[c], float) else str(row[c]) for c in columns]
        print(" | ".join(cells + [str(row.get("warned_every_seed", ""))]))
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2))
    print(f"\nwrote {RESULTS}")


if __name__ == "__main__":
    main()
