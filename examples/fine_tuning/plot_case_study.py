"""
One small image task, five ways
===============================

A case study: 30 labelled images per class of animal silhouettes, and five ways to learn the
ten classes, side by side on the same training and test images:

1. a small ConvNet trained **from scratch** on the 300 images;
2. the same ConvNet trained from scratch **with data augmentation**;
3. **CNN codes** of a network pretrained on ImageNet (EfficientNet-Lite0), frozen, with a
   logistic regression on top, the layer chosen by cross-validation;
4. **fine-tuning** the top layers of that pretrained network, the others frozen;
5. the same fine-tuning **with data augmentation**.

Each is timed. The times below were measured while this documentation was built, on the
machine that built it, on one CPU thread, and other work may have shared that machine: they
compare the five methods with one another, roughly, not with your machine. To keep the
example short the 28 px silhouettes are enlarged to 64 px for the pretrained network (its own
images are 224 px) and training is brief.
"""

# %%
# The data: 30 labelled images per class, 300 held-out images
# -----------------------------------------------------------
import tempfile
import time

import matplotlib.pyplot as plt
import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import make_pipeline
from torchvision.transforms import v2

from sktransfer.datasets import load_animal_silhouettes
from sktransfer.feature_extraction import CNNCodeExtractor
from sktransfer.fine_tuning import FineTuneClassifier

# One thread: the small networks here gain little from more, and on a busy machine torch's
# idle threads slow each small step down. The setting is restored at the end.
threads = torch.get_num_threads()
torch.set_num_threads(1)

images, target = load_animal_silhouettes(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(
    images, target, train_size=300, test_size=300, stratify=target, random_state=0
)

# %%
# Five models
# -----------
# The ConvNet trained from scratch is the library's small ``"toy_cnn"`` (three convolution
# blocks) without weights: ``freeze_depth=0`` trains all of it. Augmentation draws a random
# flip, rotation, shift and zoom of every training image at every epoch; it is not used at
# prediction. With augmentation the frozen layers of the pretrained network can no longer be
# run once and cached, since their inputs change at each epoch: the whole network runs at
# every step, which is what makes augmentation expensive.
augment = v2.Compose(
    [
        v2.RandomHorizontalFlip(),
        v2.RandomAffine(degrees=10, translate=(0.1, 0.1), scale=(0.9, 1.1)),
    ]
)
scratch = {
    "backbone": "toy_cnn",
    "freeze_depth": 0,
    "lr": 1e-2,
    "max_epochs": 20,
    "batch_size": 32,
    "random_state": 0,
}
fine_tune = {
    "backbone": "efficientnet_lite0",
    "weights": "imagenet",
    "freeze_depth": 14,
    "lr": 1e-2,
    "lr_decay": 0.7,
    "max_epochs": 6,
    "batch_size": 16,
    "image_size": 64,
    "random_state": 0,
}
cache = tempfile.TemporaryDirectory()
codes = GridSearchCV(
    make_pipeline(
        CNNCodeExtractor(
            "efficientnet_lite0", weights="imagenet", image_size=64, memory=cache.name
        ),
        LogisticRegression(max_iter=1000),
    ),
    {"cnncodeextractor__layer": ["blocks.10", "blocks.13", "conv_head"]},
    cv=3,
)
models = {
    "from scratch": FineTuneClassifier(**scratch),
    "from scratch + augmentation": FineTuneClassifier(**scratch, augment=augment),
    "CNN codes + logistic regression": codes,
    "fine-tuning the top layers": FineTuneClassifier(**fine_tune),
    "fine-tuning + augmentation": FineTuneClassifier(**fine_tune, augment=augment),
}

# %%
# Accuracy and time
# -----------------
# Each model is fitted on the 300 training images and scored on the 300 test images; the time
# covers ``fit`` and ``score``, loading the pretrained weights included.
accuracy, seconds = {}, {}
for name, model in models.items():
    start = time.perf_counter()
    accuracy[name] = model.fit(X_train, y_train).score(X_test, y_test)
    seconds[name] = time.perf_counter() - start
    print(f"{name:<32} accuracy {accuracy[name]:.3f}  ({seconds[name]:.1f} s)")
print("layer chosen for the CNN codes:", codes.best_params_["cnncodeextractor__layer"])
cache.cleanup()

ranking = sorted(accuracy, key=accuracy.get, reverse=True)
print("most accurate:", ranking[0])
print("least accurate:", ranking[-1])
pretrained = ["CNN codes + logistic regression", "fine-tuning the top layers"]
print(
    "every pretrained model beats both models trained from scratch:",
    min(accuracy[name] for name in [*pretrained, "fine-tuning + augmentation"])
    > max(accuracy["from scratch"], accuracy["from scratch + augmentation"]),
)

# %%
# The five side by side
# ---------------------
fig, (ax_accuracy, ax_time) = plt.subplots(1, 2, figsize=(10, 3.8), sharey=True)
names = list(models)
positions = np.arange(len(names))[::-1]
colours = ["tab:grey", "tab:grey", "tab:blue", "tab:orange", "tab:orange"]
bars = ax_accuracy.barh(positions, [accuracy[n] for n in names], color=colours)
ax_accuracy.bar_label(bars, fmt="%.2f", padding=3)
ax_accuracy.set_yticks(positions, names)
ax_accuracy.set_xlim(0, 1.1)
ax_accuracy.set_xlabel("test accuracy (30 labelled images per class)")
bars = ax_time.barh(positions, [seconds[n] for n in names], color=colours)
ax_time.bar_label(bars, fmt="%.0f s", padding=3)
ax_time.set_xlim(0, 1.25 * max(seconds.values()))
ax_time.set_xlabel("seconds to fit and score, on this build")
fig.suptitle("Animal silhouettes: one task, five ways")
fig.tight_layout()
plt.show()
torch.set_num_threads(threads)

# %%
# What the run shows
# ------------------
# The printed lines above say which model was most accurate in this run and whether the
# pretrained network, frozen or fine-tuned, beat the ConvNet trained from scratch. The
# pretrained network brings features learned on more than a million photographs; the ConvNet
# trained from scratch has only the 300 silhouettes. Augmentation multiplies the images a
# network sees without new labels, at the price of running the whole network at every epoch.
#
# The :ref:`which_strategy` page routes other kinds of data to their strategy, and the
# examples :ref:`sphx_glr_auto_examples_feature_extraction_plot_which_layer.py` and
# :ref:`sphx_glr_auto_examples_fine_tuning_plot_freeze_depth.py` look at the layer of the
# codes and at the number of frozen layers in detail.
