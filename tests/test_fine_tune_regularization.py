"""Conservative fine-tuning (L2-SP, LwF), and fine-tuning against frozen features."""

import copy
import pickle

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits

from sktransfer.backbones._toy import toy_cnn
from sktransfer.fine_tuning import FineTuneClassifier
from sktransfer.utils._images import check_images

_DIGITS = load_digits()
IMAGES = (_DIGITS.images / 16).astype(np.float32)
LABELS = _DIGITS.target
# The source task: is the digit below 5? Its features need not tell the ten digits apart.
SOURCE = slice(600, 1000)
TARGET = slice(0, 300)
TEST = slice(1400, None)


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _toy_cnn(**params):
    params = {"max_epochs": 2, "lr": 1e-2, "random_state": 0, "device": "cpu", **params}
    return FineTuneClassifier(**params)


@pytest.fixture(scope="module")
def pretrained():
    """A toy ConvNet trained on the binary source task, its head the source task's."""
    with torch.random.fork_rng():
        torch.manual_seed(0)
        backbone = toy_cnn(in_channels=1)
    source = _toy_cnn(backbone=backbone, lr_decay=1.0, max_epochs=8, batch_size=16)
    source.fit(IMAGES[SOURCE], (LABELS[SOURCE] < 5).astype(int))
    trained = source.net_.module_
    for index, name in enumerate(backbone.layer_names):
        backbone.layer(name).load_state_dict(trained.layers[index].state_dict())
    backbone.model.fc = copy.deepcopy(trained.head)
    return backbone


def _trained_layers(clf, backbone):
    """Pairs (fine-tuned, pretrained) of every parameter of the trainable layers."""
    module = clf.net_.module_
    n_frozen = len(clf.frozen_layers_)
    for index, layer in enumerate(module.layers):
        start = backbone.layer(n_frozen + index)
        for (name, value), (_, before) in zip(
            layer.named_parameters(), start.named_parameters(), strict=True
        ):
            yield name, value.detach(), before.detach()


def _distance(clf, backbone):
    return (
        sum(
            float((value - before).pow(2).sum())
            for _, value, before in _trained_layers(clf, backbone)
        )
        ** 0.5
    )


def test_l2sp_keeps_the_weights_near_the_pretrained_ones(pretrained):
    X, y = IMAGES[TARGET], LABELS[TARGET]
    params = {"backbone": pretrained, "lr_decay": 1.0, "max_epochs": 4, "batch_size": 16}
    plain = _toy_cnn(**params).fit(X, y)
    l2sp = _toy_cnn(**params, regularization="l2sp", regularization_strength=100.0).fit(X, y)

    moved, kept = _distance(plain, pretrained), _distance(l2sp, pretrained)
    # Measured: 12.1 against 0.007.
    assert moved > 1.0
    assert kept < 0.05 * moved
    # Decay towards zero would fight the pull towards the start: the optimizer has none.
    assert all(group["weight_decay"] == 0 for group in l2sp.net_.optimizer_.param_groups)


def test_l2sp_penalty_is_half_alpha_squared_distance_plus_half_beta_head_norm(pretrained):
    clf = _toy_cnn(
        backbone=pretrained,
        freeze_depth=1,
        regularization="l2sp",
        regularization_strength=0.3,
        head_weight_decay=0.05,
    ).fit(IMAGES[:64], LABELS[:64])
    module = clf.net_.module_
    drift = sum(
        float((value - before).pow(2).sum())
        for _, value, before in _trained_layers(clf, pretrained)
    )
    head = sum(float(p.detach().pow(2).sum()) for p in module.head.parameters())
    with torch.no_grad():
        penalty = float(module.regularizer(module, None))
    assert penalty == pytest.approx(0.3 / 2 * drift + 0.05 / 2 * head, rel=1e-4)
    assert module.regularizer.pretrained == [
        "layers.0.0.weight", "layers.0.1.weight", "layers.0.1.bias",
        "layers.1.0.weight", "layers.1.1.weight", "layers.1.1.bias",
    ]  # fmt: skip
    assert module.regularizer.new == ["head.weight", "head.bias"]


def _source_outputs(clf, original, images):
    """The fine-tuned network's answer to the source task, as log-probabilities.

    With LwF its own (trained) source head; otherwise the original head on the fine-tuned
    features, the best the plain run can offer.
    """
    inputs = clf.prefix_.encode(
        check_images(images, channels=1), batch_size=64, device=torch.device("cpu")
    )
    module = clf.net_.module_
    with torch.no_grad():
        features = module.features(torch.as_tensor(inputs))
        head = module.source_head if module.source_head is not None else original.head
        return torch.log_softmax(head(features), dim=1)


def _kept(clf, original, images):
    """Mean KL divergence from the original network's source outputs to the fine-tuned ones."""
    batch = check_images(images, channels=1)
    prepared = clf.prefix_.encode(batch, batch_size=64, device=torch.device("cpu"))
    before = copy.deepcopy(original).eval()
    with torch.no_grad():
        # The toy prefix is empty here (freeze_depth=0): prepared images go in directly.
        target = torch.log_softmax(before(torch.as_tensor(prepared)), dim=1)
    now = _source_outputs(clf, original, images)
    return float(torch.nn.functional.kl_div(now, target, log_target=True, reduction="batchmean"))


def test_lwf_keeps_the_source_outputs_closer_than_plain_fine_tuning(pretrained):
    X, y = IMAGES[TARGET], LABELS[TARGET]
    params = {"backbone": pretrained, "lr": 1e-2, "lr_decay": 1.0, "max_epochs": 6}
    plain = _toy_cnn(**params, batch_size=16).fit(X, y)
    lwf = _toy_cnn(**params, batch_size=16, regularization="lwf").fit(X, y)

    held_out = IMAGES[TEST][:200]
    forgotten, kept = _kept(plain, pretrained, held_out), _kept(lwf, pretrained, held_out)
    # Measured: 2.38 against 0.011.
    assert forgotten > 0.5
    assert kept < 0.05 * forgotten


def test_lwf_records_the_source_outputs_once_on_the_cached_path(pretrained):
    clf = _toy_cnn(backbone=pretrained, freeze_depth=1, regularization="lwf")
    clf.fit(IMAGES[:64], LABELS[:64])
    module = clf.net_.module_
    # The frozen copy holds the original last layers and head; the trained ones have moved.
    original = dict(pretrained.model.named_parameters())
    copied = dict(module.source.module.named_parameters())
    assert torch.equal(copied["0.0.weight"], original["block2.0.weight"])
    assert torch.equal(copied["3.weight"], original["fc.weight"])
    assert not torch.equal(module.source_head.weight, original["fc.weight"])
    assert not any(p.requires_grad for p in module.source.parameters())


# bfloat16 (the "auto" precision on CUDA) runs the cached frozen prefix in 8-bit mantissas:
# the paths then agree to about 2e-3 (measured on the CPU with precision="bfloat16").
@pytest.mark.parametrize("precision, atol", [("float32", 1e-6), ("bfloat16", 1e-2)])
def test_lwf_cached_and_whole_network_paths_agree(pretrained, precision, atol):
    params = {
        "backbone": pretrained,
        "freeze_depth": 1,
        "regularization": "lwf",
        "precision": precision,
    }
    cached = _toy_cnn(**params).fit(IMAGES[:96], LABELS[:96])
    whole = _toy_cnn(**params)
    whole._cache_frozen_prefix = False
    whole.fit(IMAGES[:96], LABELS[:96])
    np.testing.assert_allclose(
        cached.predict_proba(IMAGES[96:160]), whole.predict_proba(IMAGES[96:160]), atol=atol
    )


@pytest.mark.parametrize("regularization", ["l2sp", "lwf"])
def test_regularized_model_pickles_with_its_reference(pretrained, regularization):
    clf = _toy_cnn(backbone=pretrained, freeze_depth=1, regularization=regularization)
    clf.fit(IMAGES[:48], LABELS[:48])
    loaded = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(
        loaded.predict_proba(IMAGES[48:80]), clf.predict_proba(IMAGES[48:80])
    )
    before = clf.net_.module_.state_dict()
    after = loaded.net_.module_.state_dict()
    reference = [key for key in before if key.startswith(("regularizer.", "source."))]
    assert reference
    assert all(torch.equal(before[key], after[key]) for key in reference)


def test_fine_tuning_beats_frozen_features_when_the_task_needs_adaptation(pretrained):
    # The source task only asks "below 5?": its last features do not separate ten digits, so a
    # new head on them (the fixed-feature-extractor scenario) stays poor, and adapting the
    # layers pays off.
    X, y = IMAGES[TARGET], LABELS[TARGET]
    frozen = _toy_cnn(backbone=pretrained, freeze_depth="all", lr=5e-2, max_epochs=20)
    frozen.fit(X, y)
    tuned = _toy_cnn(backbone=pretrained, lr=2e-2, lr_decay=0.5, max_epochs=6, batch_size=16)
    tuned.fit(X, y)
    frozen_score = frozen.score(IMAGES[TEST], LABELS[TEST])
    tuned_score = tuned.score(IMAGES[TEST], LABELS[TEST])
    # Measured over random_state 0-3: 0.61-0.72 against 0.17-0.28.
    assert tuned_score > frozen_score + 0.2, (tuned_score, frozen_score)


def test_lwf_warm_start_records_with_the_frozen_copy(pretrained):
    clf = _toy_cnn(backbone=pretrained, freeze_depth=1, regularization="lwf", warm_start=True)
    clf.fit(IMAGES[:48], LABELS[:48])
    copy_before = {k: v.clone() for k, v in clf.net_.module_.source.state_dict().items()}
    head_before = clf.net_.module_.source_head.weight.detach().clone()
    clf.fit(IMAGES[48:96], LABELS[48:96])
    module = clf.net_.module_
    assert len(clf.net_.history) == 4
    assert all(torch.equal(v, copy_before[k]) for k, v in module.source.state_dict().items())
    assert not torch.equal(module.source_head.weight, head_before)
