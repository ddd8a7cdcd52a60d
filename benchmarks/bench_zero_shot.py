"""AttributeZeroShot on the animal silhouettes: every method, 7 seen / 3 unseen classes.

The 3,000 silhouettes, inverted to dark shapes on white (closer to the ImageNet photos of
silhouettes than white on black), are encoded once by EfficientNet-Lite0 (ImageNet weights) at
224 px into the codes of the layer before the last (320 features), cached under
``benchmarks/.cache`` so that re-runs are instant. The table is ``load_animal_attributes()``.
Every one of the 120 ways to choose 3 unseen classes out of 10 is a split (``--splits 10``
draws 10 of them at random instead). For each split, every method is fitted once on the images
of the seen classes (features standardised on them) and measured:

* zero-shot: per-class top-1 accuracy on the unseen classes, predicting among them;
* generalised zero-shot: predicting among all 10 classes, ``u`` (per-class accuracy on the
  unseen images), ``s`` (on held-out images of the seen classes, 20% of them, not trained on)
  and ``H = 2us / (u + s)``, without calibration and with the calibration chosen on the seen
  classes only: ``ClassHoldoutSplit`` folds of the seen training images (2 of the 7 classes
  held out as pseudo-unseen), the candidate values being multiples of the spread of the
  model's scores, the one with the best mean ``H`` kept. The unseen classes are never used.

The rows ``eszsl_tuned`` and ``sae_tuned`` choose their regularisers per split on the seen
classes alone (``GroupKFold`` by class, held-out seen classes predicted among themselves, best
per-class top-1), as Xian et al. (2019) prescribe; the other rows use fixed values.

The row ``embedding`` is :class:`~sktransfer.zero_shot.EmbeddingZeroShot` (DeViSE-like: two
small networks, trained by a hinge ranking loss) with its defaults, which were chosen (the
margin and the number of epochs) on eight of the splits: slightly optimistic, as the fixed values
of the other rows. ``--methods eszsl conse embedding`` runs only the rows named and writes a
JSON of its own.

The zero-shot scores are the same fit's scores restricted to the unseen classes: no method's fit
depends on the candidate classes (the embedding's networks are trained on the seen rows only).

Usage: ``python benchmarks/bench_zero_shot.py [--quick] [--splits 10] [--layer -1]
[--image-size 128] [--no-invert] [--n-jobs 2] [--methods eszsl conse embedding]``. Prints a
table, writes ``benchmarks/results/bench_zero_shot.json`` (a suffix names any setting other than
the defaults).
"""

import argparse
import itertools
import json
import os
import platform
import time
from pathlib import Path

import numpy as np
import sklearn
import torch
from joblib import Parallel, delayed
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, GroupKFold, StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from sktransfer.datasets import load_animal_attributes, load_animal_silhouettes
from sktransfer.feature_extraction import CNNCodeExtractor
from sktransfer.zero_shot import (
    AttributeZeroShot,
    ClassHoldoutSplit,
    EmbeddingZeroShot,
    harmonic_mean_score,
    per_class_accuracy_score,
    per_class_accuracy_scorer,
    seen_unseen_accuracy,
)

HERE = Path(__file__).parent
RESULTS = HERE / "results" / "bench_zero_shot.json"
CACHE = HERE / ".cache"
METHODS = {
    "eszsl": {"method": "eszsl", "alpha": 1.0, "gamma": 1000.0},
    "sae": {"method": "sae", "sae_lambda": 100.0},
    "dap": {"method": "dap"},
    "iap": {"method": "iap"},
    "conse": {"method": "conse", "top_t": 3},
    # EmbeddingZeroShot with its defaults; seeded per split (see model()).
    "embedding": {"method": "embedding"},
}
# Also tuned per split on the seen classes alone: GroupKFold by class, the held-out seen classes
# predicted among themselves (the table cut to the seen classes), best per-class top-1 kept.
TUNED = {
    "eszsl_tuned": {"method": "eszsl", "alpha": [0.1, 1, 10], "gamma": [10, 100, 1000, 10000]},
    "sae_tuned": {"method": "sae", "sae_lambda": [1, 10, 100, 1000]},
}
CALIBRATION_STEPS = np.array([0.0, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0])


def cnn_codes(image_size, layer, invert):
    CACHE.mkdir(exist_ok=True)
    # The cache folder ignores itself, so that git never sees the codes.
    (CACHE / ".gitignore").write_text("*\n")
    images, target = load_animal_silhouettes(return_X_y=True)
    if invert:
        images = 255 - images
    extractor = CNNCodeExtractor(
        "efficientnet_lite0",
        weights="imagenet",
        layer=layer,
        image_size=image_size,
        memory=str(CACHE),
    )
    start = time.perf_counter()
    codes = extractor.fit_transform(images)
    return codes, target, time.perf_counter() - start


def model(table, params, candidates, calibration=0.0, seed=0):
    if params["method"] == "embedding":
        zsl = EmbeddingZeroShot(
            table, candidates=candidates, calibration=calibration, device="cpu", random_state=seed
        )
    else:
        zsl = AttributeZeroShot(table, candidates=candidates, calibration=calibration, **params)
    return make_pipeline(StandardScaler(), zsl)


def tune(X, y, table, grid):
    """The grid point with the best zero-shot score on class-disjoint folds of the seen rows."""
    method, grid = grid["method"], {k: v for k, v in grid.items() if k != "method"}
    search = GridSearchCV(
        model(table.loc[np.unique(y)], {"method": method}, "unseen"),
        {f"attributezeroshot__{key}": values for key, values in grid.items()},
        cv=GroupKFold(n_splits=3),
        scoring=per_class_accuracy_scorer,
        refit=False,  # a model of every seen class would have no unseen class to predict
    ).fit(X, y, groups=y)
    best = {key.removeprefix("attributezeroshot__"): v for key, v in search.best_params_.items()}
    return {"method": method, **best}


def choose_calibration(X, y, full_model, table, params, seed):
    """The calibration with the best mean H over class-holdout folds of the seen rows.

    The candidate values scale with the spread of ``full_model``'s scores on ``X``: the model
    fitted on all of ``X, y``, uncalibrated.
    """
    spread = np.std(full_model.decision_function(X))
    grid = CALIBRATION_STEPS * spread
    folds = ClassHoldoutSplit(n_splits=3, n_unseen=2, random_state=seed).split(X, y)
    scores = []
    for train, test in folds:
        fitted = model(table, params, "all", seed=seed).fit(X[train], y[train])
        decision = fitted.decision_function(X[test])
        seen = np.isin(fitted[-1].classes_, fitted[-1].seen_classes_)
        scores.append(
            [
                harmonic_mean_score(
                    y[test],
                    fitted[-1].classes_[np.argmax(decision - c * seen, axis=1)],
                    seen_classes=fitted[-1].seen_classes_,
                )
                for c in grid
            ]
        )
    return float(grid[np.argmax(np.mean(scores, axis=0))])


def class_splits(names, n_splits):
    """The seen classes of each split: all 120 choices of 3 unseen, or n_splits random ones."""
    every = [
        np.setdiff1d(names, unseen) for unseen in itertools.combinations(names, len(names) - 7)
    ]
    if n_splits is None:
        return every
    rng = np.random.RandomState(0)
    return [every[i] for i in rng.choice(len(every), n_splits, replace=False)]


def one_split(X, labels, table, seen, seed, methods):
    torch.set_num_threads(1)  # splits run in parallel processes
    with threadpool_limits(1, user_api="blas"):
        return _one_split(X, labels, table, seen, seed, methods)


def _one_split(X, labels, table, seen, seed, methods):
    rng = np.random.RandomState(seed)
    is_seen = np.isin(labels, seen)
    held_out = is_seen & (rng.uniform(size=len(labels)) < 0.2)
    train = is_seen & ~held_out
    X_train, y_train = X[train], labels[train]
    out = {}
    for name in methods:
        start = time.perf_counter()
        params = METHODS.get(name) or tune(X_train, y_train, table, TUNED[name])
        gzsl = model(table, params, "all", seed=seed).fit(X_train, y_train)
        unseen = ~np.isin(gzsl[-1].classes_, seen)
        scores = gzsl.decision_function(X[~is_seen])[:, unseen]
        zsl_pred = gzsl[-1].classes_[unseen][np.argmax(scores, axis=1)]
        row = {"unseen_top1": per_class_accuracy_score(labels[~is_seen], zsl_pred)}
        gzsl_test = held_out | ~is_seen
        calibration = choose_calibration(X_train, y_train, gzsl, table, params, seed)
        for tag, c in [("", 0.0), ("_calibrated", calibration)]:
            gzsl[-1].set_params(calibration=c)
            y_pred = gzsl.predict(X[gzsl_test])
            u, s = seen_unseen_accuracy(labels[gzsl_test], y_pred, seen_classes=seen)
            h = 0.0 if u + s == 0 else 2 * u * s / (u + s)
            row.update({f"u{tag}": u, f"s{tag}": s, f"H{tag}": h})
        row["calibration"] = calibration
        if name in TUNED:
            row.update({f"chosen_{k}": v for k, v in params.items() if k != "method"})
        row["seconds"] = time.perf_counter() - start
        out[name] = row
    return out


def supervised_top1(X, target):
    """The reference: the same codes with all ten animals labelled (5-fold CV, logistic)."""
    classifier = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=0)
    with threadpool_limits(1, user_api="blas"):
        return float(np.mean(cross_val_score(classifier, X, target, cv=folds)))


def settings_suffix(args):
    """Names the settings that differ from the defaults, so that runs do not overwrite."""
    suffix = "" if args.layer == -2 else f"_layer{args.layer}"
    suffix += "" if args.image_size == 224 else f"_{args.image_size}px"
    suffix += "" if args.invert else "_not_inverted"
    suffix += "" if args.splits is None else f"_{args.splits}splits"
    suffix += "" if args.methods is None else "_" + "_".join(args.methods)
    return suffix


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--splits", type=int, default=None, help="random splits; default all")
    parser.add_argument("--image-size", type=int, default=224)
    parser.add_argument("--layer", type=int, default=-2, help="-1: conv_head, -2: blocks.15")
    parser.add_argument("--no-invert", dest="invert", action="store_false")
    parser.add_argument("--n-jobs", type=int, default=2, help="splits fitted in parallel")
    parser.add_argument("--quick", action="store_true", help="2 splits, for a smoke run")
    parser.add_argument(
        "--methods", nargs="+", choices=[*METHODS, *TUNED], help="only these rows; default all"
    )
    args = parser.parse_args()
    methods = args.methods or [*METHODS, *TUNED]
    if args.quick:
        args.splits = 2
    codes, target, encode_seconds = cnn_codes(args.image_size, args.layer, args.invert)
    names = np.asarray(load_animal_silhouettes().target_names)
    labels = names[target]
    table = load_animal_attributes(as_frame=True).frame
    seen_per_split = class_splits(names, args.splits)
    splits = Parallel(n_jobs=args.n_jobs)(
        delayed(one_split)(codes, labels, table, seen, seed, methods)
        for seed, seen in enumerate(seen_per_split)
    )
    rows = []
    supervised = supervised_top1(codes, target)
    for name in methods:
        runs = [split[name] for split in splits]
        row = {"method": name}
        for key in runs[0]:
            values = [run[key] for run in runs]
            row[f"{key}_mean"], row[f"{key}_std"] = float(np.mean(values)), float(np.std(values))
        rows.append(row)
    print(
        f"\nEfficientNet-Lite0 codes of layer {args.layer} ({codes.shape[1]} features) at "
        f"{args.image_size} px{' inverted' if args.invert else ''} ({encode_seconds:.0f} s to "
        f"encode or load), {len(splits)} 7/3 class splits, mean (std); supervised top-1 with "
        f"all ten animals labelled: {supervised:.3f}"
    )
    columns = ["unseen_top1", "u", "s", "H", "u_calibrated", "s_calibrated", "H_calibrated"]
    print(f"{'method':>11} | " + " | ".join(f"{c:>13}" for c in columns) + " | fit+eval s")
    for row in rows:
        cells = [f"{row[c + '_mean']:.3f} ({row[c + '_std']:.3f})" for c in columns]
        print(f"{row['method']:>11} | " + " | ".join(cells) + f" | {row['seconds_mean']:.1f}")
    results = RESULTS.with_stem(RESULTS.stem + settings_suffix(args))
    results.parent.mkdir(exist_ok=True)
    machine = {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "scikit-learn": sklearn.__version__,
        "numpy": np.__version__,
        "cpus": os.cpu_count(),
    }
    for split, seen in zip(splits, seen_per_split, strict=True):
        split["seen_classes"] = seen.tolist()
    payload = {
        "machine": machine,
        "args": vars(args),
        "supervised_top1": supervised,
        "rows": rows,
        "splits": splits,
    }
    results.write_text(json.dumps(payload, indent=2))
    print(f"\nwrote {results}")


if __name__ == "__main__":
    main()
