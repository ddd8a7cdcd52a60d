"""Transferability scores against the accuracy they predict, and their cost against training.

Candidates: CNN codes of EfficientNet-Lite0 (ImageNet weights) at its last six layers
(``layer=-1`` ... ``-6``), each at several image sizes. Target: the animal silhouettes with 10
and 50 labelled images per class (seeded draws), and one held-out set of images.

For each candidate and each training-set size:

- the measured accuracy: a logistic regression trained on the labelled codes, evaluated on the
  held-out codes;
- each transferability score computed from the labelled codes alone: LogME and H-score read
  the candidate's codes; LEEP and NCE read the network's own ImageNet predictions (its head
  applied to the last layer's codes), so they score the network at an image size and give the
  same value to every layer of it.

Then Kendall's tau between each score's ranking of the candidates and the accuracy ranking,
and the time of scoring against the time of training and evaluating (the least of 3 runs of
each, as the machine is shared). Code extraction is shared
and excluded from both timings; its time is reported beside them, with the ratio it gives when
each side pays for the codes it reads (scoring: the labelled rows; training and evaluating:
the labelled and the held-out rows).

Usage: ``python benchmarks/bench_transferability.py [--quick]``. Prints a table, writes
``benchmarks/results/bench_transferability.json``.
"""

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np
import torch
from scipy.special import softmax
from scipy.stats import kendalltau
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from threadpoolctl import threadpool_limits

from sktransfer.datasets import load_animal_silhouettes
from sktransfer.feature_extraction import CNNCodeExtractor
from sktransfer.model_selection import h_score, leep_score, logme_score, nce_score

RESULTS = Path(__file__).parent / "results" / "bench_transferability.json"
SCORES = ("logme", "h_score", "leep", "nce")


def draw(target, per_class_sizes, n_test, seed):
    """One held-out set, and nested labelled sets of each size per class from the rest."""
    rows = np.arange(target.size)
    pool, test = train_test_split(rows, test_size=n_test, stratify=target, random_state=seed)
    rng = np.random.default_rng(seed)
    order = {c: rng.permutation(pool[target[pool] == c]) for c in np.unique(target)}
    labelled = {k: np.sort(np.concatenate([order[c][:k] for c in order])) for k in per_class_sizes}
    return labelled, test


def extract(images, layer, image_size, batch_size):
    extractor = CNNCodeExtractor(
        "efficientnet_lite0",
        "imagenet",
        layer=layer,
        image_size=image_size,
        batch_size=batch_size,
        device="cpu",
    ).fit(images[:1])
    start = time.perf_counter()
    codes = extractor.transform(images)
    return extractor, codes, (time.perf_counter() - start) / len(images)


def imagenet_proba(extractor, codes):
    """The network's own class probabilities, from its head on the last layer's codes."""
    head = extractor.backbone_.head
    with torch.inference_mode():
        logits = head(torch.from_numpy(codes)).numpy()
    return softmax(logits.astype(np.float64), axis=1)


def train_and_evaluate(features, train, y_train, held_out, y_test):
    """What ranking the candidates costs without a score: the held-out accuracy of a linear
    classifier trained on each candidate's labelled codes."""
    classifier = LogisticRegression(max_iter=1000)
    classifier.fit(features[train], y_train)
    return classifier.score(features[held_out], y_test)


def timed(function, *args, repeats=3):
    """The value, and the least time of ``repeats`` calls: on a shared machine the others
    only add other processes' time."""
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        value = function(*args)
        seconds.append(time.perf_counter() - start)
    return value, min(seconds)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-class", type=int, nargs="+", default=[10, 50])
    parser.add_argument("--layers", type=int, nargs="+", default=[-1, -2, -3, -4, -5, -6])
    parser.add_argument("--image-sizes", type=int, nargs="+", default=[32, 64])
    parser.add_argument("--n-test", type=int, default=1000)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="2 layers, 1 size, 200 test rows")
    args = parser.parse_args()
    if args.quick:
        args.layers, args.image_sizes, args.n_test = [-1, -4], [32], 200
    torch.set_num_threads(args.threads)
    # numpy's BLAS on the same number of threads, for the scores and the classifier alike.
    threadpool_limits(args.threads)

    images, target = load_animal_silhouettes(return_X_y=True)
    labelled, test = draw(target, args.per_class, args.n_test, args.seed)
    largest = labelled[max(args.per_class)]
    encoded = np.union1d(largest, test)  # every row any setting reads, encoded once
    position = {row: i for i, row in enumerate(encoded)}

    def rows(which):
        return np.array([position[row] for row in which])

    load_before = os.getloadavg()
    codes, extraction_s, proba = {}, {}, {}
    for size in args.image_sizes:
        for layer in args.layers:
            extractor, values, seconds = extract(images[encoded], layer, size, args.batch_size)
            codes[layer, size] = values
            extraction_s[layer, size] = seconds
            print(
                f"codes: layer {layer} ({extractor.layer_name_}), {size} px: "
                f"{values.shape[1]} codes, {1000 * seconds:.1f} ms per image",
                flush=True,
            )
            if layer == -1:
                proba[size] = imagenet_proba(extractor, values)
        if -1 not in args.layers:
            extractor, values, _ = extract(images[encoded], -1, size, args.batch_size)
            proba[size] = imagenet_proba(extractor, values)

    settings = []
    for per_class in args.per_class:
        train, held_out = rows(labelled[per_class]), rows(test)
        y_train, y_test = target[labelled[per_class]], target[test]
        candidates = []
        for (layer, size), features in codes.items():
            row = {"layer": layer, "image_size": size, "n_codes": int(features.shape[1])}
            accuracy, row["train_eval_s"] = timed(
                train_and_evaluate, features, train, y_train, held_out, y_test
            )
            row["accuracy"] = float(accuracy)
            score_s = {}
            row["logme"], score_s["logme"] = timed(logme_score, features[train], y_train)
            row["h_score"], score_s["h_score"] = timed(h_score, features[train], y_train)
            source_proba = proba[size][train]
            row["leep"], score_s["leep"] = timed(leep_score, source_proba, y_train)
            row["nce"], score_s["nce"] = timed(nce_score, source_proba.argmax(axis=1), y_train)
            row["score_s"] = score_s
            # Extraction each side pays for: the labelled rows, or also the held-out rows.
            row["extraction_train_s"] = extraction_s[layer, size] * train.size
            row["extraction_test_s"] = extraction_s[layer, size] * held_out.size
            candidates.append(row)
        accuracies = [row["accuracy"] for row in candidates]
        summary = {}
        train_eval = sum(row["train_eval_s"] for row in candidates)
        extraction_train = sum(row["extraction_train_s"] for row in candidates)
        extraction_test = sum(row["extraction_test_s"] for row in candidates)
        for score in SCORES:
            tau, p_value = kendalltau([row[score] for row in candidates], accuracies)
            scoring = sum(row["score_s"][score] for row in candidates)
            summary[score] = {
                "kendall_tau": float(tau),
                "kendall_p_value": float(p_value),
                "picks": _best(candidates, score),
                "accuracy_of_pick": max(
                    row["accuracy"]
                    for row in candidates
                    if row[score] == max(r[score] for r in candidates)
                ),
                "scoring_s": scoring,
                "speedup_excluding_extraction": train_eval / scoring,
                "speedup_including_extraction": (
                    (train_eval + extraction_train + extraction_test) / (scoring + extraction_train)
                ),
            }
        settings.append(
            {
                "per_class": per_class,
                "n_train": int(train.size),
                "n_test": int(held_out.size),
                "best_by_accuracy": _best(candidates, "accuracy"),
                "best_accuracy": max(accuracies),
                "train_eval_s": train_eval,
                "extraction_train_s": extraction_train,
                "extraction_test_s": extraction_test,
                "scores": summary,
                "candidates": candidates,
            }
        )
        _print(settings[-1])

    result = {
        "machine": {
            "platform": platform.platform(),
            "torch": torch.__version__,
            "threads": args.threads,
            "cpus": os.cpu_count(),
            "load_average_before": load_before,
            "load_average_after": os.getloadavg(),
        },
        "args": vars(args),
        "timing_note": (
            "scoring_s and train_eval_s exclude the shared code extraction; "
            "speedup_including_extraction adds the extraction of the labelled rows to both "
            "sides and of the held-out rows to training+evaluation."
        ),
        "settings": settings,
    }
    if not args.quick:
        RESULTS.write_text(json.dumps(result, indent=1) + "\n")
        print(f"wrote {RESULTS}")


def _best(candidates, key):
    best = max(candidates, key=lambda row: row[key])
    return f"layer {best['layer']}, {best['image_size']} px"


def _print(setting):
    print(
        f"\n{setting['per_class']} labels per class ({setting['n_train']} labelled rows, "
        f"{setting['n_test']} held out); best: {setting['best_by_accuracy']}, "
        f"accuracy {setting['best_accuracy']:.3f}"
    )
    header = f"{'layer':>6} {'px':>4} {'codes':>6} {'accuracy':>9}" + "".join(
        f" {score:>9}" for score in SCORES
    )
    print(header)
    for row in setting["candidates"]:
        print(
            f"{row['layer']:>6} {row['image_size']:>4} {row['n_codes']:>6} "
            f"{row['accuracy']:>9.3f}" + "".join(f" {row[score]:>9.4f}" for score in SCORES)
        )
    print(
        f"{'score':>8} {'tau':>6} {'p':>7} {'acc. of pick':>13} {'speedup':>8} {'with codes':>11}"
    )
    for score, values in setting["scores"].items():
        print(
            f"{score:>8} {values['kendall_tau']:>6.2f} {values['kendall_p_value']:>7.3f} "
            f"{values['accuracy_of_pick']:>13.3f} "
            f"{values['speedup_excluding_extraction']:>7.0f}x "
            f"{values['speedup_including_extraction']:>10.2f}x"
        )


if __name__ == "__main__":
    main()
