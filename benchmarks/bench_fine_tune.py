"""FineTuneClassifier: cached frozen prefix against skorch + Freezer, and memory= in a search.

1. Head-only training (``freeze_depth="all"``): our FineTuneClassifier, which runs the frozen
   network once per fit and trains the new head on its outputs, against a plain skorch
   ``NeuralNetClassifier`` with ``skorch.callbacks.Freezer`` over the same model (the backbone
   with a new head, every parameter but the head's frozen), on the same preprocessed images,
   with the same optimizer, learning rate, batch size and number of epochs. ``Freezer`` leaves
   batch-norm layers in training mode, so their statistics drift to the target data; a second
   reference keeps the frozen network in evaluation mode, as FineTuneClassifier does, so that
   the three train the same model. Fit time includes loading the network.
2. ``GridSearchCV`` over five freeze depths with cross-validation, without ``memory``, with a
   fresh cache folder, then again with the warm cache.

EfficientNet-Lite0 with ImageNet weights, animal silhouettes (28 px, enlarged to
``--image-size``), on the CPU (and on CUDA too when a GPU is visible, for part 1).

Usage: ``python benchmarks/bench_fine_tune.py [--quick]``. Prints tables, writes
``benchmarks/results/bench_fine_tune.json``.
"""

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, train_test_split
from skorch import NeuralNetClassifier
from skorch.callbacks import Freezer
from torch import nn

from sktransfer.backbones import load_backbone
from sktransfer.datasets import load_animal_silhouettes
from sktransfer.fine_tuning import FineTuneClassifier
from sktransfer.utils import check_images
from sktransfer.utils._images import Preprocessor

RESULTS = Path(__file__).parent / "results" / "bench_fine_tune.json"
BACKBONE, WEIGHTS = "efficientnet_lite0", "imagenet"


def split(args):
    """``X_train, y_train, X_test, y_test``, with ``per_class`` training images per class."""
    images, target = load_animal_silhouettes(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        images,
        target,
        train_size=10 * args.per_class,
        test_size=args.n_test,
        stratify=target,
        random_state=0,
    )
    return X_train, y_train, X_test, y_test


class KeepFrozenInEval(nn.Module):
    """The backbone with its new head, its frozen part kept in evaluation mode."""

    def __init__(self, backbone):
        super().__init__()
        self.backbone = backbone

    def train(self, mode=True):
        super().train(False)
        self.backbone.head.train(mode)
        return self

    def forward(self, x):
        return self.backbone(x)


def skorch_freezer(args, device, X_train, y_train, X_test, y_test, keep_eval):
    """What a user writes with skorch alone: the whole network runs at every step."""
    start = time.perf_counter()
    with torch.random.fork_rng():
        torch.manual_seed(0)
        backbone = load_backbone(BACKBONE, WEIGHTS)
        backbone.model.set_submodule(backbone.head_name, nn.Linear(backbone.head.in_features, 10))
        prepare = Preprocessor(backbone.preprocessing, 3, image_size=args.image_size)
        inputs = prepare(torch.as_tensor(check_images(X_train).data))
        head = f"{'backbone.' if keep_eval else ''}model.{backbone.head_name}."
        net = NeuralNetClassifier(
            KeepFrozenInEval(backbone) if keep_eval else backbone,
            criterion=nn.CrossEntropyLoss,
            optimizer=torch.optim.AdamW,
            lr=args.lr,
            max_epochs=args.epochs,
            batch_size=args.batch_size,
            iterator_train__shuffle=True,
            train_split=None,
            callbacks=[Freezer(lambda name: not name.startswith(head))],
            device=device,
            verbose=0,
        )
        net.fit(inputs, torch.as_tensor(y_train))
    seconds = time.perf_counter() - start
    test_inputs = prepare(torch.as_tensor(check_images(X_test).data))
    accuracy = float(np.mean(net.predict(test_inputs) == y_test))
    return seconds, accuracy


def ours(args, device, X_train, y_train, X_test, y_test):
    clf = FineTuneClassifier(
        BACKBONE,
        WEIGHTS,
        freeze_depth="all",
        lr=args.lr,
        max_epochs=args.epochs,
        batch_size=args.batch_size,
        image_size=args.image_size,
        device=device,
        random_state=0,
    )
    start = time.perf_counter()
    clf.fit(X_train, y_train)
    seconds = time.perf_counter() - start
    return seconds, float(clf.score(X_test, y_test))


def warm_up(args, device, data):
    """One untimed pass of every batch shape, so that no variant pays torch's first calls."""
    backbone = load_backbone(BACKBONE, WEIGHTS).eval().to(device)
    prepare = Preprocessor(backbone.preprocessing, 3, image_size=args.image_size, device=device)
    images = torch.as_tensor(check_images(data[0]).data)
    sizes = {args.batch_size, len(images) % args.batch_size or args.batch_size}
    with torch.inference_mode():
        for size in sizes:
            backbone(prepare(images[:size]))


def head_only(args, device, data):
    warm_up(args, device, data)
    variants = {
        "FineTuneClassifier (cached prefix)": lambda: ours(args, device, *data),
        "skorch + Freezer": lambda: skorch_freezer(args, device, *data, keep_eval=False),
        "skorch + Freezer, frozen part in eval": lambda: skorch_freezer(
            args, device, *data, keep_eval=True
        ),
    }
    rows = []
    for name, run in variants.items():
        seconds, accuracy = run()
        rows.append({"variant": name, "device": device, "fit_s": seconds, "accuracy": accuracy})
        print(f"  {name} on {device}: {seconds:.1f} s, accuracy {accuracy:.3f}", flush=True)
    for row in rows:
        row["speedup_of_cached"] = row["fit_s"] / rows[0]["fit_s"]
    return rows


def grid_search(args, data):
    X_train, y_train = data[0], data[1]
    base = FineTuneClassifier(
        BACKBONE,
        WEIGHTS,
        lr=args.lr,
        lr_decay=0.1,
        max_epochs=args.grid_epochs,
        batch_size=args.batch_size,
        image_size=args.image_size,
        device="cpu",
        random_state=0,
    )
    grid = {"freeze_depth": args.depths}
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for name, memory in [
            ("no memory", None),
            ("memory, cold", folder),
            ("memory, warm", folder),
        ]:
            search = GridSearchCV(clone(base).set_params(memory=memory), grid, cv=args.cv)
            start = time.perf_counter()
            search.fit(X_train, y_train)
            seconds = time.perf_counter() - start
            size = sum(f.stat().st_size for f in Path(folder).rglob("*") if f.is_file())
            rows.append(
                {
                    "variant": name,
                    "search_s": seconds,
                    "best_freeze_depth": str(search.best_params_["freeze_depth"]),
                    "mean_test_scores": search.cv_results_["mean_test_score"].tolist(),
                    "cache_mib": size / 2**20 if memory else 0.0,
                }
            )
            print(f"  {name}: {seconds:.1f} s", flush=True)
    reference = np.array(rows[0]["mean_test_scores"])
    for row in rows:
        row["speedup"] = rows[0]["search_s"] / row["search_s"]
        row["max_score_diff"] = float(np.abs(np.array(row["mean_test_scores"]) - reference).max())
    return rows


def print_table(rows, columns):
    print(" | ".join(f"{c:>38}" if i == 0 else f"{c:>16}" for i, c in enumerate(columns)))
    for row in rows:
        cells = []
        for i, c in enumerate(columns):
            width = 38 if i == 0 else 16
            value = row[c]
            cells.append(
                f"{value:>{width}.3f}" if isinstance(value, float) else f"{value!s:>{width}}"
            )
        print(" | ".join(cells))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-class", type=int, default=20, help="training images per class")
    parser.add_argument("--n-test", type=int, default=300)
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=20, help="epochs of head-only training")
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--depths", nargs="+", default=["4", "8", "12", "16", "all"])
    parser.add_argument("--grid-epochs", type=int, default=1)
    parser.add_argument("--cv", type=int, default=3)
    parser.add_argument(
        "--threads", type=int, default=None, help="torch threads (default: torch's choice)"
    )
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    args = parser.parse_args()
    if args.threads:
        # On a machine shared with other jobs, one thread per process avoids torch's threads
        # waiting on each other at every small operation.
        torch.set_num_threads(args.threads)
    if args.quick:
        args.per_class, args.n_test, args.image_size, args.epochs = 5, 100, 64, 3
        args.grid_epochs, args.cv, args.depths = 1, 2, ["12", "16", "all"]
    args.depths = [d if d == "all" else int(d) for d in args.depths]
    data = split(args)
    load_before = os.getloadavg()

    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    print(
        f"Head-only training, {args.epochs} epochs, {len(data[0])} images at {args.image_size} px"
    )
    head = [row for device in devices for row in head_only(args, device, data)]
    print(
        f"\nGridSearchCV over freeze_depth={args.depths}, cv={args.cv}, {args.grid_epochs} epochs"
    )
    search = grid_search(args, data)

    print(f"\nHead-only training ({len(data[0])} images, {len(data[2])} test images)")
    print_table(head, ["variant", "device", "fit_s", "speedup_of_cached", "accuracy"])
    print("\nGridSearchCV over freeze depths (CPU)")
    print_table(search, ["variant", "search_s", "speedup", "cache_mib", "max_score_diff"])
    load_after = os.getloadavg()
    print(f"\nLoad average (1, 5, 15 min) before: {load_before}, after: {load_after}")
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "machine": {
                    "platform": platform.platform(),
                    "torch": torch.__version__,
                    "threads": torch.get_num_threads(),
                    "cpus": os.cpu_count(),
                    "cuda": torch.cuda.is_available(),
                    "load_average_before": load_before,
                    "load_average_after": load_after,
                },
                "args": {
                    k: v if k != "depths" else [str(d) for d in v] for k, v in vars(args).items()
                },
                "head_only": head,
                "grid_search": search,
            },
            indent=2,
        )
    )
    print(f"\nWrote {RESULTS}")


if __name__ == "__main__":
    main()
