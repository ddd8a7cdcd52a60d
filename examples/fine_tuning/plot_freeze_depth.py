"""
How many layers to freeze?
==========================

Yosinski et al. (2014, "How transferable are features in deep neural networks?") copied the
first layers of a network trained on one task into a network for another, kept them frozen,
and trained the rest: the first layers are general and transfer well, the last ones are specific
to the source task. How many layers to keep frozen depends on the target task: on how far it
lies from the source, and on how much labelled data it has.

We fine-tune EfficientNet-Lite0, pretrained on ImageNet photographs, on animal silhouettes,
freezing more or fewer of its 18 layers, with 10 and with 30 labelled images per class. The CNN
codes of its last layer with a logistic regression, where nothing of the network is trained,
serve as the reference.
"""

# %%
# The data: 10 or 30 labelled images per class, 300 held-out images
# -----------------------------------------------------------------
# The small training set is a part of the large one.
import tempfile

import matplotlib.pyplot as plt
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline

from sktransfer.datasets import load_animal_silhouettes
from sktransfer.feature_extraction import CNNCodeExtractor
from sktransfer.fine_tuning import FineTuneClassifier

images, target = load_animal_silhouettes(return_X_y=True)
X_large, X_test, y_large, y_test = train_test_split(
    images, target, train_size=300, test_size=300, stratify=target, random_state=0
)
X_small, _, y_small, _ = train_test_split(
    X_large, y_large, train_size=100, stratify=y_large, random_state=0
)
training_sets = {"10 per class": (X_small, y_small), "30 per class": (X_large, y_large)}

# %%
# Fine-tuning with more or fewer layers frozen
# --------------------------------------------
# EfficientNet-Lite0 has 18 layers: a stem, 16 inverted-bottleneck blocks and a last 1x1
# convolution. ``freeze_depth=k`` keeps the first ``k`` fixed and trains the rest and a new
# head, the layers further from the head at smaller learning rates (``lr_decay``);
# ``freeze_depth="all"`` trains the head only. To keep the example fast on a CPU, the 28 px
# silhouettes are enlarged to 64 px rather than the network's 224 px, training is short, and
# the depths start at 12: training the first layers too costs several times more.
#
# The frozen layers compute the same activations at every epoch, so they run once per fit.
# With ``memory=``, their outputs are also kept on disk, per image, across fits: each depth
# starts from the activations of the previous one instead of running the network from the
# input again, and the 100 small-set images are not encoded a second time for the large set.
depths = [12, 14, 16, 17, "all"]
cache = tempfile.TemporaryDirectory()
accuracy = {name: [] for name in training_sets}
for name, (X, y) in training_sets.items():
    for depth in depths:
        clf = FineTuneClassifier(
            "efficientnet_lite0",
            weights="imagenet",
            freeze_depth=depth,
            lr=1e-2,
            lr_decay=0.7,
            max_epochs=6,
            batch_size=16,
            image_size=64,
            memory=cache.name,
            random_state=0,
        )
        accuracy[name].append(clf.fit(X, y).score(X_test, y_test))
        print(f"{name}, freeze_depth={depth!s:>3}: accuracy {accuracy[name][-1]:.3f}")

# %%
# The reference: CNN codes and a logistic regression
# --------------------------------------------------
# The whole network stays frozen; only the logistic regression learns.
codes_accuracy = {}
for name, (X, y) in training_sets.items():
    codes = make_pipeline(
        CNNCodeExtractor("efficientnet_lite0", weights="imagenet", image_size=64),
        LogisticRegression(max_iter=1000),
    )
    codes_accuracy[name] = codes.fit(X, y).score(X_test, y_test)
    print(f"{name}, CNN codes + logistic regression: accuracy {codes_accuracy[name]:.3f}")
cache.cleanup()

# %%
# Accuracy against the number of frozen layers
# --------------------------------------------
fig, ax = plt.subplots(figsize=(7, 4))
positions = range(len(depths))
for (name, values), color in zip(accuracy.items(), ["tab:orange", "tab:blue"], strict=True):
    ax.plot(positions, values, "o-", color=color, label=f"fine-tuned, {name}")
    ax.axhline(codes_accuracy[name], color=color, linestyle="--", label=f"CNN codes + LR, {name}")
ax.set_xticks(positions, [str(d) for d in depths])
ax.set_xlabel("freeze_depth (layers of EfficientNet-Lite0 kept fixed, of 18)")
ax.set_ylabel("held-out accuracy")
ax.set_title("Animal silhouettes: how many pretrained layers to freeze")
ax.legend(loc="center right", fontsize=8)
fig.tight_layout()
plt.show()

# %%
# What each depth gains over training the head alone, and what the CNN codes give:
for name in training_sets:
    head_only = accuracy[name][depths.index("all")]
    gains = "  ".join(
        f"{depth}: {score - head_only:+.3f}"
        for depth, score in zip(depths, accuracy[name], strict=True)
        if depth != "all"
    )
    print(f"{name}: {gains}  (CNN codes {codes_accuracy[name] - head_only:+.3f})")

# %%
# With 10 images per class, every fine-tuned network falls short of the logistic regression
# on the same network's codes, even the one that trains the head only: a few epochs of
# stochastic gradient steps on 100 images do not reach the regularised optimum that the
# logistic regression finds. With so little data, CNN codes and a linear model are the
# method of choice.
#
# With 30 images per class, the picture turns: adapting some of the last layers beats training
# the head alone (the gains printed above) and comes close to the CNN-codes line, since the
# silhouettes are far from ImageNet photographs and their best features are not the source
# task's. The curves come from one split and one seed: differences of a point or two between
# neighbouring depths are noise. To choose ``freeze_depth`` for a real
# task, search it by cross-validation on the training data; ``memory=`` shares the frozen
# layers' outputs across folds and depths:
#
# .. code-block:: python
#
#     from sklearn.model_selection import GridSearchCV
#
#     clf = FineTuneClassifier("efficientnet_lite0", weights="imagenet", lr=1e-2,
#                              lr_decay=0.7, max_epochs=6, batch_size=16, image_size=64,
#                              memory="fine_tune_cache", random_state=0)
#     search = GridSearchCV(clf, {"freeze_depth": depths}, cv=3).fit(X_large, y_large)
#     search.best_params_
