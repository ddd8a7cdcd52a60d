"""recommend_strategy: the four scenarios of the CS231n notes, on constructed tasks."""

import numpy as np
import pytest
import torch
from sklearn.pipeline import Pipeline

from sktransfer.backbones._toy import toy_mlp
from sktransfer.feature_extraction import CNNCodeExtractor
from sktransfer.fine_tuning import FineTuneClassifier
from sktransfer.model_selection import StrategyRecommendation, recommend_strategy

pytestmark = pytest.mark.usefixtures("one_torch_thread")

TOY = {"backbone": "toy_mlp", "weights": None, "random_state": 0}


def _target(per_class, seed=0, n_classes=3, d=6):
    """``per_class`` rows of each class: Gaussian blobs around seeded centres."""
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(n_classes), per_class)
    centres = 2 * rng.normal(size=(n_classes, d))
    return (centres[y] + rng.normal(size=(y.size, d))).astype(np.float32), y


def _source(X, shift, seed=1):
    """Unlabelled source rows: the target's distribution, moved by ``shift`` in every feature."""
    rng = np.random.default_rng(seed)
    rows = X[rng.choice(len(X), size=min(len(X), 150), replace=False)]
    return rows + rng.normal(scale=0.1, size=rows.shape).astype(np.float32) + shift


@pytest.mark.parametrize(
    "per_class, shift, size, closeness, strategy",
    [
        (10, 0.0, "small", "similar", "linear_on_codes"),
        (10, 4.0, "small", "different", "linear_on_earlier_codes"),
        (100, 0.0, "large", "similar", "fine_tune_top"),
        (100, 4.0, "large", "different", "fine_tune_all"),
    ],
)
def test_the_four_scenarios_with_source_rows(per_class, shift, size, closeness, strategy):
    X, y = _target(per_class)
    advice = recommend_strategy(X, y, source=_source(X, shift), **TOY)
    assert (advice.size, advice.closeness, advice.strategy) == (size, closeness, strategy)
    assert advice.closeness_from == "source_rows"
    assert advice.rows_per_class == per_class
    if closeness == "similar":
        assert advice.proxy_a_distance <= 1.0
    else:
        assert advice.proxy_a_distance > 1.0


def test_each_strategy_is_a_configured_estimator_of_the_library():
    X, y = _target(10)
    codes = recommend_strategy(X, y, source=_source(X, 0.0), **TOY).estimator
    assert isinstance(codes, Pipeline) and isinstance(codes[0], CNNCodeExtractor)
    assert codes[0].get_params()["layer"] == -1 and codes[0].backbone == "toy_mlp"
    earlier = recommend_strategy(X, y, source=_source(X, 4.0), **TOY)
    assert list(earlier.layer_scores) == [-2]  # toy_mlp has two layers: fc1 comes before fc2
    assert earlier.estimator[0].layer == -2
    # The recommended pipeline fits and predicts as it is.
    assert earlier.estimator.fit(X, y).score(X, y) > 0.9
    X, y = _target(100)
    top = recommend_strategy(X, y, source=_source(X, 0.0), **TOY).estimator
    everything = recommend_strategy(X, y, source=_source(X, 4.0), **TOY).estimator
    assert isinstance(top, FineTuneClassifier) and isinstance(everything, FineTuneClassifier)
    assert top.freeze_depth == 1  # fc1 frozen, fc2 and the head trained
    assert everything.freeze_depth == 0


def confident_mlp():
    """The toy network, its head's weights enlarged: a source model sure of its classes."""
    backbone = toy_mlp(6)
    with torch.no_grad():
        backbone.head.weight.mul_(30)
    return backbone


CONFIDENT = {**TOY, "backbone": confident_mlp}


def _head_labels(X):
    """What the confident toy network's own (source) head predicts for each row."""
    extractor = CNNCodeExtractor(**CONFIDENT).fit(X)
    with torch.inference_mode():
        logits = extractor.backbone_.head(torch.from_numpy(extractor.transform(X)))
    return logits.numpy().argmax(axis=1)


@pytest.mark.parametrize("per_class, size", [(10, "small"), (100, "large")])
def test_without_source_rows_the_heads_leep_decides(per_class, size):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(3000, 6)).astype(np.float32)
    head = _head_labels(X)
    # A target whose classes are the source head's own (close), or drawn independently of
    # the rows (far), with the same number of rows per class.
    classes = np.unique(head)[:3]
    close = np.concatenate([np.flatnonzero(head == c)[:per_class] for c in classes])
    assert close.size == 3 * per_class
    advice = recommend_strategy(X[close], head[close], **CONFIDENT)
    assert advice.closeness_from == "source_head"
    assert (advice.size, advice.closeness) == (size, "similar")
    assert advice.leep_gain > 0.25
    far_labels = np.repeat(np.arange(3), per_class)
    advice = recommend_strategy(X[close], rng.permutation(far_labels), **CONFIDENT)
    assert (advice.size, advice.closeness) == (size, "different")
    assert advice.leep_gain < 0.25
    assert 0 < advice.source_confidence <= 1


def test_the_source_head_runs_on_the_device_transform_left_it_on(monkeypatch):
    # device="cuda" leaves the backbone on the GPU after transform; 'meta' stands in for it,
    # and a hook hands back host logits for the head's meta ones.
    inputs_on = []

    def host_logits(head, inputs, logits):
        inputs_on.append(inputs[0].device.type)
        return torch.zeros(logits.shape)

    transform = CNNCodeExtractor.transform

    def transform_leaving_the_backbone_on_meta(self, X):
        codes = transform(self, X)
        self.backbone_.to("meta").head.register_forward_hook(host_logits)
        return codes

    monkeypatch.setattr(CNNCodeExtractor, "transform", transform_leaving_the_backbone_on_meta)
    X, y = _target(10)
    advice = recommend_strategy(X, y, **TOY)
    assert inputs_on == ["meta"]
    assert advice.closeness_from == "source_head"


def test_thresholds_are_parameters():
    X, y = _target(10)
    source = _source(X, 0.0)
    assert recommend_strategy(X, y, source=source, small_per_class=5, **TOY).size == "large"
    strict = recommend_strategy(X, y, source=source, max_distance=0.0, **TOY)
    assert strict.closeness == ("similar" if strict.proxy_a_distance == 0 else "different")
    loose = recommend_strategy(X, y, min_leep_gain=0.0, **TOY)
    assert loose.closeness == "similar"


def test_report_reads_and_plots():
    X, y = _target(10)
    advice = recommend_strategy(X, y, source=_source(X, 4.0), **TOY)
    assert isinstance(advice, StrategyRecommendation)
    assert advice.scenario == "small target, different from the source"
    text = repr(advice)
    assert text.startswith("StrategyRecommendation(strategy='linear_on_earlier_codes'")
    assert "proxy A-distance" in text and "reason:" in text and "LogME, layer -2" in text
    page = advice._repr_html_()
    assert "<table>" in page and "linear_on_earlier_codes" in page
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ax = advice.plot()
    assert len(ax.texts) == 4  # one label per scenario
    (star,) = ax.lines[-1:]
    assert star.get_xdata()[0] == 10 and star.get_ydata()[0] == advice.proxy_a_distance
    plt.close(ax.figure)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"y": [0, 1, 0]}, ValueError, "y has 3 labels"),
        ({"y": np.zeros(30)}, ValueError, "at least 2 classes"),
        ({"small_per_class": 0}, ValueError, "small_per_class"),
        ({"min_leep_gain": 1.5}, ValueError, "min_leep_gain"),
        ({"max_distance": 3}, ValueError, "max_distance"),
        ({"earlier_layers": []}, ValueError, "earlier_layers"),
        ({"batch_size": 0}, ValueError, "batch_size"),
        ({"source": np.zeros((1, 6), dtype=np.float32)}, ValueError, "source must have"),
        ({"X": "images/"}, TypeError, "X must be images"),
    ],
)
def test_invalid_input_raises_naming_the_parameter(kwargs, error, match):
    X, y = _target(10)
    arguments = {"X": X, "y": y, **TOY, **kwargs}
    with pytest.raises(error, match=match):
        recommend_strategy(arguments.pop("X"), arguments.pop("y"), **arguments)


def test_earlier_layers_must_name_a_layer_before_the_last():
    X, y = _target(10)
    with pytest.raises(ValueError, match="earlier_layers must name a layer before the last"):
        recommend_strategy(X, y, source=_source(X, 4.0), earlier_layers=[-1, 5], **TOY)


def test_unlabelled_rows_are_left_out_not_counted_as_a_class():
    X, y = _target(10)
    extra, _ = _target(40, seed=5)
    with_unlabelled = np.r_[y, np.full(len(extra), -1)]
    advice = recommend_strategy(np.r_[X, extra], with_unlabelled, source=_source(X, 0.0), **TOY)
    alone = recommend_strategy(X, y, source=_source(X, 0.0), **TOY)
    assert (advice.n_classes, advice.rows_per_class) == (3, 10)
    assert advice.proxy_a_distance == alone.proxy_a_distance
    # Before: the message did not say that the -1 rows were left out.
    n_left_out = len(X) - 1
    with pytest.raises(
        ValueError,
        match=rf"y must hold at least 2 classes; got 1 \({n_left_out} rows with y == -1 were left "
        "out as unlabelled",
    ):
        recommend_strategy(X, np.r_[0, np.full(n_left_out, -1)], **TOY)


def test_classes_of_one_labelled_row_are_warned_of_once():
    """Before: advice from three rows, one of them a class alone, without a word."""
    X, y = _target(2)
    y = y.copy()
    y[-1] = 3  # the last row becomes a class of its own
    with pytest.warns(UserWarning, match=r"one labelled row in 2 of its 4 classes") as record:
        recommend_strategy(X, y, **TOY)
    assert len(record) == 1
