"""
Zero-shot learning: recognise animals never seen in training
============================================================

A model trained on images of seven animals meets three it has never seen. It cannot have
learned their classes, but it can recognise them from their *description*: a table says which
animal has hooves, a long neck, a trunk, a mane... The model learns from the seen animals how
images relate to those attributes, and an unseen animal is recognised by its row of the table.

:class:`~sktransfer.zero_shot.AttributeZeroShot` implements five methods from the literature:
DAP and IAP (Lampert et al., 2009), ESZSL (Romera-Paredes and Torr, 2015), SAE (Kodirov et
al., 2017) and ConSE (Norouzi et al., 2014). We compare them on the animal silhouettes with
features from an ImageNet network, then turn to *generalised* zero-shot learning, where seen
and unseen animals compete.

To run in seconds, this example uses 40 images per class at 96 pixels and one class split,
so its numbers are noisy; ``benchmarks/bench_zero_shot.py`` gives the full numbers (3,000
images at 224 pixels, all 120 ways to choose three unseen animals), summarised in the
:ref:`user guide <zero_shot>`.
"""

# %%
# Images, classes and the attribute table
# ---------------------------------------
# :func:`~sktransfer.datasets.load_animal_attributes` describes the ten animals of
# :func:`~sktransfer.datasets.load_animal_silhouettes` by 22 attributes written from common
# knowledge, graded from 0 (absent) to 1 (marked), and chosen among what a silhouette can
# show: outline, proportions, parts. Three animals, drawn at random, are held out of training.
import matplotlib.pyplot as plt
import numpy as np
from sklearn.metrics import ConfusionMatrixDisplay
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sktransfer.datasets import load_animal_attributes, load_animal_silhouettes
from sktransfer.feature_extraction import CNNCodeExtractor
from sktransfer.zero_shot import (
    AttributeZeroShot,
    ClassHoldoutSplit,
    harmonic_mean_scorer,
    per_class_accuracy_score,
    seen_unseen_accuracy,
)

animals = load_animal_silhouettes()
table = load_animal_attributes(as_frame=True).frame
names = np.asarray(animals.target_names)
rng = np.random.RandomState(0)
subset = np.concatenate(
    [rng.permutation(np.flatnonzero(animals.target == k))[:40] for k in range(10)]
)
# White shapes on black are rare among ImageNet photos; dark silhouettes on white are not.
images, labels = 255 - animals.images[subset], names[animals.target[subset]]

unseen = np.sort(names[rng.permutation(10)[:3]])
is_seen = ~np.isin(labels, unseen)
print("unseen animals:", ", ".join(unseen))
print(table.loc[unseen].loc[:, lambda t: t.any()].T.to_string())

# %%
# An attribute that every seen animal has, or that none has, cannot be learned from the seen
# animals (DAP fits no classifier for it):
seen_rows = table.drop(index=unseen)
print("constant over the seen animals:", ", ".join(seen_rows.columns[seen_rows.nunique() == 1]))

# %%
# Features: CNN codes
# -------------------
# EfficientNet-Lite0, pretrained on ImageNet, encodes every image once; the zero-shot models
# then fit on these codes (standardised on the seen images). The codes come from the layer
# before the last (``layer=-2``, 320 features): on the silhouettes it does as well as the last
# layer's 1,280 features and every method fits in a fraction of the time.
extractor = CNNCodeExtractor("efficientnet_lite0", weights="imagenet", layer=-2, image_size=96)
codes = extractor.fit_transform(images)
X_seen, y_seen = codes[is_seen], labels[is_seen]
X_unseen, y_unseen = codes[~is_seen], labels[~is_seen]

# %%
# Zero-shot: predicting among the unseen animals
# ----------------------------------------------
# Each method predicts among the three unseen animals only (``candidates="unseen"``, the
# default). The metric is the mean of the per-class top-1 accuracies; chance is 1/3.
methods = {
    "ESZSL": {"method": "eszsl", "alpha": 1.0, "gamma": 1000.0},
    "SAE": {"method": "sae", "sae_lambda": 100.0},
    "DAP": {"method": "dap"},
    "IAP": {"method": "iap"},
    "ConSE": {"method": "conse", "top_t": 3},
}
models, per_class = {}, {}
for name, params in methods.items():
    model = make_pipeline(StandardScaler(), AttributeZeroShot(table, **params))
    models[name] = model.fit(X_seen, y_seen)
    y_pred = model.predict(X_unseen)
    per_class[name] = [np.mean(y_pred[y_unseen == c] == c) for c in unseen]
    print(f"{name:>5}: per-class top-1 {per_class_accuracy_score(y_unseen, y_pred):.2f}")

fig, ax = plt.subplots(figsize=(7, 3.5))
width = 0.16
for i, (name, values) in enumerate(per_class.items()):
    ax.bar(np.arange(3) + (i - 2) * width, values, width, label=name)
ax.axhline(1 / 3, color="k", linestyle=":", label="chance")
ax.set_xticks(np.arange(3), unseen)
ax.set_ylabel("top-1 accuracy")
ax.set_title("Unseen animals, one class split")
ax.legend(ncols=3, fontsize="small")
fig.tight_layout()

# %%
# Which unseen animal is taken for which? The confusion matrix of ESZSL:
ConfusionMatrixDisplay.from_predictions(
    y_unseen, models["ESZSL"].predict(X_unseen), labels=unseen, normalize="true"
)
plt.title("ESZSL, unseen animals")
plt.tight_layout()

# %%
# Generalised zero-shot: seen and unseen animals compete
# ------------------------------------------------------
# In practice a test image may show any animal. With ``candidates="all"`` the model predicts
# among all ten; it is then measured by its per-class accuracy ``u`` on unseen animals, ``s``
# on held-out images of seen animals, and their harmonic mean ``H = 2us / (u + s)`` (Xian et
# al., 2019). Every method is biased toward the animals it was trained on, and ``u``
# collapses. Calibrated stacking (Chao et al., 2016) subtracts a constant from the seen
# animals' scores. Its scale is that of the method's scores, so the candidate values are
# multiples of the spread of ESZSL's scores on its training images. We choose it on the seen
# animals alone: :class:`~sktransfer.zero_shot.ClassHoldoutSplit` folds hold out two seen
# animals as pseudo-unseen (plus some images of the others), and the grid search keeps the
# calibration with the best ``H``.
held_out = rng.uniform(size=len(y_seen)) < 0.2
X_train, y_train = X_seen[~held_out], y_seen[~held_out]
X_test = np.vstack([X_seen[held_out], X_unseen])
y_test = np.concatenate([y_seen[held_out], y_unseen])

gzsl = make_pipeline(
    StandardScaler(), AttributeZeroShot(table, candidates="all", **methods["ESZSL"])
)
spread = gzsl.fit(X_train, y_train).decision_function(X_train).std()
search = GridSearchCV(
    gzsl,
    {"attributezeroshot__calibration": spread * np.array([0, 0.25, 0.5, 1, 1.5, 2, 3])},
    cv=ClassHoldoutSplit(n_splits=3, n_unseen=2, random_state=0),
    scoring=harmonic_mean_scorer,
).fit(X_train, y_train)
calibration = search.best_params_["attributezeroshot__calibration"]

rows = {}
for label, c in [("no calibration", 0.0), (f"calibration {calibration:.2f}", calibration)]:
    gzsl.set_params(attributezeroshot__calibration=c).fit(X_train, y_train)
    u, s = seen_unseen_accuracy(y_test, gzsl.predict(X_test), seen_classes=y_train)
    rows[label] = (u, s, 2 * u * s / (u + s) if u + s else 0.0)
    print(f"{label:>16}: u={u:.2f} s={s:.2f} H={rows[label][2]:.2f}")

fig, ax = plt.subplots(figsize=(6, 3.2))
for i, (label, values) in enumerate(rows.items()):
    ax.bar(np.arange(3) + (i - 0.5) * 0.35, values, 0.35, label=label)
ax.set_xticks(np.arange(3), ["u (unseen)", "s (seen)", "H"])
ax.set_ylim(0, 1)
ax.set_title("ESZSL, generalised zero-shot")
ax.legend()
fig.tight_layout()
plt.show()
