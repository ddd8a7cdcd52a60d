"""
Instance transfer for regression: TrAdaBoost.R2 and importance weighting
========================================================================

The regression counterparts of the two instance-transfer strategies, each on the kind of shift
it is made for:

* a source whose *function* partly disagrees with the target's (conditional shift):
  :class:`~sktransfer.instance_transfer.TrAdaBoostR2` and
  :class:`~sktransfer.instance_transfer.TwoStageTrAdaBoostR2` (Pardoe and Stone, 2010,
  "Boosting for Regression Transfer") learn from a few labelled target rows which source rows
  to trust;
* a source that follows the target's function but covers other *inputs* (covariate shift):
  :class:`~sktransfer.instance_transfer.ImportanceWeightedRegressor` weights the source rows
  by how typical they are of the unlabelled target rows.

Every score below is computed when the example runs; none is written by hand.
"""

# %%
# A source that partly disagrees with the target
# ----------------------------------------------
# :func:`~sktransfer.datasets.make_shifted_regression` draws a target function that winds
# around the origin; 30% of the source rows follow it rotated by 90 degrees. The target has
# 20 labelled rows; 1000 more measure each model. The same boosted regression trees serve
# every model: on the target rows alone, on source and target rows pooled, and the two
# TrAdaBoost variants.
import matplotlib.pyplot as plt
import numpy as np
from sklearn.ensemble import AdaBoostRegressor
from sklearn.tree import DecisionTreeRegressor

from sktransfer.datasets import make_shifted_regression
from sktransfer.instance_transfer import TrAdaBoostR2, TwoStageTrAdaBoostR2
from sktransfer.utils import pack_domains

X_source, y_source, X_target, y_target = make_shifted_regression(
    n_source=500, n_target=1020, rotation=90.0, shifted_fraction=0.3, random_state=0
)
X_train, y_train = X_target[:20], y_target[:20]
X_test, y_test = X_target[20:], y_target[20:]
X, y, sample_domain = pack_domains(source=(X_source, y_source), target=(X_train, y_train))


def trees():
    return DecisionTreeRegressor(max_depth=4, random_state=0)


models = {
    "target only": AdaBoostRegressor(trees(), n_estimators=20, random_state=0),
    "pooled": AdaBoostRegressor(trees(), n_estimators=20, random_state=0),
    "TrAdaBoost.R2": TrAdaBoostR2(trees(), n_estimators=20, random_state=0),
    "two-stage TrAdaBoost.R2": TwoStageTrAdaBoostR2(
        trees(), n_steps=5, n_estimators=10, cv=3, random_state=0
    ),
}
scores = {}
for name, model in models.items():
    if name == "target only":
        model.fit(X_train, y_train)
    elif name == "pooled":
        model.fit(X, y)
    else:
        model.fit(X, y, sample_domain=sample_domain)
    scores[name] = model.score(X_test, y_test)
    print(f"{name:>24}: target R2 {scores[name]:.3f}")

fig, ax = plt.subplots(figsize=(7, 3.2))
ax.barh(list(scores), list(scores.values()))
ax.axvline(0, color="k", linewidth=0.8)
ax.set_xlabel("R2 on 1000 held-out target rows")
ax.set_title("20 labelled target rows, 500 source rows (30% rotated)")
ax.invert_yaxis()
fig.tight_layout()

# %%
# The printed scores say whether the source helps and whether re-weighting its rows does
# better than pooling them. TrAdaBoost.R2 lowers the weight of the source rows that its
# learners get wrong; the two-stage variant lowers it step by step and keeps the step that
# cross-validation on the target rows prefers.
#
# A source that covers other inputs
# ---------------------------------
# Here source and target follow the same function, but the source inputs are spread wide
# and the target's gather near 0. A straight line fitted to all the source rows fits the
# wide range; weighted by the density ratio ``p_target(x) / p_source(x)``, which
# :class:`~sktransfer.instance_transfer.KLIEP` learns from the *unlabelled* target rows, it
# fits the range the target needs.
from sklearn.linear_model import LinearRegression
from sklearn.metrics import mean_squared_error

from sktransfer.instance_transfer import ImportanceWeightedRegressor

rng = np.random.RandomState(0)


def f(X):
    return np.sin(2 * X[:, 0])


Xs = rng.normal(0.5, 0.8, size=(300, 1))
Xt = rng.normal(0.0, 0.3, size=(300, 1))
ys = f(Xs) + 0.1 * rng.normal(size=300)
X, y, sample_domain = pack_domains(source=(Xs, ys), target=(Xt, None))

plain = LinearRegression().fit(Xs, ys)
weighted = ImportanceWeightedRegressor(LinearRegression(), weighting="kliep", random_state=0)
weighted.fit(X, y, sample_domain=sample_domain)
for name, model in [("unweighted", plain), ("importance-weighted", weighted)]:
    error = mean_squared_error(f(Xt), model.predict(Xt))
    print(f"{name:>20}: mean squared error on the target inputs {error:.3f}")

grid = np.linspace(-2, 3, 200)[:, None]
fig, ax = plt.subplots(figsize=(7, 3.5))
ax.scatter(Xs[:, 0], ys, s=6, color="tab:blue", alpha=0.5, label="source rows")
ax.hist(
    Xt[:, 0],
    bins=30,
    density=True,
    bottom=-2,
    color="tab:orange",
    alpha=0.4,
    label="target inputs (unlabelled)",
)
ax.plot(grid, f(grid), "k:", label="true function")
ax.plot(grid, plain.predict(grid), color="tab:blue", label="unweighted fit")
ax.plot(grid, weighted.predict(grid), color="tab:red", label="importance-weighted fit")
ax.set_xlabel("x")
ax.set_ylabel("y")
ax.legend(fontsize="small", loc="upper left")
fig.tight_layout()
plt.show()
