"""
Zero-shot learning with a learned embedding
===========================================

:class:`~sktransfer.zero_shot.AttributeZeroShot` maps images to attributes with a linear
model or with one classifier per attribute. :class:`~sktransfer.zero_shot.EmbeddingZeroShot`
trains two small networks instead, as DeViSE (Frome et al., 2013) does: one maps image
features, the other each class's attribute row, both into one space, and an image goes to
the class whose embedding is most similar (cosine similarity by default). Only the seen
classes are used in training; an unseen class is recognised through the embedding of its
attribute row.

This example uses the setting of :ref:`sphx_glr_auto_examples_zero_shot_plot_zero_shot.py`:
the ten animal silhouettes described by 22 graded attributes, three animals held out of
training, CNN codes as features. Every score is computed when the example runs.
"""

# %%
# Images, attributes and CNN codes
# --------------------------------
import matplotlib.pyplot as plt
import numpy as np
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sktransfer.datasets import load_animal_attributes, load_animal_silhouettes
from sktransfer.feature_extraction import CNNCodeExtractor
from sktransfer.zero_shot import AttributeZeroShot, EmbeddingZeroShot, per_class_accuracy_score

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

extractor = CNNCodeExtractor("efficientnet_lite0", weights="imagenet", layer=-2, image_size=96)
codes = extractor.fit_transform(images)
X_seen, y_seen = codes[is_seen], labels[is_seen]
X_unseen, y_unseen = codes[~is_seen], labels[~is_seen]

# %%
# A learned embedding against a linear map
# ----------------------------------------
# Both models predict among the three unseen animals (``candidates="unseen"``, the default);
# the metric is the mean of the per-class top-1 accuracies, chance 1/3. The embedding keeps
# its defaults, which ``benchmarks/bench_zero_shot.py`` uses too; ``verbose=1`` would print
# the network's loss at every epoch.
models = {
    "ESZSL (AttributeZeroShot)": make_pipeline(
        StandardScaler(), AttributeZeroShot(table, method="eszsl", alpha=1.0, gamma=1000.0)
    ),
    "EmbeddingZeroShot": make_pipeline(
        StandardScaler(),
        EmbeddingZeroShot(table, random_state=0),
    ),
}
per_class = {}
for name, model in models.items():
    y_pred = model.fit(X_seen, y_seen).predict(X_unseen)
    per_class[name] = [np.mean(y_pred[y_unseen == c] == c) for c in unseen]
    print(f"{name:>26}: per-class top-1 {per_class_accuracy_score(y_unseen, y_pred):.2f}")

fig, ax = plt.subplots(figsize=(6.5, 3.5))
width = 0.35
for i, (name, values) in enumerate(per_class.items()):
    ax.bar(np.arange(3) + (i - 0.5) * width, values, width, label=name)
ax.axhline(1 / 3, color="k", linestyle=":", label="chance")
ax.set_xticks(np.arange(3), unseen)
ax.set_ylim(0, 1)
ax.set_ylabel("top-1 accuracy")
ax.set_title("Unseen animals, one class split")
ax.legend(fontsize="small")
fig.tight_layout()
plt.show()

# %%
# One split of three unseen animals says little: which method wins changes from split to
# split. ``benchmarks/bench_zero_shot.py`` measures both models, as its rows ``eszsl`` and
# ``embedding``, over many splits.
