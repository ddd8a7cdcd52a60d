"""Few-shot episodes: PrototypeClassifier against logistic regression and 1-nearest-neighbour.

Two datasets, each split into *base* classes (used only for SimpleShot's centring mean) and
*novel* classes (the episodes' classes, never seen otherwise):

* animal silhouettes: the 3,000 images, inverted to dark shapes on white, encoded once by
  EfficientNet-Lite0 (ImageNet weights) at 224 px into the codes of the layer before the last
  (320 features), cached on disk under ``benchmarks/.cache`` (shared with
  ``bench_zero_shot.py``) and held in memory for every episode. Five classes drawn with seed 0
  are novel, the other five base.
* scikit-learn's digits, raw 8x8 pixels (64 features): digits 5-9 novel, 0-4 base.

Every method sees the same episodes (``FewShotSplit``, ``--episodes`` of them, 5-way, 1 and 5
shots, 15 queries per class, seed 0) and is scored by its accuracy on the queries:

* ``prototype``: ``PrototypeClassifier(center=<mean of the base rows>)``, SimpleShot's CL2N;
* ``prototype_l2``: ``PrototypeClassifier()``, unit-length rows, no centring;
* ``logistic``: ``LogisticRegression()`` (C=1, lbfgs) on the raw features;
* ``1nn``: ``KNeighborsClassifier(n_neighbors=1)`` on the raw features.

Each row gives the mean accuracy and the half-width of its 95% interval
(``1.96 * std / sqrt(n)``). The prototype and logistic regression are also compared episode by
episode: the mean of their per-episode differences, with its own 95% interval.

Usage: ``python benchmarks/bench_few_shot.py [--episodes 600] [--quick]``. Prints a table and
writes ``benchmarks/results/bench_few_shot.json``.
"""

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np
import sklearn
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score
from sklearn.neighbors import KNeighborsClassifier
from threadpoolctl import threadpool_limits

from sktransfer.datasets import load_animal_silhouettes
from sktransfer.feature_extraction import CNNCodeExtractor
from sktransfer.few_shot import FewShotSplit, PrototypeClassifier, mean_confidence_interval

HERE = Path(__file__).parent
RESULTS = HERE / "results" / "bench_few_shot.json"
CACHE = HERE / ".cache"
SHOTS = (1, 5)
N_WAY, N_QUERY = 5, 15


def animal_codes():
    CACHE.mkdir(exist_ok=True)
    (CACHE / ".gitignore").write_text("*\n")
    images, target = load_animal_silhouettes(return_X_y=True)
    extractor = CNNCodeExtractor(
        "efficientnet_lite0", weights="imagenet", layer=-2, image_size=224, memory=str(CACHE)
    )
    start = time.perf_counter()
    codes = extractor.fit_transform(255 - images)
    novel = np.sort(np.random.RandomState(0).permutation(10)[:5])
    return codes, target, np.isin(target, novel), time.perf_counter() - start


def digits():
    X, y = load_digits(return_X_y=True)
    return X, y, y >= 5, 0.0


def methods(base_mean):
    return {
        "prototype": PrototypeClassifier(center=base_mean),
        "prototype_l2": PrototypeClassifier(),
        "logistic": LogisticRegression(max_iter=1000),
        "1nn": KNeighborsClassifier(n_neighbors=1),
    }


def run_dataset(name, X, y, novel, episodes):
    base_mean = X[~novel].mean(axis=0)
    X_novel, y_novel = X[novel], y[novel]
    rows, paired = [], []
    for n_shot in SHOTS:
        cv = FewShotSplit(N_WAY, n_shot, N_QUERY, n_episodes=episodes, random_state=0)
        scores = {}
        for method, model in methods(base_mean).items():
            start = time.perf_counter()
            scores[method] = cross_val_score(model, X_novel, y_novel, cv=cv)
            mean, half = mean_confidence_interval(scores[method])
            rows.append(
                {
                    "dataset": name,
                    "method": method,
                    "n_shot": n_shot,
                    "accuracy_mean": mean,
                    "accuracy_ci95": half,
                    "seconds": time.perf_counter() - start,
                }
            )
        difference, half = mean_confidence_interval(scores["prototype"] - scores["logistic"])
        paired.append(
            {
                "dataset": name,
                "n_shot": n_shot,
                "prototype_minus_logistic_mean": difference,
                "prototype_minus_logistic_ci95": half,
            }
        )
    return rows, paired


def verdict(rows, paired):
    """Whether the prototype beats logistic regression at 1 shot by more than the intervals."""
    out = {}
    for dataset in dict.fromkeys(row["dataset"] for row in rows):
        at = {
            row["method"]: row for row in rows if row["dataset"] == dataset and row["n_shot"] == 1
        }
        p, lr = at["prototype"], at["logistic"]
        diff = next(d for d in paired if d["dataset"] == dataset and d["n_shot"] == 1)
        out[dataset] = {
            # Unpaired: the two 95% intervals do not overlap.
            "intervals_disjoint": bool(
                p["accuracy_mean"] - p["accuracy_ci95"] > lr["accuracy_mean"] + lr["accuracy_ci95"]
            ),
            # Paired: the interval of the per-episode difference lies above zero.
            "paired_difference_above_zero": bool(
                diff["prototype_minus_logistic_mean"] - diff["prototype_minus_logistic_ci95"] > 0
            ),
        }
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=600)
    parser.add_argument("--quick", action="store_true", help="60 episodes, digits only")
    args = parser.parse_args()
    episodes = 60 if args.quick else args.episodes

    datasets = {"digits_pixels": digits()}
    if not args.quick:
        datasets = {"animal_silhouettes_efficientnet_lite0": animal_codes(), **datasets}
    rows, paired, info = [], [], {}
    # Episodes are tiny: one thread each avoids thread start-up costing more than the fit.
    with threadpool_limits(1):
        for name, (X, y, novel, code_seconds) in datasets.items():
            info[name] = {
                "n_features": int(X.shape[1]),
                "novel_classes": np.unique(y[novel]).tolist(),
                "base_classes": np.unique(y[~novel]).tolist(),
                "code_seconds": code_seconds,
            }
            r, p = run_dataset(name, X, y, novel, episodes)
            rows += r
            paired += p

    print(f"{N_WAY}-way, {N_QUERY} queries per class, {episodes} episodes, 95% intervals")
    print(f"{'dataset':<40}{'method':<14}{'shots':>5}  accuracy")
    for row in rows:
        print(
            f"{row['dataset']:<40}{row['method']:<14}{row['n_shot']:>5}  "
            f"{100 * row['accuracy_mean']:.2f} +- {100 * row['accuracy_ci95']:.2f}"
        )
    print("\nprototype minus logistic regression, per episode:")
    for d in paired:
        print(
            f"{d['dataset']:<40}{d['n_shot']:>2} shot  "
            f"{100 * d['prototype_minus_logistic_mean']:+.2f} +- "
            f"{100 * d['prototype_minus_logistic_ci95']:.2f}"
        )
    decided = verdict(rows, paired)
    print("\nprototype beats logistic regression at 1 shot by more than the interval:")
    for dataset, v in decided.items():
        print(f"{dataset:<40}{v}")

    result = {
        "machine": {
            "platform": platform.platform(),
            "python": platform.python_version(),
            "scikit-learn": sklearn.__version__,
            "numpy": np.__version__,
        },
        "args": {"episodes": episodes, "n_way": N_WAY, "n_query": N_QUERY, "quick": args.quick},
        "datasets": info,
        "rows": rows,
        "paired": paired,
        "one_shot_verdict": decided,
    }
    if not args.quick:
        RESULTS.parent.mkdir(exist_ok=True)
        RESULTS.write_text(json.dumps(result, indent=2) + "\n")
        print(f"\nwrote {RESULTS}")


if __name__ == "__main__":
    main()
