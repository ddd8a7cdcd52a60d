"""
Which layer transfers best?
===========================

A network pretrained on ImageNet photographs is asked to tell apart animal silhouettes, white
shapes on a black background, from only 10 labelled images per class. We take the CNN codes
(Razavian et al., 2014; Donahue et al., 2014) of several layers of EfficientNet-Lite0, feed each
to a logistic regression, and compare with a logistic regression on the raw pixels.

Yosinski et al. (2014, "How transferable are features in deep neural networks?") found that the
features of early layers are general (edges, blobs, textures) while those of the last layers are
specific to the source task. For a target this far from ImageNet, the best layer is expected
before the last one, which is why ``layer`` is worth a search.
"""

# %%
# The data: 10 training images per class, 300 held-out images
# -------------------------------------------------------------
import matplotlib.pyplot as plt
import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split

from sktransfer.datasets import load_animal_silhouettes

data = load_animal_silhouettes()
X_train, X_test, y_train, y_test = train_test_split(
    data.images, data.target, train_size=100, test_size=300, stratify=data.target, random_state=0
)
print(f"train: {X_train.shape}, test: {X_test.shape}, classes: {np.bincount(y_train)}")

fig, axes = plt.subplots(1, 10, figsize=(10, 1.4))
for label, ax in enumerate(axes):
    ax.imshow(X_train[y_train == label][0], cmap="gray")
    ax.set_title(data.target_names[label], fontsize=9)
    ax.axis("off")

# %%
# Baseline: a logistic regression on the raw pixels
# -------------------------------------------------
pixels = LogisticRegression(max_iter=1000).fit(X_train.reshape(len(X_train), -1) / 255, y_train)
pixel_accuracy = pixels.score(X_test.reshape(len(X_test), -1) / 255, y_test)
print(f"raw pixels: accuracy {pixel_accuracy:.3f}")

# %%
# The layers of EfficientNet-Lite0
# --------------------------------
# A backbone lists its layers from the input side: the stem, 16 inverted-bottleneck blocks in
# seven stages, and the 1x1 convolution before the classifier. Any of them can be named, or
# counted from the end (``layer=-1`` is ``"conv_head"``). We take the last block of each stage
# from the third one on: as we go deeper the codes get wider and the maps coarser.
from sktransfer.backbones import load_backbone

print(load_backbone("efficientnet_lite0").layer_names)

layers = ["blocks.2", "blocks.4", "blocks.7", "blocks.10", "blocks.14", "conv_head"]

# %%
# CNN codes of each layer, then a logistic regression
# ---------------------------------------------------
# The images are 28 px; ``image_size=64`` enlarges them to 64 px instead of the network's
# 224 px: twelve times fewer pixels, so about twelve times less compute. The extractor is
# fitted once per layer (which loads the weights; it trains nothing) and encodes each image
# once.
from sktransfer.feature_extraction import CNNCodeExtractor

accuracies = {}
for layer in layers:
    extractor = CNNCodeExtractor(
        "efficientnet_lite0", weights="imagenet", layer=layer, image_size=64
    )
    codes_train = extractor.fit_transform(X_train)
    codes_test = extractor.transform(X_test)
    classifier = LogisticRegression(max_iter=1000).fit(codes_train, y_train)
    accuracies[layer] = classifier.score(codes_test, y_test)
    print(f"{layer:>10}: {codes_train.shape[1]:5d} codes, accuracy {accuracies[layer]:.3f}")

# %%
# Accuracy by layer
# -----------------
fig, ax = plt.subplots(figsize=(7, 3.5))
bars = ax.bar(layers, list(accuracies.values()), color="tab:blue", label="CNN codes")
ax.bar_label(bars, fmt="%.2f")
ax.axhline(pixel_accuracy, color="tab:red", linestyle="--", label="raw pixels")
ax.set_xlabel("layer of EfficientNet-Lite0 (input side to output side)")
ax.set_ylabel("held-out accuracy")
ax.set_ylim(0, 1)
ax.set_title("Animal silhouettes, 10 labelled images per class")
ax.legend(loc="upper left")
fig.tight_layout()

# %%
# Every layer's codes beat the raw pixels, yet the last layer is not the best: its features
# are tuned to ImageNet's classes, and the middle of the network transfers better to shapes
# so far from photographs. With a target close to ImageNet the ranking moves towards the end.
#
# Here the held-out set serves to draw the curve. To *choose* the layer for a real task, search
# it by cross-validation on the training data only; ``memory=`` caches the codes of each image,
# so that every fold and every refit reuses them:
#
# .. code-block:: python
#
#     from sklearn.model_selection import GridSearchCV
#     from sklearn.pipeline import make_pipeline
#
#     pipeline = make_pipeline(
#         CNNCodeExtractor("efficientnet_lite0", weights="imagenet", image_size=64,
#                          memory="cnn_codes_cache"),
#         LogisticRegression(max_iter=1000),
#     )
#     search = GridSearchCV(pipeline, {"cnncodeextractor__layer": layers}, cv=3)
#     search.fit(X_train, y_train)
#     search.best_params_

# sphinx_gallery_thumbnail_number = 2
