"""Why ``batch_size="auto"`` keeps DANN's 64 rows a step on a GPU: the target accuracy of
``DANNClassifier`` on digits -> digits-M with 64 rows a step, with a GPU-sized 256 at the same
learning rate, and with 256 at 4x the learning rate (the linear scaling rule), over seeds.

The settings are those of ``bench_dann.py`` (its network, 60 epochs, 70/30 target split) but
for the batch size and learning rate. Runs on the CPU: the accuracy a batch size reaches does
not depend on the device.

Usage: ``python benchmarks/bench_dann_batch.py [--quick]``. Prints a table, writes
``benchmarks/results/bench_dann_batch.json``.
"""

import argparse
import json
import platform
import statistics
from pathlib import Path

import torch
from bench_dann import NETWORK, split

from sktransfer.domain_adaptation import DANNClassifier
from sktransfer.utils import pack_domains

RESULTS = Path(__file__).parent / "results" / "bench_dann_batch.json"
VARIANTS = {
    "64 rows, lr 0.01": {"batch_size": 64, "lr": 0.01},
    "256 rows, lr 0.01": {"batch_size": 256, "lr": 0.01},
    "256 rows, lr 0.04": {"batch_size": 256, "lr": 0.04},
}


def accuracy(seed, epochs, variant):
    Xs, ys, Xt_train, _, X_test, y_test = split(seed)
    X, y, domains = pack_domains(source=(Xs, ys), target=(Xt_train, None))
    params = {**NETWORK, **variant, "max_epochs": epochs, "random_state": seed}
    clf = DANNClassifier(**params).fit(X, y, sample_domain=domains)
    return float(clf.score(X_test, y_test))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 seed, 3 epochs")
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args()
    if args.quick:
        args.seeds, args.epochs = [0], 3
    table = {
        name: {str(seed): accuracy(seed, args.epochs, variant) for seed in args.seeds}
        for name, variant in VARIANTS.items()
    }
    means = {name: statistics.mean(per_seed.values()) for name, per_seed in table.items()}
    print(f"target test accuracy, digits -> digits-M, {args.epochs} epochs")
    print(f"  {'variant':<20}" + "".join(f"seed {s:<4}" for s in args.seeds) + "  mean")
    for name, per_seed in table.items():
        values = "".join(f"{v:<9.3f}" for v in per_seed.values())
        print(f"  {name:<20}{values}  {means[name]:.3f}")
    drop = means["64 rows, lr 0.01"] - means["256 rows, lr 0.01"]
    print(f"\n  mean drop from 64 to 256 rows a step: {drop:.3f}")
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "settings": {**NETWORK, "epochs": args.epochs, "seeds": args.seeds},
                "variants": VARIANTS,
                "per_seed": table,
                "mean": means,
                "drop_64_to_256": drop,
                "machine": {"platform": platform.platform(), "torch": torch.__version__},
            },
            indent=2,
        )
    )
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
