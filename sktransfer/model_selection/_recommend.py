"""Which transfer strategy suits a target task: its size and its closeness to the source."""

import html
import warnings
from dataclasses import dataclass, field
from numbers import Real

import numpy as np
import torch
from scipy.special import softmax
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.utils import check_random_state

from ..utils._sklearn import Integers, Interval, _safe_indexing, validate_parameter_constraints
from ..utils._torch import module_device
from ._report import html_rows, text_table
from ._transferability import (
    _check_labels,
    _labelled_rows,
    _SingleRowClassWarning,
    leep_score,
    logme_score,
)

__all__ = ["StrategyRecommendation", "recommend_strategy"]

_N_SHUFFLES = 20  # shuffles of the labels that estimate LEEP's chance level

# The four scenarios of the CS231n notes on transfer learning, and what this library offers
# for each: (size, closeness) -> (strategy, what it does, why).
_SCENARIOS = {
    ("small", "similar"): (
        "linear_on_codes",
        "a linear classifier on the CNN codes of the last layer",
        "few labelled rows per class would overfit a fine-tuned network, and a target close to "
        "the source is served by the source's most specific features",
    ),
    ("small", "different"): (
        "linear_on_earlier_codes",
        "a linear classifier on the CNN codes of an earlier layer",
        "few labelled rows per class would overfit a fine-tuned network, and the last layers "
        "are specific to a source the target does not resemble: earlier, more generic layers "
        "transfer better",
    ),
    ("large", "similar"): (
        "fine_tune_top",
        "fine-tuning the top layers of the network",
        "enough labelled rows per class to adapt the network without overfitting, and a target "
        "close to the source needs only its specific, top layers adapted",
    ),
    ("large", "different"): (
        "fine_tune_all",
        "fine-tuning every layer of the network",
        "enough labelled rows per class to adapt the whole network, and a target far from the "
        "source needs its features changed at every depth; the pretrained weights remain a "
        "better start than random ones",
    ),
}


@dataclass(frozen=True, repr=False, eq=False)
class StrategyRecommendation:
    """The result of :func:`recommend_strategy`: the task's measurements, scenario and advice.

    Built by :func:`recommend_strategy`; its fields are read as attributes.

    Parameters
    ----------
    strategy : {"linear_on_codes", "linear_on_earlier_codes", "fine_tune_top", \
"fine_tune_all"}
        The recommended strategy.
    estimator : estimator object
        An unfitted estimator that implements it: a Pipeline of a
        :class:`~sktransfer.feature_extraction.CNNCodeExtractor` and a logistic regression,
        or a :class:`~sktransfer.fine_tuning.FineTuneClassifier`.
    size : {"small", "large"}
        The target's size: ``"small"`` when ``rows_per_class < small_per_class``.
    closeness : {"similar", "different"}
        The target's closeness to the source, as ``closeness_from`` measured it.
    reason : str
        Why the strategy suits the scenario.
    rows_per_class : float
        The median number of labelled rows per class.
    n_classes : int
        The number of target classes.
    closeness_from : {"source_rows", "source_head"}
        What decided ``closeness``: the proxy A-distance to the given source rows, or the
        backbone's own head (how far its LEEP rises above chance).
    source_confidence : float or None
        The mean top-class probability of the backbone's head on the target rows; ``None``
        for a backbone without a head.
    leep : float or None
        :func:`leep_score` of the backbone's head on the target rows.
    leep_chance : float or None
        The mean LEEP of the head with the target labels shuffled: what LEEP reaches by
        chance on these rows. LEEP fits the map from source to target classes on the rows it
        scores, so with few rows per class and many source classes it lies well above
        ``-H(y)``, minus the labels' entropy, even for labels unrelated to the head.
    leep_gain : float or None
        ``1 - leep / leep_chance``, clipped to [0, 1]: 0 when the head's classes say no more
        about the target labels than about shuffled ones, 1 when they determine them.
    proxy_a_distance : float or None
        The proxy A-distance between source and target codes, in [0, 2]; ``None`` without
        source rows.
    layer_scores : dict
        :func:`logme_score` of the target codes of each candidate earlier layer (for
        ``"linear_on_earlier_codes"``, which takes the best one); empty otherwise.
    thresholds : dict
        The thresholds that placed the task: ``small_per_class``, ``min_leep_gain`` and
        ``max_distance``.
    """

    strategy: str
    estimator: object
    size: str
    closeness: str
    reason: str
    rows_per_class: float
    n_classes: int
    closeness_from: str
    source_confidence: float = None
    leep: float = None
    leep_chance: float = None
    leep_gain: float = None
    proxy_a_distance: float = None
    layer_scores: dict = field(default_factory=dict)
    thresholds: dict = field(default_factory=dict)

    @property
    def scenario(self):
        """The scenario, in words: ``"small target, similar to the source"``, say."""
        preposition = "to" if self.closeness == "similar" else "from"
        return f"{self.size} target, {self.closeness} {preposition} the source"

    def _lines(self):
        lines = [
            (
                "rows per class",
                f"{self.rows_per_class:g} (small below {self.thresholds['small_per_class']})",
            ),
            ("classes", f"{self.n_classes}"),
        ]
        if self.source_confidence is not None:
            lines.append(("head confidence", f"{self.source_confidence:.3f}"))
            lines.append(("LEEP", f"{self.leep:.3f} (chance {self.leep_chance:.3f})"))
            lines.append(
                (
                    "LEEP gain",
                    f"{self.leep_gain:.3f} (similar from {self.thresholds['min_leep_gain']})",
                )
            )
        if self.proxy_a_distance is not None:
            lines.append(
                (
                    "proxy A-distance",
                    f"{self.proxy_a_distance:.3f} "
                    f"(similar up to {self.thresholds['max_distance']})",
                )
            )
        for layer, score in self.layer_scores.items():
            lines.append((f"LogME, layer {layer}", f"{score:.4f}"))
        lines.append(("estimator", _one_line(self.estimator)))
        return lines

    def __repr__(self):
        head = (
            f"StrategyRecommendation(strategy={self.strategy!r}, size={self.size!r}, "
            f"closeness={self.closeness!r}, closeness_from={self.closeness_from!r})"
        )
        return text_table(head, self._lines(), tail=[f"  reason: {self.reason}."])

    def _repr_html_(self):
        rows = html_rows(self._lines())
        return (
            f"<table><caption>{html.escape(self.scenario)}: <b>{html.escape(self.strategy)}</b>"
            f"</caption>{rows}<tr><td>reason</td><td>{html.escape(self.reason)}</td></tr></table>"
        )

    def plot(self, ax=None):
        """Place the task among the four scenarios: rows per class against closeness.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Where to draw; a new figure's axes if None.

        Returns
        -------
        ax : matplotlib Axes
            The axes drawn on.
        """
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(5, 4))
        limit = self.thresholds["small_per_class"]
        if self.closeness_from == "source_rows":
            value, threshold, label = (
                self.proxy_a_distance,
                self.thresholds["max_distance"],
                ("proxy A-distance to the source rows"),
            )
            y_range, similar_below = (0.0, 2.0), True
        else:
            value, threshold, label = (
                self.leep_gain,
                self.thresholds["min_leep_gain"],
                ("LEEP gain of the source head"),
            )
            y_range, similar_below = (0.0, 1.0), False
        x_range = (min(1.0, self.rows_per_class / 2), max(10.0 * limit, 2 * self.rows_per_class))
        ax.set_xscale("log")
        ax.set_xlim(*x_range)
        ax.set_ylim(*y_range)
        ax.axvline(limit, color="gray", linestyle="--")
        ax.axhline(threshold, color="gray", linestyle="--")
        for (size, closeness), (strategy, _, _) in _SCENARIOS.items():
            x = np.sqrt(x_range[0] * limit) if size == "small" else np.sqrt(limit * x_range[1])
            similar_low = (closeness == "similar") == similar_below
            y = (y_range[0] + threshold) / 2 if similar_low else (threshold + y_range[1]) / 2
            chosen = strategy == self.strategy
            ax.text(
                x,
                y,
                f"{size}, {closeness}\n{strategy}",
                ha="center",
                va="center",
                fontsize=8,
                color="black" if chosen else "gray",
                fontweight="bold" if chosen else "normal",
            )
        ax.plot([self.rows_per_class], [value], marker="*", markersize=14, color="tab:red")
        ax.set_xlabel("labelled rows per class")
        ax.set_ylabel(label)
        ax.set_title(f"{self.scenario}: {self.strategy}", fontsize=10)
        return ax


def _one_line(estimator):
    return " ".join(repr(estimator).split())


def recommend_strategy(
    X,
    y,
    *,
    backbone="efficientnet_lite0",
    weights="imagenet",
    source=None,
    image_size=None,
    small_per_class=50,
    min_leep_gain=0.25,
    max_distance=1.0,
    earlier_layers=(-2, -3, -4, -5, -6),
    device="cpu",
    batch_size=64,
    random_state=None,
):
    """Recommend a transfer strategy from the target's size and its closeness to the source.

    The notes of Stanford's CS231n course ("Transfer Learning") sort transfer of a pretrained
    network by two questions: is the labelled target set small or large, and is it similar to
    the source data or different from it? This function measures both and answers with one of
    this library's configurations:

    ============  =====================================  ======================================
    target        similar to the source                  different from the source
    ============  =====================================  ======================================
    small         a linear classifier on the CNN codes   a linear classifier on the codes of an
                  of the last layer                      earlier layer (the best by LogME)
    large         fine-tuning the top layers             fine-tuning every layer
    ============  =====================================  ======================================

    *Size* is the median number of labelled rows per class against ``small_per_class``.
    *Closeness*, with source rows given, is their proxy A-distance to the target (Ben-David
    et al., 2007): ``2 (1 - 2 err)`` for the cross-validated balanced error ``err`` of a
    logistic regression that tells source codes from target codes, 0 when it cannot and 2
    when it always can. Without source rows, closeness is read from the backbone's own head
    (its ImageNet classifier, say) on the target rows: how far its LEEP (Nguyen et al., 2020)
    rises above the LEEP of shuffled labels towards 0, ``1 - LEEP / LEEP_chance``. The head's
    mean top-class probability is reported beside it.

    The thresholds are rules of thumb, not measured boundaries; they are parameters so that
    they can be changed, and the report gives the measurements so that a user can judge
    how near to a boundary the task lies. The recommended estimator is a starting point for
    a search (over ``layer``, ``freeze_depth``, the learning rate), and
    :func:`compare_to_baseline` tells whether it beats the target-only model.

    Parameters
    ----------
    X : images or array-like
        The labelled target rows, in any form
        :class:`~sktransfer.feature_extraction.CNNCodeExtractor` takes.
    y : array-like of shape (n_samples,)
        Their class labels; rows with ``y == -1`` (unlabelled) are left out.
    backbone : str, callable or nn.Module class, default="efficientnet_lite0"
        The pretrained network, as :class:`~sktransfer.feature_extraction.CNNCodeExtractor`
        takes it.
    weights : str, file path or None, default="imagenet"
        Its weights.
    source : images or array-like, default=None
        Rows of the source domain, in the same form as ``X`` (unlabelled; a few hundred are
        enough). With them, closeness is their proxy A-distance to ``X``.
    image_size : int, default=None
        Resize images to this size before the network (its own size when None).
    small_per_class : int, default=50
        A target with fewer labelled rows per class (median) than this is small.
    min_leep_gain : float, default=0.25
        Without ``source``, a target is similar to the source when the head's LEEP gain is at
        least this, in [0, 1].
    max_distance : float, default=1.0
        With ``source``, a target is similar to it when the proxy A-distance is at most this,
        in [0, 2].
    earlier_layers : sequence of int or str, default=(-2, -3, -4, -5, -6)
        The layers a small, different target chooses among by :func:`logme_score`.
    device : str, default="cpu"
        Where the network runs.
    batch_size : int, default=64
        Rows per forward pass.
    random_state : int, RandomState instance or None, default=None
        Seeds the label shuffles of LEEP's chance level, the folds of the proxy A-distance
        and the recommended estimator.

    Returns
    -------
    recommendation : StrategyRecommendation
        The measurements, the scenario, the strategy, an unfitted estimator that implements it
        and the reason; it prints, renders as a table in a notebook, and ``plot()`` places the
        task among the four scenarios.

    See Also
    --------
    compare_to_baseline : Whether the transfer beats the target-only model.
    logme_score : Rank layers or networks without training.

    References
    ----------
    .. [1] Stanford CS231n, "Transfer Learning", course notes, https://cs231n.github.io/
       transfer-learning/.
    .. [2] S. Ben-David, J. Blitzer, K. Crammer and F. Pereira, "Analysis of Representations
       for Domain Adaptation", NeurIPS 2007.
    .. [3] C. V. Nguyen, T. Hassner, M. Seeger and C. Archambeau, "LEEP: A New Measure to
       Evaluate Transferability of Learned Representations", ICML 2020.
    .. [4] J. Yosinski, J. Clune, Y. Bengio and H. Lipson, "How transferable are features in
       deep neural networks?", NeurIPS 2014.

    Examples
    --------
    >>> import numpy as np
    >>> from sktransfer.model_selection import recommend_strategy
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(40, 6)).astype(np.float32)
    >>> y = np.arange(40) % 2
    >>> source = rng.normal(size=(40, 6)).astype(np.float32)
    >>> advice = recommend_strategy(X, y, backbone="toy_mlp", weights=None,
    ...                             source=source, random_state=0)
    >>> advice.size, advice.closeness, advice.strategy
    ('small', 'similar', 'linear_on_codes')
    """
    validate_parameter_constraints(
        {
            "small_per_class": [Integers(1, None, closed="left")],
            "min_leep_gain": [Interval(Real, 0, 1, closed="both")],
            "max_distance": [Interval(Real, 0, 2, closed="both")],
            "earlier_layers": ["array-like"],
            "device": [str],
            "batch_size": [Integers(1, None, closed="left")],
            "random_state": ["random_state"],
        },
        {
            "small_per_class": small_per_class,
            "min_leep_gain": min_leep_gain,
            "max_distance": max_distance,
            "earlier_layers": earlier_layers,
            "device": device,
            "batch_size": batch_size,
            "random_state": random_state,
        },
        caller_name="recommend_strategy",
    )
    if len(earlier_layers) == 0:
        raise ValueError("earlier_layers must name at least one layer.")
    y, labelled = _labelled_rows(y, _n_rows(X, "X"))
    if not labelled.all():
        X = _safe_indexing(X, np.flatnonzero(labelled))
    # Warns once of classes of one row.
    classes, encoded = _check_labels(y, len(y), n_unlabelled=np.sum(~labelled))
    counts = np.bincount(encoded)
    rows_per_class = float(np.median(counts))
    size = "small" if rows_per_class < small_per_class else "large"

    from ..feature_extraction import CNNCodeExtractor

    extractor = CNNCodeExtractor(
        backbone,
        weights,
        layer=-1,
        image_size=image_size,
        batch_size=batch_size,
        device=device,
        random_state=random_state,
    ).fit(X[:1])
    codes = extractor.transform(X)
    measured = {}
    head = extractor.backbone_.head
    if head is not None:
        logits = _source_logits(head, codes)
        proba = softmax(logits.astype(np.float64), axis=1)
        rng = check_random_state(random_state)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", _SingleRowClassWarning)
            leep = leep_score(proba, encoded)
            chance = np.mean(
                [leep_score(proba, rng.permutation(encoded)) for _ in range(_N_SHUFFLES)]
            )
        measured.update(
            source_confidence=float(proba.max(axis=1).mean()),
            leep=leep,
            leep_chance=float(chance),
            # Shuffled labels as well predicted as can be (chance = 0) leave nothing to gain.
            leep_gain=float(np.clip(1 - leep / chance, 0, 1)) if chance < 0 else 0.0,
        )
    if source is not None:
        _n_rows(source, "source")
        distance = _proxy_a_distance(codes, extractor.transform(source), random_state)
        measured["proxy_a_distance"] = distance
        closeness_from = "source_rows"
        closeness = "similar" if distance <= max_distance else "different"
    elif head is not None:
        closeness_from = "source_head"
        closeness = "similar" if measured["leep_gain"] >= min_leep_gain else "different"
    else:
        raise ValueError(
            "The backbone has no head to measure closeness to its source with: pass source "
            "rows (source=...) for a proxy A-distance."
        )

    strategy, _, reason = _SCENARIOS[size, closeness]
    layer_scores = {}
    if strategy == "linear_on_earlier_codes":
        for layer in _earlier_layers(extractor.backbone_, earlier_layers):
            layer_codes = extractor.set_params(layer=layer).fit(X[:1]).transform(X)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", _SingleRowClassWarning)
                layer_scores[layer] = logme_score(layer_codes, encoded)
    estimator = _estimator(strategy, extractor.set_params(layer=-1), layer_scores, random_state)
    return StrategyRecommendation(
        strategy=strategy,
        estimator=estimator,
        size=size,
        closeness=closeness,
        reason=reason,
        rows_per_class=rows_per_class,
        n_classes=int(classes.size),
        closeness_from=closeness_from,
        layer_scores=layer_scores,
        thresholds={
            "small_per_class": small_per_class,
            "min_leep_gain": min_leep_gain,
            "max_distance": max_distance,
        },
        **measured,
    )


def _source_logits(head, codes):
    """The source head's logits for ``codes``, as a NumPy array.

    The head runs where ``transform`` left the backbone: on its device (a GPU), not the CPU.
    """
    with torch.inference_mode():
        inputs = torch.as_tensor(codes, dtype=torch.float32, device=module_device(head))
        return head(inputs).cpu().numpy()


def _earlier_layers(backbone, layers):
    """The layers of ``layers`` that the backbone has before its last, each named once."""
    last = backbone.layer_names[-1]
    kept, names = [], set()
    for layer in layers:
        try:
            name = backbone.resolve_layer(layer)
        except (ValueError, TypeError, IndexError):
            continue
        if name != last and name not in names:
            kept.append(layer)
            names.add(name)
    if not kept:
        raise ValueError(
            f"earlier_layers must name a layer before the last of the backbone "
            f"{backbone.layer_names}; got {list(layers)}."
        )
    return kept


def _n_rows(X, name):
    if isinstance(X, (str, bytes)) or not hasattr(X, "__len__"):
        raise TypeError(f"{name} must be images or an array of rows; got {type(X).__name__}.")
    if len(X) < 2:
        raise ValueError(f"{name} must have at least 2 rows; got {len(X)}.")
    return len(X)


def _proxy_a_distance(target_codes, source_codes, random_state):
    """The library's proxy A-distance, on as many folds (up to 5) as the rows allow."""
    from ..domain_adaptation import proxy_a_distance

    n_splits = int(min(5, len(target_codes), len(source_codes)))
    if n_splits < 2:
        raise ValueError("source and X need at least 2 rows each for a proxy A-distance.")
    return proxy_a_distance(source_codes, target_codes, cv=n_splits, random_state=random_state)


def _estimator(strategy, extractor, layer_scores, random_state):
    """An unfitted estimator of this library that implements ``strategy``."""
    from ..feature_extraction import CNNCodeExtractor
    from ..fine_tuning import FineTuneClassifier

    params = {
        "backbone": extractor.backbone,
        "weights": extractor.weights,
        "image_size": extractor.image_size,
        "random_state": random_state,
    }
    if strategy in ("linear_on_codes", "linear_on_earlier_codes"):
        layer = max(layer_scores, key=layer_scores.get) if layer_scores else -1
        return make_pipeline(
            CNNCodeExtractor(**params, layer=layer), LogisticRegression(max_iter=1000)
        )
    if strategy == "fine_tune_all":
        return FineTuneClassifier(**params, freeze_depth=0)
    # The top quarter of the layers (at least one) trains; the rest stays frozen.
    n_layers = len(extractor.backbone_.layer_names)
    return FineTuneClassifier(**params, freeze_depth=n_layers - max(1, n_layers // 4))
