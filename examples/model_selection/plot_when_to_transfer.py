"""
===================================================================
When to transfer: rank layers, test against a baseline, get advice
===================================================================

Three questions come before transfer pays: which source representation suits the target,
whether transfer beats a model of the target alone, and which way of transferring suits the
task. :mod:`sktransfer.model_selection` answers them with

- transferability scores (:func:`~sktransfer.model_selection.logme_score`,
  :func:`~sktransfer.model_selection.h_score`), which rank candidate representations
  without training a classifier on any of them;
- :func:`~sktransfer.model_selection.compare_to_baseline`, a paired test on shared folds
  whose verdict is positive, negative or inconclusive;
- :func:`~sktransfer.model_selection.recommend_strategy`, which places the task among the
  four scenarios of the CS231n notes (small or large target, similar to the source or not).

The target is the animal silhouettes (white shapes on black, 10 classes) and the source
network EfficientNet-Lite0 trained on ImageNet. See :ref:`when_to_transfer`.
"""

# %%
# Scores against the accuracy they predict
# ----------------------------------------
# Ten labelled images per class, and 200 held-out images. Each candidate is a layer of the
# network, whose CNN codes are computed once. The scores read the labelled codes only; the
# accuracy is that of a logistic regression trained on the labelled codes and evaluated on
# the held-out ones, which is what a user would otherwise do for every candidate.
import matplotlib.pyplot as plt
import numpy as np
from scipy.stats import kendalltau
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split

from sktransfer.datasets import load_animal_silhouettes
from sktransfer.feature_extraction import CNNCodeExtractor
from sktransfer.model_selection import h_score, logme_score

images, target = load_animal_silhouettes(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(
    images, target, train_size=100, test_size=200, stratify=target, random_state=0
)

layers = [-1, -2, -3, -4, -6]
rows = []
for layer in layers:
    extractor = CNNCodeExtractor(
        "efficientnet_lite0", "imagenet", layer=layer, image_size=32, device="cpu"
    ).fit(X_train[:1])
    codes_train, codes_test = extractor.transform(X_train), extractor.transform(X_test)
    classifier = LogisticRegression(max_iter=1000).fit(codes_train, y_train)
    rows.append(
        (
            layer,
            logme_score(codes_train, y_train),
            h_score(codes_train, y_train),
            classifier.score(codes_test, y_test),
        )
    )
    print(
        f"layer {layer:>2} ({extractor.layer_name_}): LogME {rows[-1][1]:+.4f}, "
        f"H-score {rows[-1][2]:.3f}, held-out accuracy {rows[-1][3]:.3f}"
    )

_, logme, hscore, accuracy = map(np.array, zip(*rows, strict=True))
for name, score in [("LogME", logme), ("H-score", hscore)]:
    tau = kendalltau(score, accuracy).statistic
    print(
        f"{name}: Kendall's tau with the accuracy {tau:.2f}, picks layer {layers[score.argmax()]}"
    )
print(f"best layer by accuracy: {layers[accuracy.argmax()]}")

fig, axes = plt.subplots(1, 2, figsize=(8, 3.5))
for ax, name, score in zip(axes, ["LogME", "H-score"], [logme, hscore], strict=True):
    ax.scatter(score, accuracy)
    for layer, x, y in zip(layers, score, accuracy, strict=True):
        ax.annotate(f"layer {layer}", (x, y), textcoords="offset points", xytext=(4, 4))
    ax.set_xlabel(f"{name} (labelled codes only)")
    ax.set_ylabel("held-out accuracy")
fig.tight_layout()

# %%
# The printed tau says how far each score's order of the layers agrees with the order of
# their accuracies (1: the same order). ``benchmarks/bench_transferability.py`` measures it
# over more candidates and two training-set sizes.
#
# A negative transfer, detected
# -----------------------------
# A source whose labelling contradicts the target's (its classes are the target's, swapped),
# pooled with the target rows without any weighting, against a logistic regression of the
# target rows alone. Both are scored on the target rows of the same test folds;
# :class:`~sktransfer.model_selection.DomainShuffleSplit` keeps both domains in every fold.
# The baseline keeps to the target rows through a ``sample_weight`` of 0 on source rows.
from sklearn import config_context

from sktransfer.model_selection import (
    DomainShuffleSplit,
    TargetAccuracyScorer,
    compare_to_baseline,
)
from sktransfer.utils import pack_domains

rng = np.random.default_rng(0)
Xs, Xt = rng.normal(size=(300, 2)), rng.normal(size=(100, 2))
ys, yt = (Xs[:, 0] < 0).astype(int), (Xt[:, 0] > 0).astype(int)
X, y, sample_domain = pack_domains(source=(Xs, ys), target=(Xt, yt))

with config_context(enable_metadata_routing=True):
    comparison = compare_to_baseline(
        LogisticRegression().set_fit_request(sample_weight=False),
        LogisticRegression().set_fit_request(sample_weight=True),
        X,
        y,
        cv=DomainShuffleSplit(n_splits=10, test_size=0.3, random_state=0),
        scoring=TargetAccuracyScorer(),
        sample_domain=sample_domain,
        params={"sample_weight": (sample_domain < 0).astype(float)},
    )
print(comparison)
comparison.plot()

# %%
# Each line joins the baseline's and the pooled model's scores on one fold. The verdict
# comes from the corrected resampled t-test of Nadeau and Bengio (2003), which accounts for
# the folds sharing training rows.
#
# Which strategy?
# ---------------
# :func:`~sktransfer.model_selection.recommend_strategy` measures the labelled rows per class
# and, without source rows, the closeness of the target to the network's training data
# through its own ImageNet head: how far the head's LEEP on the target rises above the LEEP
# of shuffled labels. It recommends a configuration of the library's estimators, with the
# reason; here for twenty labelled silhouettes per class.
from sktransfer.model_selection import recommend_strategy

per_class = np.concatenate([np.flatnonzero(target == c)[:20] for c in range(10)])
advice = recommend_strategy(images[per_class], target[per_class], image_size=32, random_state=0)
print(advice)
advice.plot()
plt.show()

# %%
# The report prints each measurement beside its threshold, the earlier layers' LogME when it
# recommends one of them, and the configured estimator, ready for ``fit``. The thresholds are
# rules of thumb and are parameters; :func:`~sktransfer.model_selection.compare_to_baseline`
# then tells whether the recommended model beats the target-only one.
