"""CNN codes against raw pixels on the animal silhouettes, with 10 labelled images per class.

Run by ``make demo``. For each of 5 seeds, 10 images per class are drawn for training and the
same 300 held-out images are used for testing. Two pipelines are compared:

* ``LogisticRegression`` on the raw pixels (no transfer);
* ``CNNCodeExtractor`` (EfficientNet-Lite0 pretrained on ImageNet) followed by
  ``LogisticRegression``, with ``GridSearchCV`` choosing the layer by cross-validation on the
  100 training images.

Codes are cached per image (``memory=``), so every image is encoded once per layer however many
folds, grid points and seeds see it. Prints a table and saves a plot of accuracy against layer,
each layer named, with the layer ``GridSearchCV`` chose and the test accuracy of its choice
marked.
"""

import json
import sys
import tempfile
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler
from threadpoolctl import threadpool_limits

from sktransfer.datasets import load_animal_silhouettes
from sktransfer.feature_extraction import CNNCodeExtractor

SEEDS = range(5)
LABELS_PER_CLASS = 10
N_TEST = 300
LAYERS = [-1, -2, -3]
IMAGE_SIZE = 96
OUTPUT = Path("demo_output")


def split(y, seed):
    """Indices of 10 training images per class, drawn from outside the fixed test set."""
    rng = np.random.default_rng(seed)
    pool = np.arange(N_TEST, len(y))
    return np.concatenate(
        [rng.choice(pool[y[pool] == c], LABELS_PER_CLASS, replace=False) for c in np.unique(y)]
    )


def pixels_model():
    flatten = FunctionTransformer(lambda X: X.reshape(len(X), -1) / 255.0)
    return make_pipeline(flatten, StandardScaler(), LogisticRegression(max_iter=2000))


def extractor(cache=None, layer=-1):
    return CNNCodeExtractor(
        "efficientnet_lite0", weights="imagenet", layer=layer, image_size=IMAGE_SIZE, memory=cache
    )


def codes_model(cache):
    return make_pipeline(extractor(cache), StandardScaler(), LogisticRegression(max_iter=2000))


def layer_names(images):
    """The network's name of each layer of ``LAYERS`` (fitting loads the network, no more)."""
    return {layer: extractor(layer=layer).fit(images[:1]).layer_name_ for layer in LAYERS}


def run_seed(images, y, seed, cache):
    train = split(y, seed)
    test = np.arange(N_TEST)
    scores = {"pixels": pixels_model().fit(images[train], y[train]).score(images[test], y[test])}
    search = GridSearchCV(
        codes_model(cache),
        {"cnncodeextractor__layer": LAYERS},
        cv=StratifiedKFold(5, shuffle=True, random_state=seed),
    )
    search.fit(images[train], y[train])
    scores["codes, layer chosen by CV"] = search.score(images[test], y[test])
    for layer in LAYERS:
        model = codes_model(cache).set_params(cnncodeextractor__layer=layer)
        scores[f"codes, layer {layer}"] = model.fit(images[train], y[train]).score(
            images[test], y[test]
        )
    return scores, search.best_params_["cnncodeextractor__layer"]


def main():
    images, y = load_animal_silhouettes(return_X_y=True)
    names = layer_names(images)
    start = time.perf_counter()
    results, chosen = [], []
    # On 100 training rows, multithreaded BLAS in the logistic regressions only waits on itself:
    # one thread is 10-30x faster here. Torch keeps its own threads for the network.
    with tempfile.TemporaryDirectory() as cache, threadpool_limits(1, user_api="blas"):
        for seed in SEEDS:
            scores, layer = run_seed(images, y, seed, cache)
            results.append(scores)
            chosen.append(layer)
            print(f"seed {seed}: " + ", ".join(f"{k} {v:.3f}" for k, v in scores.items()))
    elapsed = time.perf_counter() - start
    summary = {
        k: (np.mean([r[k] for r in results]), np.std([r[k] for r in results])) for k in results[0]
    }
    gain = summary["codes, layer chosen by CV"][0] - summary["pixels"][0]
    print_table(summary, names, chosen, gain, elapsed)
    OUTPUT.mkdir(exist_ok=True)
    plot(summary, names, chosen, OUTPUT / "cnn_codes_vs_pixels.png")
    (OUTPUT / "results.json").write_text(
        json.dumps(
            {
                "summary": summary,
                "per_seed": results,
                "layers_chosen": chosen,
                "layer_names": {str(layer): name for layer, name in names.items()},
                "gain_points": 100 * gain,
                "seconds": elapsed,
            },
            indent=2,
        )
    )
    print(f"\nPlot: {OUTPUT / 'cnn_codes_vs_pixels.png'}; numbers: {OUTPUT / 'results.json'}")
    return 0


def label(name, names):
    """``"codes, layer -2"`` becomes ``"codes, layer -2 (blocks.15)"``."""
    for layer, layer_name in names.items():
        if name == f"codes, layer {layer}":
            return f"{name} ({layer_name})"
    return name


def print_table(summary, names, chosen, gain, elapsed):
    print(
        f"\nAnimal silhouettes, {LABELS_PER_CLASS} labelled images per class, {N_TEST} test "
        f"images, mean +- std over {len(SEEDS)} seeds ({elapsed:.0f} s)"
    )
    print(f"{'model':<42} {'test accuracy':>15}")
    for name, (mean, std) in summary.items():
        print(f"{label(name, names):<42} {mean:>8.3f} +- {std:.3f}")
    print(f"layers chosen by GridSearchCV: {chosen}")
    print(f"CNN codes beat raw pixels by {100 * gain:.1f} accuracy points")


def plot(summary, names, chosen, path):
    """Accuracy against layer, layers named; GridSearchCV's most frequent choice marked."""
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    ticks = [f"{layer}\n{names[layer]}" for layer in LAYERS]
    means = [summary[f"codes, layer {layer}"][0] for layer in LAYERS]
    stds = [summary[f"codes, layer {layer}"][1] for layer in LAYERS]
    ax.errorbar(
        ticks,
        means,
        yerr=stds,
        marker="o",
        capsize=3,
        label="EfficientNet-Lite0 codes + logistic regression",
    )
    ax.axhline(
        summary["pixels"][0], color="grey", linestyle="--", label="raw pixels + logistic regression"
    )
    # The layer GridSearchCV picked most often; the accuracy written beside it is that of the
    # searched pipeline (each seed's own choice), the score a user of the search gets.
    favourite = max(set(chosen), key=chosen.count)
    at = LAYERS.index(favourite)
    cv_mean = summary["codes, layer chosen by CV"][0]
    ax.plot(at, means[at], marker="*", markersize=18, color="tab:red", linestyle="none")
    ax.annotate(
        f"GridSearchCV's choice ({chosen.count(favourite)} of {len(chosen)} seeds)\n"
        f"test accuracy of the search: {cv_mean:.3f}",
        xy=(at, means[at]),
        xytext=(0, -58),
        textcoords="offset points",
        ha="center",
        color="tab:red",
        arrowprops={"arrowstyle": "->", "color": "tab:red"},
    )
    ax.set_xlabel("layer (index from the end, and its name in the network)")
    ax.set_ylabel(f"test accuracy ({LABELS_PER_CLASS} labels per class)")
    ax.set_ylim(0, 1)
    ax.legend(loc="lower right")
    ax.set_title("Transfer from ImageNet to animal silhouettes")
    fig.tight_layout()
    fig.savefig(path, dpi=120)


if __name__ == "__main__":
    sys.exit(main())
