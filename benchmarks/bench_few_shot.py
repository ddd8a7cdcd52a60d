"""Few-shot episodes: prototypes, logistic regression, 1-nearest-neighbour, imprinted fine-tuning.

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
* ``1nn``: ``KNeighborsClassifier(n_neighbors=1)`` on the raw features;
* ``imprint_finetune``: ``FineTuneClassifier(head_init="imprint")`` on the features (the frozen
  Lite0's codes, or the pixels), through a small network trained for each episode: an
  ``adapter`` layer, ``nn.Linear(d, d)`` initialised to ``x - <mean of the base rows>``
  (identity weights, the base mean as bias, so it starts as SimpleShot's centring), then the
  new head ``nn.Linear(d, 5)``. The head is imprinted from the support rows (each class's row
  is the unit-length mean of its unit-length adapted rows, bias zero), so training starts from
  the nearest class mean by cosine; then both layers train (AdamW, head at ``lr``, adapter at
  ``lr * lr_decay = lr / 10``, batches of 32, so one step per epoch since an episode has at
  most 25 support rows), seed 0;
* ``random_finetune``: the same network and training with the head drawn at random
  (``head_init="random"``), to show what the imprinting adds.

The Lite0 network itself is not fine-tuned: on two CPU cores a 224 px forward and backward pass
through it for each of 2,400 episode fits would take hours, so fine-tuning starts at its frozen
codes. The learning rate and the number of epochs are chosen for each dataset on its *base*
classes only, never on the novel ones: among ``lr`` in (1e-3, 1e-2) and 5 or 20 epochs, the
setting with the best accuracy averaged over both heads and both shot counts, on 30 episodes of
the base classes (centred on their own mean). Both heads then get that same training.

Each row gives the mean accuracy and the half-width of its 95% interval
(``t * std / sqrt(n)``, ``t`` the Student quantile: 1.964 at 600 episodes). The prototype and
logistic regression, and the imprinted and random heads, are also compared episode by episode:
the mean of their per-episode differences, with its own 95% interval.

Usage: ``python benchmarks/bench_few_shot.py [--episodes 600] [--quick]``. Prints a table and
writes ``benchmarks/results/bench_few_shot.json``. About 10 minutes on two busy CPU cores, nearly
all of it the fine-tuning, once the Lite0 codes are cached (computing them took another 10).
"""

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np
import sklearn
import torch
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score
from sklearn.neighbors import KNeighborsClassifier
from threadpoolctl import threadpool_limits
from torch import nn

from sktransfer.backbones import Backbone
from sktransfer.datasets import load_animal_silhouettes
from sktransfer.feature_extraction import CNNCodeExtractor
from sktransfer.few_shot import FewShotSplit, PrototypeClassifier, mean_confidence_interval
from sktransfer.fine_tuning import FineTuneClassifier

HERE = Path(__file__).parent
RESULTS = HERE / "results" / "bench_few_shot.json"
CACHE = HERE / ".cache"
SHOTS = (1, 5)
N_WAY, N_QUERY = 5, 15
# Fine-tuning settings tried on the base classes, and the episodes that try them.
FT_GRID = [(lr, max_epochs) for lr in (1e-3, 1e-2) for max_epochs in (5, 20)]
SELECTION_EPISODES = 30


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


def features_network(base_mean):
    """A network on precomputed features: an adapter layer starting as centring, and a head."""
    width = len(base_mean)
    adapter = nn.Linear(width, width)
    with torch.no_grad():
        adapter.weight.copy_(torch.eye(width))
        adapter.bias.copy_(-torch.as_tensor(base_mean, dtype=torch.float32))
    # The head is a placeholder: FineTuneClassifier replaces it by one with a row per class.
    model = nn.Sequential()
    model.add_module("adapter", adapter)
    model.add_module("head", nn.Linear(width, 2))
    return Backbone(
        model,
        [("adapter", adapter)],
        head="head",
        input_kind="vector",
        in_channels=None,
        in_features=width,
    )


def fine_tune(base_mean, head_init, lr, max_epochs):
    return FineTuneClassifier(
        features_network(base_mean),
        head_init=head_init,
        lr=lr,
        lr_decay=0.1,
        max_epochs=max_epochs,
        batch_size=32,
        device="cpu",
        random_state=0,
    )


def choose_training(X_base, y_base):
    """``(lr, max_epochs)`` for both fine-tuned heads, from episodes of the base classes only."""
    center = X_base.mean(axis=0)
    tried = []
    for lr, max_epochs in FT_GRID:
        scores = []
        for n_shot in SHOTS:
            cv = FewShotSplit(N_WAY, n_shot, N_QUERY, SELECTION_EPISODES, random_state=1)
            for head_init in ("imprint", "random"):
                model = fine_tune(center, head_init, lr, max_epochs)
                scores.append(cross_val_score(model, X_base, y_base, cv=cv).mean())
        tried.append({"lr": lr, "max_epochs": max_epochs, "accuracy_mean": float(np.mean(scores))})
    best = max(tried, key=lambda setting: setting["accuracy_mean"])
    return (best["lr"], best["max_epochs"]), tried


def methods(base_mean, training):
    return {
        "prototype": PrototypeClassifier(center=base_mean),
        "prototype_l2": PrototypeClassifier(),
        "logistic": LogisticRegression(max_iter=1000),
        "1nn": KNeighborsClassifier(n_neighbors=1),
        "imprint_finetune": fine_tune(base_mean, "imprint", *training),
        "random_finetune": fine_tune(base_mean, "random", *training),
    }


def paired_difference(scores, first, second):
    difference, half = mean_confidence_interval(scores[first] - scores[second])
    return {f"{first}_minus_{second}_mean": difference, f"{first}_minus_{second}_ci95": half}


def run_dataset(name, X, y, novel, episodes, training):
    base_mean = X[~novel].mean(axis=0)
    X_novel, y_novel = X[novel], y[novel]
    rows, paired = [], []
    for n_shot in SHOTS:
        cv = FewShotSplit(N_WAY, n_shot, N_QUERY, n_episodes=episodes, random_state=0)
        scores = {}
        for method, model in methods(base_mean, training).items():
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
        paired.append(
            {
                "dataset": name,
                "n_shot": n_shot,
                **paired_difference(scores, "prototype", "logistic"),
                **paired_difference(scores, "imprint_finetune", "random_finetune"),
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
    torch.set_num_threads(1)
    with threadpool_limits(1):
        for name, (X, y, novel, code_seconds) in datasets.items():
            info[name] = {
                "n_features": int(X.shape[1]),
                "novel_classes": np.unique(y[novel]).tolist(),
                "base_classes": np.unique(y[~novel]).tolist(),
                "code_seconds": code_seconds,
            }
            training, tried = choose_training(X[~novel], y[~novel])
            info[name]["fine_tuning"] = {"lr": training[0], "max_epochs": training[1]}
            info[name]["fine_tuning_tried_on_base_classes"] = tried
            print(f"{name}: fine-tuning with lr={training[0]}, {training[1]} epochs")
            r, p = run_dataset(name, X, y, novel, episodes, training)
            rows += r
            paired += p

    print(f"{N_WAY}-way, {N_QUERY} queries per class, {episodes} episodes, 95% intervals")
    print(f"{'dataset':<40}{'method':<18}{'shots':>5}  accuracy")
    for row in rows:
        print(
            f"{row['dataset']:<40}{row['method']:<18}{row['n_shot']:>5}  "
            f"{100 * row['accuracy_mean']:.2f} +- {100 * row['accuracy_ci95']:.2f}"
        )
    for first, second in [("prototype", "logistic"), ("imprint_finetune", "random_finetune")]:
        print(f"\n{first} minus {second}, per episode:")
        for d in paired:
            print(
                f"{d['dataset']:<40}{d['n_shot']:>2} shot  "
                f"{100 * d[f'{first}_minus_{second}_mean']:+.2f} +- "
                f"{100 * d[f'{first}_minus_{second}_ci95']:.2f}"
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
        "args": {
            "episodes": episodes,
            "n_way": N_WAY,
            "n_query": N_QUERY,
            "interval_level": 0.95,
            "quick": args.quick,
        },
        "fine_tuning": {
            "what_is_trained": (
                "Not the Lite0 network: a small network on its frozen codes (or on the digits' "
                "pixels), built for each episode. Layer 'adapter' = nn.Linear(d, d) initialised "
                "to identity weights and bias -(mean of the base rows), then the new head "
                "nn.Linear(d, 5). Both layers train."
            ),
            "head_init": {
                "imprint_finetune": (
                    "imprint: row of each class = unit-length mean of its unit-length adapter "
                    "outputs on the support rows; bias 0"
                ),
                "random_finetune": "random: nn.Linear's default initialisation, seed 0",
            },
            "optimizer": "adamw",
            "lr": "head at lr, adapter at lr * 0.1; lr and max_epochs per dataset, see datasets",
            "batch_size": 32,
            "chosen_on": (
                f"{SELECTION_EPISODES} episodes (seed 1) of each dataset's base classes, centred "
                "on their own mean, never the novel classes: the setting of the grid with the "
                "best accuracy averaged over both heads and both shot counts"
            ),
        },
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
