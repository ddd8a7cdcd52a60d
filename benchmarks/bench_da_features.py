"""Feature transfer against no adaptation: TCA, subspace alignment, the domain-revealing selector.

Every method ends in the same classifier, a logistic regression trained on the labelled source
rows only; the methods differ in the features it sees. The adaptation steps are fitted on the
source rows and unlabelled target rows; accuracy is measured on fresh target rows, mapped as
new rows (``transform(X)`` without ``sample_domain``). Five shifts, each drawn anew per seed:

* ``offset``: 10 features, 5 noisy readings of the quantity that sets the label and 5 noise
  features; on the target, two readings and two noise features read high (a translation).
* ``rotation 30``: the informative plane (variances 9 and 2.25) is turned by 30 degrees on the
  target and moved; 8 noise features.
* ``rotation 90``: the same, turned by 90 degrees.
* ``label shift``: no change of the features given the class, but 80% positives on the target
  against 50% on the source (a case where no feature method should help).
* ``no shift``: both domains alike.

"centre each domain" subtracts each domain's own mean (new rows: the target's), the part of
subspace alignment that needs no subspace. "target labels" trains on 1,000 labelled target rows:
an upper bound no unsupervised method can claim.

Usage: ``python benchmarks/bench_da_features.py [--quick]``. Prints a table, writes
``benchmarks/results/bench_da_features.json``.
"""

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np
import sklearn
from sklearn.linear_model import LogisticRegression

from sktransfer.domain_adaptation import TCA, DomainRevealingFeatureSelector, SubspaceAlignment
from sktransfer.utils import pack_domains

RESULTS = Path(__file__).parent / "results" / "bench_da_features.json"
SHIFTS = ["offset", "rotation 30", "rotation 90", "label shift", "no shift"]


def make_shift(shift, n_source, n_target, random_state):
    """``Xs, ys, Xt, yt`` for one of ``SHIFTS``; the target rows are drawn from the shifted law."""
    rng = np.random.RandomState(random_state)
    if shift == "offset":

        def draw(n, offset):
            z = rng.normal(size=n)
            readings = z[:, None] + 0.7 * rng.normal(size=(n, 5))
            X = np.c_[readings, rng.normal(size=(n, 5))]
            return X + offset, (z > 0).astype(int)

        moved = np.zeros(10)
        moved[[0, 1, 5, 6]] = 2.5
        return (*draw(n_source, 0.0), *draw(n_target, moved))

    def draw(n, positives=0.5):
        y = (rng.uniform(size=n) < positives).astype(int)
        # The class sets the sign of the first latent coordinate; its size stays Gaussian.
        z = np.abs(rng.normal(size=n)) * np.where(y == 1, 1.0, -1.0)
        X = np.c_[3.0 * z, 1.5 * rng.normal(size=n), 0.5 * rng.normal(size=(n, 8))]
        return X, y

    Xs, ys = draw(n_source)
    if shift == "label shift":
        return Xs, ys, *draw(n_target, positives=0.8)
    Xt, yt = draw(n_target)
    if shift.startswith("rotation"):
        angle = np.deg2rad(float(shift.split()[1]))
        turn = np.array([[np.cos(angle), np.sin(angle)], [-np.sin(angle), np.cos(angle)]])
        Xt[:, :2] = Xt[:, :2] @ turn
        Xt = Xt + 2.0
    return Xs, ys, Xt, yt


def methods(seed):
    """Each method as a function ``(X, y, sample_domain) -> (source features, map of new rows)``."""

    def source_only(X, y, sample_domain):
        return X[sample_domain > 0], lambda X_new: X_new

    def centred(X, y, sample_domain):
        source, target = X[sample_domain > 0], X[sample_domain < 0]
        return source - source.mean(axis=0), lambda X_new: X_new - target.mean(axis=0)

    def fitted(transformer):
        def adapt(X, y, sample_domain):
            X_new = transformer.fit_transform(X, y, sample_domain=sample_domain)
            return X_new[sample_domain > 0], transformer.transform

        return adapt

    return {
        "no adaptation": source_only,
        "centre each domain": centred,
        "TCA (linear, 5)": fitted(TCA(n_components=5, random_state=seed)),
        "TCA (rbf, 5)": fitted(TCA(n_components=5, kernel="rbf", random_state=seed)),
        "subspace alignment (5)": fitted(SubspaceAlignment(n_components=5)),
        "subspace alignment (all)": fitted(SubspaceAlignment()),
        "drop revealing (<= 5, > 0.2)": fitted(
            DomainRevealingFeatureSelector(n_features_to_drop=5, threshold=0.2)
        ),
    }


def one_draw(shift, n_rows, seed):
    """Target accuracy and fit seconds of every method on one draw of one shift."""
    Xs, ys, Xt, yt = make_shift(shift, n_rows, 3 * n_rows, random_state=seed)
    X_unlabelled, X_test, y_test = Xt[:n_rows], Xt[n_rows : 2 * n_rows], yt[n_rows : 2 * n_rows]
    X, y, sample_domain = pack_domains(source=(Xs, ys), target=(X_unlabelled, None))
    out = {}
    for name, adapt in methods(seed).items():
        start = time.perf_counter()
        source_features, map_new = adapt(X, y, sample_domain)
        clf = LogisticRegression().fit(source_features, ys)
        seconds = time.perf_counter() - start
        out[name] = (clf.score(map_new(X_test), y_test), seconds)
    oracle = LogisticRegression().fit(Xt[2 * n_rows :], yt[2 * n_rows :])
    out["target labels (oracle)"] = (oracle.score(X_test, y_test), 0.0)
    return out


def run(quick=False):
    """Accuracy of every method on every shift, mean and spread over seeds, as a JSON-able dict."""
    n_rows, seeds = (300, 3) if quick else (1000, 5)
    rows = []
    for shift in SHIFTS:
        draws = [one_draw(shift, n_rows, seed) for seed in range(seeds)]
        baseline = np.array([draw["no adaptation"][0] for draw in draws])
        for name in draws[0]:
            accuracies = np.array([draw[name][0] for draw in draws])
            rows.append(
                {
                    "shift": shift,
                    "method": name,
                    "accuracy_mean": float(accuracies.mean()),
                    "accuracy_std": float(accuracies.std()),
                    "accuracies": [float(a) for a in accuracies],
                    "gain_over_no_adaptation": float((accuracies - baseline).mean()),
                    "worst_seed_gain": float((accuracies - baseline).min()),
                    "fit_seconds_median": float(np.median([draw[name][1] for draw in draws])),
                }
            )
    machine = {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "scikit-learn": sklearn.__version__,
        "numpy": np.__version__,
        "cpus": os.cpu_count(),
    }
    setting = {"n_source": n_rows, "n_target_unlabelled": n_rows, "n_test": n_rows}
    return {"machine": machine, "setting": {**setting, "seeds": seeds}, "rows": rows}


def print_table(rows):
    columns = ["shift", "method", "accuracy_mean", "accuracy_std", "gain_over_no_adaptation"]
    widths = [11, 26, 13, 12, 23]
    print(" | ".join(f"{c:>{w}}" for c, w in zip(columns, widths, strict=True)))
    for row in rows:
        cells = [
            f"{row[c]:>{w}.3f}" if isinstance(row[c], float) else f"{row[c]!s:>{w}}"
            for c, w in zip(columns, widths, strict=True)
        ]
        print(" | ".join(cells))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    args = parser.parse_args()
    results = run(quick=args.quick)
    setting = results["setting"]
    print(
        f"\n{setting['n_source']} source rows, {setting['n_target_unlabelled']} unlabelled "
        f"target rows, {setting['n_test']} target test rows, mean over {setting['seeds']} seeds"
    )
    print_table(results["rows"])
    if not args.quick:
        RESULTS.parent.mkdir(exist_ok=True)
        RESULTS.write_text(json.dumps(results, indent=2))
        print(f"\nwrote {RESULTS}")


if __name__ == "__main__":
    main()
