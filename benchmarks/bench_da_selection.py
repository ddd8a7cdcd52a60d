"""Choosing domain-adaptation settings without target labels: each scorer's pick against the oracle.

Unsupervised domain adaptation has labelled source rows and unlabelled target rows, so its
settings cannot be tuned on target accuracy. ``sktransfer.model_selection`` scores a fitted
model on a validation fold of labelled source rows and unlabelled target rows. This benchmark
asks, for each scorer, which setting of a small grid it picks, and what target accuracy that
pick reaches, against the oracle: the setting that target labels would pick
(``TargetAccuracyScorer`` on the same validation fold, with the target labels revealed).

Two problems, the same protocol:

(a) ``DANNClassifier`` on digits -> digits-M (16 px), ``domain_weight`` in a small grid. Per
    seed (data draw and network seed): 30% of the target rows are a labelled test set; the
    rest are unlabelled target rows. ``DomainShuffleSplit(n_splits=1, test_size=0.25)`` splits
    the labelled source rows and the unlabelled target rows; each setting is fitted once on the
    training fold and scored by every scorer on the validation fold, exactly as ``GridSearchCV``
    with that splitter calls them. "test acc." is the accuracy on the held-out target test set.

(b) A ``CORAL`` pipeline on a shifted linear problem (the target's features measured in other
    units and mixed), ``reg`` in a grid, same protocol, more seeds (it is cheap).

"regret" is the oracle pick's test accuracy minus the scorer pick's, averaged over seeds
(0 is as good as the oracle; negative is better than it, by luck of the validation fold).

Usage: ``python benchmarks/bench_da_selection.py [--quick] [--n-jobs 2]``. Prints two tables,
writes ``benchmarks/results/bench_da_selection.json``.
"""

import argparse
import json
import os
import platform
import statistics
import time
import warnings
from pathlib import Path

import numpy as np
import sklearn
import torch
from joblib import Parallel, delayed
from sklearn import config_context
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.semi_supervised import SelfTrainingClassifier

from sktransfer.datasets import make_digits_m
from sktransfer.domain_adaptation import CORAL, DANNClassifier
from sktransfer.model_selection import (
    DeepEmbeddedValidationScorer,
    DomainShuffleSplit,
    ImportanceWeightedScorer,
    PredictionEntropyScorer,
    ReverseValidationScorer,
    SoftNeighborhoodDensityScorer,
    TargetAccuracyScorer,
)
from sktransfer.utils import pack_domains

RESULTS = Path(__file__).parent / "results" / "bench_da_selection.json"

DANN_PARAMS = {
    "hidden_layer_sizes": (),
    "batch_size": 32,
    "lr": 0.03,
    "optimizer": "sgd",
    "device": "cpu",
}
DANN_GRID = [0.0, 0.3, 1.0, 3.0]
CORAL_GRID = [1e-3, 1e-2, 1e-1, 1.0, 10.0, 100.0]
ORACLE = "oracle (target labels)"


def scorers(seed):
    return {
        "importance weighted": ImportanceWeightedScorer(random_state=seed),
        "deep embedded validation": DeepEmbeddedValidationScorer(random_state=seed),
        "prediction entropy": PredictionEntropyScorer(),
        "soft neighbourhood density": SoftNeighborhoodDensityScorer(),
        "reverse validation": ReverseValidationScorer(),
    }


def select(make_estimator, grid, data, seed):
    """Fit each setting once on the training fold; score it with every scorer on the
    validation fold; return the scores, the test accuracies and the warnings."""
    X, y, sample_domain, y_revealed, X_test, y_test = data
    cv = DomainShuffleSplit(n_splits=1, test_size=0.25, random_state=seed)
    train, val = next(cv.split(X, y, sample_domain=sample_domain))
    table = {"scores": {}, "test accuracy": [], "warnings": {}}
    with config_context(enable_metadata_routing=True):
        for value in grid:
            estimator = make_estimator(value)
            estimator.fit(X[train], y[train], sample_domain=sample_domain[train])
            for name, scorer in scorers(seed).items():
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always")
                    score = scorer(estimator, X[val], y[val], sample_domain=sample_domain[val])
                table["scores"].setdefault(name, []).append(score)
                if caught:
                    table["warnings"].setdefault(name, []).append(str(caught[0].message)[:120])
            # The oracle alone sees the target labels of the validation fold.
            oracle = TargetAccuracyScorer()(
                estimator, X[val], y_revealed[val], sample_domain=sample_domain[val]
            )
            table["scores"].setdefault(ORACLE, []).append(oracle)
            table["test accuracy"].append(float(estimator.score(X_test, y_test)))
    accuracy = table["test accuracy"]
    table["picks"] = {
        name: {"setting": grid[int(np.argmax(s))], "test accuracy": accuracy[int(np.argmax(s))]}
        for name, s in table["scores"].items()
    }
    table["best test accuracy"] = max(accuracy)
    return table


def dann_data(seed):
    Xs, ys, Xt, yt = make_digits_m(image_size=16, random_state=seed)
    cut = int(0.7 * len(Xt))
    X, y, sample_domain = pack_domains(source=(Xs, ys), target=(Xt[:cut], None))
    y_revealed = np.concatenate([ys, yt[:cut]])
    return X, y, sample_domain, y_revealed, Xt[cut:], yt[cut:]


def dann_seed(seed, epochs, grid):
    torch.set_num_threads(1)
    start = time.perf_counter()

    def make(domain_weight):
        return DANNClassifier(
            **DANN_PARAMS, domain_weight=domain_weight, max_epochs=epochs, random_state=seed
        ).set_fit_request(sample_domain=True)

    table = select(make, grid, dann_data(seed), seed)
    table["seconds"] = time.perf_counter() - start
    return seed, table


def coral_data(seed, n_features=10, n_source=600, n_target=600, n_test=2000):
    """A linear concept on latent features; the target's features are rescaled (log-uniform
    factors in [0.2, 5]) and mixed by a random near-identity map, with 5% label noise."""
    rng = np.random.default_rng(seed)
    w = rng.normal(size=n_features)
    mixing = np.diag(np.exp(rng.uniform(np.log(0.2), np.log(5.0), size=n_features)))
    mixing = mixing @ (np.eye(n_features) + 0.2 * rng.normal(size=(n_features, n_features)))

    def draw(n, target):
        Z = rng.normal(size=(n, n_features))
        labels = (Z @ w > 0).astype(int)
        flip = rng.uniform(size=n) < 0.05
        labels[flip] = 1 - labels[flip]
        return (Z @ mixing if target else Z), labels

    Xs, ys = draw(n_source, False)
    Xt, yt = draw(n_target + n_test, True)
    X, y, sample_domain = pack_domains(source=(Xs, ys), target=(Xt[:n_target], None))
    y_revealed = np.concatenate([ys, yt[:n_target]])
    return X, y, sample_domain, y_revealed, Xt[n_target:], yt[n_target:]


def coral_seed(seed, grid):
    start = time.perf_counter()

    def make(reg):
        # SelfTrainingClassifier(max_iter=0) fits the classifier on the labelled rows only.
        return make_pipeline(
            CORAL(reg=reg)
            .set_fit_request(sample_domain=True)
            .set_transform_request(sample_domain=True),
            SelfTrainingClassifier(LogisticRegression(), max_iter=0),
        )

    table = select(make, grid, coral_data(seed), seed)
    table["seconds"] = time.perf_counter() - start
    return seed, table


def summarise(per_seed, grid):
    seeds = sorted(per_seed)
    names = list(per_seed[seeds[0]]["picks"])
    summary = {}
    for name in names:
        picked = [per_seed[s]["picks"][name]["test accuracy"] for s in seeds]
        oracle = [per_seed[s]["picks"][ORACLE]["test accuracy"] for s in seeds]
        regrets = [o - p for o, p in zip(oracle, picked, strict=True)]
        summary[name] = {
            "picks": [per_seed[s]["picks"][name]["setting"] for s in seeds],
            "mean test accuracy of pick": statistics.mean(picked),
            "mean regret vs oracle": statistics.mean(regrets),
            "seeds within 0.03 of oracle": sum(r <= 0.03 for r in regrets),
            "n warnings": sum(len(per_seed[s]["warnings"].get(name, [])) for s in seeds),
        }
    accuracy = {
        str(value): statistics.mean(per_seed[s]["test accuracy"][i] for s in seeds)
        for i, value in enumerate(grid)
    }
    return {
        "scorers": summary,
        "mean test accuracy per setting": accuracy,
        "mean best test accuracy": statistics.mean(
            per_seed[s]["best test accuracy"] for s in seeds
        ),
        "unsupervised scorers within 0.03 of oracle (mean regret)": [
            name
            for name, row in summary.items()
            if name != ORACLE and row["mean regret vs oracle"] <= 0.03
        ],
    }


def print_table(title, param, summary, n_seeds):
    print(f"\n{title}")
    width = max(len(k) for k in summary["scorers"]) + 2
    print(f"  {'scorer':<{width}}{param + ' picked per seed':<34}test acc.  regret  within 0.03")
    for name, row in summary["scorers"].items():
        picks = ", ".join(f"{p:g}" for p in row["picks"])
        print(
            f"  {name:<{width}}{picks:<34}{row['mean test accuracy of pick']:<11.3f}"
            f"{row['mean regret vs oracle']:<8.3f}{row['seeds within 0.03 of oracle']}/{n_seeds}"
            + (f"  ({row['n warnings']} warnings)" if row["n warnings"] else "")
        )
    per_setting = ", ".join(
        f"{k}: {v:.3f}" for k, v in summary["mean test accuracy per setting"].items()
    )
    print(f"  mean test accuracy per {param}: {per_setting}")


def run(quick=False, n_jobs=1, seeds=(0, 1, 2), epochs=20, coral_seeds=(0, 1, 2, 3, 4)):
    """Run both selections; return the JSON-able results."""
    dann_grid, coral_grid = DANN_GRID, CORAL_GRID
    if quick:
        seeds, epochs, coral_seeds = (0,), 2, (0,)
        dann_grid, coral_grid = [0.0, 1.0], [1e-2, 100.0]
    dann = dict(
        Parallel(n_jobs=n_jobs)(delayed(dann_seed)(seed, epochs, dann_grid) for seed in seeds)
    )
    coral = dict(coral_seed(seed, coral_grid) for seed in coral_seeds)
    return {
        "settings": {
            "dann": {**DANN_PARAMS, "image_size": 16, "epochs": epochs, "grid": dann_grid},
            "coral": {"grid": coral_grid, "classifier": "LogisticRegression"},
            "seeds": list(seeds),
            "coral_seeds": list(coral_seeds),
            "validation": "DomainShuffleSplit(n_splits=1, test_size=0.25)",
            "quick": quick,
        },
        "dann": {
            "summary": summarise(dann, dann_grid),
            "per_seed": {str(s): dann[s] for s in seeds},
        },
        "coral": {
            "summary": summarise(coral, coral_grid),
            "per_seed": {str(s): coral[s] for s in coral_seeds},
        },
        "machine": {
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "torch": torch.__version__,
            "sklearn": sklearn.__version__,
            "note": "shared machine: other jobs ran at the same time",
        },
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 seed, 2 epochs, 2 settings")
    parser.add_argument("--n-jobs", type=int, default=1)
    args = parser.parse_args()
    start = time.perf_counter()
    results = run(quick=args.quick, n_jobs=args.n_jobs)
    results["seconds"] = time.perf_counter() - start
    n_dann, n_coral = len(results["settings"]["seeds"]), len(results["settings"]["coral_seeds"])
    print_table(
        "(a) DANNClassifier on digits -> digits-M (16 px)",
        "domain_weight",
        results["dann"]["summary"],
        n_dann,
    )
    print_table(
        "(b) CORAL + logistic regression, shifted linear problem",
        "reg",
        results["coral"]["summary"],
        n_coral,
    )
    for part in ("dann", "coral"):
        within = results[part]["summary"][
            "unsupervised scorers within 0.03 of oracle (mean regret)"
        ]
        print(f"\n{part}: unsupervised scorers within 0.03 of the oracle: {within or 'none'}")
    print(f"\ntotal {results['seconds']:.0f} s")
    if not args.quick:
        RESULTS.parent.mkdir(exist_ok=True)
        RESULTS.write_text(json.dumps(results, indent=2, default=float))
        print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
