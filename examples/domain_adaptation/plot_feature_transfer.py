"""
=======================================================================
Feature transfer in one line: CORAL, TCA, subspace alignment, selection
=======================================================================

Labelled source rows, unlabelled target rows from a shifted distribution. Each adaptation
method of :mod:`sktransfer.domain_adaptation` that changes the features is one step of a
pipeline built by :func:`~sktransfer.pipeline.make_da_pipeline`::

    make_da_pipeline(StandardScaler(), CORAL(), LogisticRegression())

The pipeline passes ``sample_domain`` to the adaptation step and trains the final logistic
regression on the labelled source rows only (it wraps it in
:class:`~sktransfer.pipeline.LabelledOnlyClassifier`). We compare, on held-out target rows,
over a few draws of the data (the seeds are printed below):

* **source-only**: a standard scaler and a logistic regression fitted on the source rows;
* :class:`~sktransfer.domain_adaptation.CORAL`: source rows moved and re-coloured to the
  target mean and covariance;
* :class:`~sktransfer.domain_adaptation.TCA`: a projection in which the domain means are close;
* :class:`~sktransfer.domain_adaptation.SubspaceAlignment`: each domain centred on its own mean
  and projected on its principal axes, the source axes turned onto the target's;
* :class:`~sktransfer.domain_adaptation.DomainRevealingFeatureSelector`: the feature that best
  tells the domains apart is dropped;
* **target-trained**: a logistic regression fitted on labelled target rows, a reference that
  no unsupervised method can claim.

Two shifts are tried. Which method helps depends on the shift, and some make things worse:
read the printed table.
"""

# %%
# Two shifted tasks
# -----------------
# **conditional shift** (:func:`~sktransfer.datasets.make_conditional_shift`): two
# informative features and noise features; every target feature is multiplied by a factor and
# moved, as printed below.
#
# **offset sensor**: the same kind of source, with no shift on the target, except that feature
# 2 is replaced by a redundant, noisy reading of feature 0 (the one that carries the label),
# and on the target that reading is moved, as a miscalibrated sensor would be. A classifier
# trained on the source can lean on that reading.
import matplotlib.pyplot as plt
import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sktransfer.datasets import make_conditional_shift
from sktransfer.domain_adaptation import (
    CORAL,
    TCA,
    DomainRevealingFeatureSelector,
    SubspaceAlignment,
    proxy_a_distance,
)
from sktransfer.pipeline import make_da_pipeline
from sktransfer.utils import pack_domains

N_SOURCE, N_ADAPT, N_TEST = 400, 400, 1000
N_FEATURES, SCALE, OFFSET, SENSOR_OFFSET = 5, 0.7, 1.0, 3.0
print(f"{N_SOURCE} labelled source rows, {N_ADAPT} unlabelled target rows to adapt on,")
print(f"{N_TEST} target rows to test on; {N_FEATURES} features, the first two informative")
print(f"conditional shift: each target feature multiplied by {SCALE}, then moved by {OFFSET}")
print(f"offset sensor: feature 2, a noisy copy of feature 0, reads {SENSOR_OFFSET} high")


def conditional_shift(seed):
    """``Xs, ys, Xt, yt``: the target features scaled by ``SCALE`` and moved by ``OFFSET``."""
    return make_conditional_shift(
        n_source=N_SOURCE,
        n_target=N_ADAPT + N_TEST,
        n_features=N_FEATURES,
        scale=SCALE,
        offset=OFFSET,
        random_state=seed,
    )


def offset_sensor(seed):
    """``Xs, ys, Xt, yt``: a redundant reading of feature 0 reads high on the target."""
    rng = np.random.RandomState(seed)
    Xs, ys, Xt, yt = make_conditional_shift(
        n_source=N_SOURCE,
        n_target=N_ADAPT + N_TEST,
        n_features=N_FEATURES,
        scale=1.0,
        offset=0.0,
        random_state=seed,
    )
    Xs[:, 2] = Xs[:, 0] + 0.3 * rng.normal(size=len(Xs))
    Xt[:, 2] = Xt[:, 0] + 0.3 * rng.normal(size=len(Xt)) + SENSOR_OFFSET
    return Xs, ys, Xt, yt


shifts = {"conditional shift": conditional_shift, "offset sensor": offset_sensor}

# %%
# The methods
# -----------
# Every adaptation method is one step between the same scaler and the same classifier. The
# scaler of the pipelines is fitted on source and target rows together; the adaptation step is
# fitted on the source rows and the unlabelled target rows kept for adaptation; the accuracy is
# measured on other target rows.


def adapted(step):
    return make_da_pipeline(StandardScaler(), step, LogisticRegression())


def methods(seed):
    return {
        "CORAL": adapted(CORAL()),
        "TCA": adapted(TCA(n_components=2, random_state=seed)),
        "SubspaceAlignment": adapted(SubspaceAlignment(n_components=2)),
        "DomainRevealing": adapted(DomainRevealingFeatureSelector(n_features_to_drop=1)),
    }


def target_accuracies(make_shift, seed):
    Xs, ys, Xt, yt = make_shift(seed)
    X_adapt, X_test, y_adapt, y_test = Xt[:N_ADAPT], Xt[N_ADAPT:], yt[:N_ADAPT], yt[N_ADAPT:]
    X, y, sample_domain = pack_domains(source=(Xs, ys), target=(X_adapt, None))
    plain = make_pipeline(StandardScaler(), LogisticRegression())
    scores = {"source-only": plain.fit(Xs, ys).score(X_test, y_test)}
    for name, model in methods(seed).items():
        model.fit(X, y, sample_domain=sample_domain)
        scores[name] = model.score(X_test, y_test)
    scores["target-trained"] = plain.fit(X_adapt, y_adapt).score(X_test, y_test)
    return scores


# %%
# Target accuracy, mean and standard deviation over seeds
# -------------------------------------------------------
# Each seed draws new source and target rows.
seeds = [0, 1, 2]
print(f"target accuracy on the test rows, mean +- std over seeds {seeds}")
results = {
    shift: [target_accuracies(make_shift, seed) for seed in seeds]
    for shift, make_shift in shifts.items()
}
names = list(results["conditional shift"][0])
print(f"{'method':<18}" + "".join(f"{shift:>22}" for shift in shifts))
for name in names:
    cells = []
    for shift in shifts:
        values = [run[name] for run in results[shift]]
        cells.append(f"{np.mean(values):.3f} +- {np.std(values):.3f}")
    print(f"{name:<18}" + "".join(f"{cell:>22}" for cell in cells))

print("\nchange against source-only on each seed, and what it says:")
for shift in shifts:
    for name in names[1:-1]:
        gains = np.array([run[name] - run["source-only"] for run in results[shift]])
        if (gains > 0).all():
            verdict = "helps on every seed"
        elif (gains < 0).all():
            verdict = "HURTS on every seed"
        else:
            verdict = "does not help reliably (wins and losses)"
        changes = " ".join(f"{gain:+.3f}" for gain in gains)
        print(f"  {shift:<18} {name:<18} {changes}   {verdict}")

# %%
# What the printed output shows
# -----------------------------
# The verdicts are computed from the three per-seed changes printed beside them, so they follow
# the numbers rather than our expectations. In our run:
#
# * **CORAL** helps on both shifts, on every seed, and comes close to the target-trained
#   reference in the table. Moving the source rows to the target mean and covariance undoes an
#   affine map of the features, which is how both shifts were built.
# * **TCA** helps on the conditional shift but **hurts on the offset sensor**: its accuracy
#   there is below source-only on every seed. It keeps the few components set in ``methods``,
#   chosen without the labels; we have not looked further into why they lose the label here.
# * **Subspace alignment** helps on the offset sensor, but on the conditional shift it **does
#   not help reliably**: it loses on one seed and wins on the others, as the spread in the
#   table shows.
# * **The domain-revealing selector** helps on the offset sensor, where the moved feature is a
#   redundant reading that the label does not need, but **does nothing useful on the
#   conditional shift**: there every feature is moved, dropping one leaves the others shifted,
#   and the selector, which reads no labels, may drop one the label needs.
#
# Only CORAL helps on both shifts here, and both shifts are affine maps of the features, the
# kind of shift CORAL is built for. This example does not test other shifts, such as a
# rotation of the target; ``benchmarks/bench_da_features.py`` does.

# %%
# Source and target rows, before and after CORAL
# ----------------------------------------------
# The first two features of the conditional shift (seed 0), after the pipeline's scaler:
# source rows (circles) and the unlabelled target rows adapted on (crosses), coloured by class
# (blue and red). CORAL moves and re-colours the source rows onto the target; the target rows
# pass unchanged. The titles give the proxy A-distance between the two domains, measured on
# all the features, from 0 (a linear classifier cannot tell them apart) to 2 (it tells them
# apart perfectly).
Xs, ys, Xt, yt = conditional_shift(0)
X_adapt, y_adapt = Xt[:N_ADAPT], yt[:N_ADAPT]
X, y, sample_domain = pack_domains(source=(Xs, ys), target=(X_adapt, None))
model = adapted(CORAL()).fit(X, y, sample_domain=sample_domain)
scaler, coral = model.steps[0][1], model.steps[1][1]
scaled = scaler.transform(X)
views = {
    "before CORAL": scaled,
    "after CORAL": coral.transform(scaled, sample_domain=sample_domain),
}
is_source = sample_domain > 0
labels = np.r_[ys, y_adapt]
fig, axes = plt.subplots(1, 2, figsize=(9, 4.2), sharex=True, sharey=True)
for ax, (title, Z) in zip(axes, views.items(), strict=True):
    for rows, marker, domain in [(is_source, "o", "source"), (~is_source, "x", "target")]:
        ax.scatter(*Z[rows, :2].T, c=labels[rows], cmap="coolwarm", marker=marker, s=12, alpha=0.6)
        ax.scatter([], [], c="grey", marker=marker, label=domain)
    distance = proxy_a_distance(Z[is_source], Z[~is_source], random_state=0)
    print(f"{title}: proxy A-distance between source and target rows {distance:.2f}")
    ax.set_title(f"{title}\nproxy A-distance {distance:.2f}")
    ax.set_xlabel("feature 0 (scaled)")
axes[0].set_ylabel("feature 1 (scaled)")
axes[0].legend()
fig.tight_layout()
plt.show()
