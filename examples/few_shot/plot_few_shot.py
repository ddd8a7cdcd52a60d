"""
Few-shot learning: accuracy against the number of shots
=======================================================

How many labelled examples does a new class need? We learn five new classes from 1 to 20
examples each and measure the accuracy over many random draws (*episodes*), with its 95%
interval, for three rules that need no training beyond the shots:

* the nearest class mean, :class:`~sktransfer.few_shot.PrototypeClassifier`, with the rows
  centred on the mean of the *base* classes and scaled to unit length (SimpleShot, Wang et
  al., 2019);
* logistic regression on the same shots;
* the nearest neighbour among the shots.

To run in seconds the example uses scikit-learn's digits, raw 8x8 pixels: digits 0-4 are the
base classes (only their mean is used), digits 5-9 the novel classes of every episode.
``benchmarks/bench_few_shot.py`` runs the same comparison on CNN codes of the animal
silhouettes, with 600 episodes per point, and adds fine-tuning with an imprinted head
(``FineTuneClassifier(head_init="imprint")``), left out here because its 500 small fits would
take minutes rather than seconds.
"""

# %%
# Episodes
# --------
# :class:`~sktransfer.few_shot.FewShotSplit` draws each episode as a cross-validation fold:
# 5 classes, ``n_shot`` training rows and 15 test rows per class. Every method sees the same
# episodes (the same ``random_state``), and
# :func:`~sktransfer.few_shot.mean_confidence_interval` gives the mean accuracy and the
# half-width of its 95% interval, ``t * std / sqrt(n_episodes)`` (``t`` the Student
# quantile, about 1.96 at these episode counts).
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score
from sklearn.neighbors import KNeighborsClassifier
from threadpoolctl import threadpool_limits

from sktransfer.few_shot import FewShotSplit, PrototypeClassifier, mean_confidence_interval

X, y = load_digits(return_X_y=True)
base = y < 5
X_novel, y_novel = X[~base], y[~base]

methods = {
    "prototype (SimpleShot)": PrototypeClassifier(center=X[base].mean(axis=0)),
    "logistic regression": LogisticRegression(max_iter=1000),
    "1-nearest neighbour": KNeighborsClassifier(n_neighbors=1),
}
shots = [1, 2, 5, 10, 20]
n_episodes = 100

results = {name: [] for name in methods}
# Each fit is tiny: one thread each avoids thread start-up costing more than the fit itself.
with threadpool_limits(1):
    for n_shot in shots:
        episodes = FewShotSplit(5, n_shot, n_query=15, n_episodes=n_episodes, random_state=0)
        for name, model in methods.items():
            scores = cross_val_score(model, X_novel, y_novel, cv=episodes)
            results[name].append(mean_confidence_interval(scores))
for name, values in results.items():
    cells = ", ".join(f"{n}: {m:.3f}+-{h:.3f}" for n, (m, h) in zip(shots, values, strict=True))
    print(f"{name:>22}  {cells}")

# %%
# Accuracy against shots
# ----------------------
# With one shot the three rules are close: a prototype is then the shot itself, and the
# nearest neighbour is the same rule without the normalisation. With more shots the
# prototype averages its examples and gains most in the first few; logistic regression and
# the nearest neighbour keep gaining as the shots describe each class's spread.
fig, ax = plt.subplots(figsize=(6.5, 4))
for name, values in results.items():
    mean, half = np.array(values).T
    ax.plot(shots, mean, marker="o", label=name)
    ax.fill_between(shots, mean - half, mean + half, alpha=0.25)
ax.axhline(0.2, color="k", linestyle=":", label="chance")
ax.set_xscale("log")
ax.set_xticks(shots, [str(n) for n in shots])
ax.set_xlabel("shots per class")
ax.set_ylabel("5-way accuracy (95% interval)")
ax.set_title(f"Novel digits 5-9, {n_episodes} episodes per point")
ax.legend()
fig.tight_layout()
plt.show()
