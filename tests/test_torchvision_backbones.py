"""torchvision models as backbones: every model's layers rebuild its output; weights handling."""

import pickle
import urllib.error

import pytest
import torch
from torch import nn
from torchvision import models as tvm

from sktransfer.backbones import Backbone, load_backbone
from sktransfer.backbones._torchvision import (
    WeightsDownloadError,
    _file_kwargs,
    _preprocessing,
    _resolve_weights,
    from_module,
    torchvision_backbone,
    torchvision_names,
)

# Models whose test takes over ~1.2 s on one CPU thread, except the smallest of each family:
# the random initialisation of up to 645M parameters, and forward passes at 224 px or more for
# the large ViTs and Swins.
_SLOW = {
    "convnext_base",
    "convnext_large",
    "convnext_small",
    "densenet161",
    "efficientnet_b5",
    "efficientnet_b6",
    "efficientnet_b7",
    "efficientnet_v2_l",
    "efficientnet_v2_m",
    "regnet_x_16gf",
    "regnet_x_32gf",
    "regnet_x_8gf",
    "regnet_y_128gf",
    "regnet_y_16gf",
    "regnet_y_32gf",
    "regnet_y_8gf",
    "resnet101",
    "resnet152",
    "resnext101_32x8d",
    "resnext101_64x4d",
    "swin_b",
    "swin_s",
    "swin_v2_b",
    "swin_v2_s",
    "vgg11_bn",
    "vgg13",
    "vgg13_bn",
    "vgg16",
    "vgg16_bn",
    "vgg19",
    "vgg19_bn",
    "vit_b_16",
    "vit_h_14",
    "vit_l_16",
    "vit_l_32",
    "wide_resnet101_2",
    "wide_resnet50_2",
}


def _numbered(prefix, n):
    return [f"{prefix}.{index}" for index in range(n)]


# Layer names and head of one model per family, as documented in `from_module`.
_LAYOUTS = {
    "resnet18": (["conv1", "layer1", "layer2", "layer3", "layer4"], "fc"),
    "regnet_x_400mf": (["stem", *(f"trunk_output.block{i}" for i in (1, 2, 3, 4))], "fc"),
    "vgg11": (
        [*(f"features.{i}" for i in (0, 2, 3, 5, 6, 8, 10, 11, 13, 15, 16, 18, 20)), "avgpool"]
        + ["classifier.0", "classifier.3"],
        "classifier.6",
    ),
    "alexnet": (
        [*(f"features.{i}" for i in (0, 2, 3, 5, 6, 8, 10, 12)), "avgpool"]
        + ["classifier.1", "classifier.4"],
        "classifier.6",
    ),
    "mobilenet_v2": (_numbered("features", 19), "classifier.1"),
    "mobilenet_v3_small": (
        [*_numbered("features", 13), "avgpool", "classifier.0"],
        "classifier.3",
    ),
    "efficientnet_b0": (_numbered("features", 9), "classifier.1"),
    "mnasnet0_5": ([f"layers.{i}" for i in (0, 3, 6, 8, 9, 10, 11, 12, 13, 14)], "classifier.1"),
    "convnext_tiny": ([*_numbered("features", 8), "avgpool"], "classifier.2"),
    "densenet121": (
        ["features.conv0"]
        + [f"features.{kind}{i}" for i in (1, 2, 3) for kind in ("denseblock", "transition")]
        + ["features.denseblock4"],
        "classifier",
    ),
    "squeezenet1_1": (["features.0", *_numbered("features", 13)[2:]], "classifier"),
    "shufflenet_v2_x0_5": (["conv1", "stage2", "stage3", "stage4", "conv5"], "fc"),
    "googlenet": (
        "conv1 maxpool1 conv2 conv3 maxpool2 inception3a inception3b maxpool3 inception4a "
        "inception4b inception4c inception4d inception4e maxpool4 inception5a inception5b".split(),
        "fc",
    ),
    "inception_v3": (
        "Conv2d_1a_3x3 Conv2d_2a_3x3 Conv2d_2b_3x3 maxpool1 Conv2d_3b_1x1 Conv2d_4a_3x3 "
        "maxpool2 Mixed_5b Mixed_5c Mixed_5d Mixed_6a Mixed_6b Mixed_6c Mixed_6d Mixed_6e "
        "Mixed_7a Mixed_7b Mixed_7c".split(),
        "fc",
    ),
    "vit_b_32": (
        ["conv_proj"] + [f"encoder.layers.encoder_layer_{i}" for i in range(12)] + ["encoder.ln"],
        "heads.head",
    ),
    "swin_t": ([*_numbered("features", 8), "norm"], "head"),
    "maxvit_t": (
        ["stem", *_numbered("blocks", 4), "classifier.0", "classifier.3"],
        "classifier.5",
    ),
}


def _names():
    return [
        pytest.param(name, marks=pytest.mark.slow) if name in _SLOW else name
        for name in torchvision_names()
    ]


def _input_size(backbone, name):
    """The smallest input the model accepts (ViTs accept one size only), at least 32 px."""
    if isinstance(backbone.model, tvm.VisionTransformer):
        return backbone.model.image_size
    return max(32, tvm.get_model_weights(name).DEFAULT.meta["min_size"][0])


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture
def offline(monkeypatch, tmp_path):
    """An empty torch hub cache in ``tmp_path`` and a download that fails as without network.

    torchvision imports ``load_state_dict_from_url`` by name, so patching it in ``torch.hub``
    would not reach torchvision; the download itself is patched instead.
    """

    def no_network(url, *args, **kwargs):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    monkeypatch.setattr(torch.hub, "download_url_to_file", no_network)
    return tmp_path / "hub" / "checkpoints"


@pytest.mark.parametrize("name", _names())
def test_layers_rebuild_the_model(name):
    torch.manual_seed(0)
    backbone = torchvision_backbone(name).eval()
    model = backbone.model
    size = _input_size(backbone, name)
    x = torch.randn(2, 3, size, size)
    with torch.inference_mode():
        expected = model(x)
        scale = expected.abs().max().item()
        torch.testing.assert_close(backbone(x), expected, atol=1e-4 * scale, rtol=1e-4)
        # Each layer run on its own, from the previous one's output, rebuilds the network.
        outputs = []
        for layer in backbone.layer_names:
            start = outputs[-1] if outputs else x
            outputs.append(backbone.features(start, start=layer, stop=layer))
        # From the input up to a given layer; the second is enough, and cheap.
        second = backbone.layer_names[1]
        torch.testing.assert_close(backbone.features(x, stop=second), outputs[1])
        torch.testing.assert_close(backbone.head(backbone.pool(outputs[-1])), expected)

    if isinstance(model, (tvm.VGG, tvm.AlexNet)):  # codes taken after the ReLUs, fc7 included
        assert all((output >= 0).all() for output in outputs)
    if name in _LAYOUTS:
        assert (backbone.layer_names, backbone.head_name) == _LAYOUTS[name]
    names = backbone.layer_names
    assert len(set(names)) == len(names) > 1
    for layer in names:  # each layer is named after a submodule of the model it holds
        target = model.get_submodule(layer)
        assert any(module is target for module in backbone.layer(layer).modules())
    assert list(backbone.state_dict()) == ["model." + key for key in model.state_dict()]
    assert backbone.input_kind == "image" and backbone.in_channels == 3
    if isinstance(model, tvm.VisionTransformer):
        assert backbone.preprocessing.size == model.image_size
    else:
        default = tvm.get_model_weights(name).DEFAULT.transforms()
        assert backbone.preprocessing.size == default.crop_size[0]


def test_names_are_torchvision_classification_models():
    names = torchvision_names()
    assert names == tvm.list_models(module=tvm)
    names.clear()
    assert "resnet18" in torchvision_names()


def test_preprocessing_is_that_of_the_default_weights():
    backbone = torchvision_backbone("resnet50")
    # IMAGENET1K_V2's metadata, read without any download.
    assert (backbone.preprocessing.size, backbone.preprocessing.resize_size) == (224, 232)
    assert backbone.preprocessing.mean == pytest.approx((0.485, 0.456, 0.406))
    assert backbone.preprocessing.std == pytest.approx((0.229, 0.224, 0.225))
    assert torchvision_backbone("efficientnet_b0").preprocessing.interpolation == "bicubic"
    assert backbone.pool(torch.ones(2, 2048, 3, 3)).shape == (2, 2048)


def test_transform_input_is_honoured():
    torch.manual_seed(0)
    model = tvm.googlenet(transform_input=True, init_weights=False).eval()
    backbone = from_module(model)
    x = torch.rand(2, 3, 32, 32)
    with torch.inference_mode():
        torch.testing.assert_close(backbone(x), model(x))
        first = backbone.features(x, stop="conv1")
        torch.testing.assert_close(first, model.conv1(model._transform_input(x)))
        assert not torch.allclose(first, model.conv1(x))


def _tiny_vit(image_size=32):
    return tvm.VisionTransformer(
        image_size=image_size, patch_size=16, num_layers=2, num_heads=2, hidden_dim=8, mlp_dim=16
    )


def test_vit_layers_and_pickling():
    torch.manual_seed(0)
    backbone = from_module(_tiny_vit()).eval()
    assert backbone.layer_names == [
        "conv_proj",
        "encoder.layers.encoder_layer_0",
        "encoder.layers.encoder_layer_1",
        "encoder.ln",
    ]
    assert backbone.head_name == "heads.head"
    assert backbone.preprocessing.size == 32
    x = torch.randn(2, 3, 32, 32)
    loaded = pickle.loads(pickle.dumps(backbone))
    with torch.inference_mode():
        assert backbone.features(x, stop="conv_proj").shape == (2, 5, 8)  # class token + 4
        assert backbone.features(x).shape == (2, 5, 8)
        torch.testing.assert_close(loaded(x), backbone(x))
    # The reloaded embedding layer reads the reloaded model's class token.
    with torch.no_grad():
        loaded.model.class_token.zero_()
        position = loaded.model.encoder.pos_embedding[:, 0]
        torch.testing.assert_close(
            loaded.features(x, stop="conv_proj")[:, 0], position.expand(2, -1)
        )


def test_vit_pre_logits_are_a_layer():
    model = tvm.VisionTransformer(
        image_size=32,
        patch_size=16,
        num_layers=1,
        num_heads=1,
        hidden_dim=4,
        mlp_dim=4,
        representation_size=6,
    ).eval()
    backbone = from_module(model)
    assert backbone.layer_names[-2:] == ["encoder.ln", "heads.pre_logits"]
    assert list(backbone.state_dict()) == ["model." + key for key in model.state_dict()]
    x = torch.randn(2, 3, 32, 32)
    with torch.inference_mode():
        assert backbone.features(x).shape == (2, 6)
        torch.testing.assert_close(backbone(x), model(x))


def test_user_torchvision_model_through_load_backbone():
    backbone = load_backbone(lambda: tvm.resnet18(num_classes=3))
    assert backbone.layer_names == ["conv1", "layer1", "layer2", "layer3", "layer4"]
    assert backbone.head.out_features == 3
    assert backbone.preprocessing.size == 224


def test_swin_layers_return_channels_first_maps():
    torch.manual_seed(0)
    model = tvm.SwinTransformer(
        patch_size=[4, 4], embed_dim=8, depths=[1, 1], num_heads=[1, 1], window_size=[2, 2]
    ).eval()
    backbone = from_module(model)
    assert backbone.layer_names == ["features.0", "features.1", "features.2", "features.3", "norm"]
    x = torch.randn(2, 3, 32, 32)
    with torch.inference_mode():
        assert backbone.features(x, stop="features.1").shape == (2, 8, 8, 8)
        assert backbone.features(x).shape == (2, 16, 4, 4)
        torch.testing.assert_close(backbone(x), model(x))


def test_squeezenet_head_is_the_convolutional_classifier():
    model = tvm.squeezenet1_1().eval()
    backbone = from_module(model)
    assert backbone.head is model.classifier
    assert backbone.layer_names[-1] == "features.12"
    from_module(model)  # the flatten is appended once
    assert sum(isinstance(m, nn.Flatten) for m in model.classifier) == 1
    with torch.inference_mode():
        assert backbone(torch.rand(1, 3, 32, 32)).shape == (1, 1000)


def test_offline_download_explains_how_to_get_the_file(offline):
    with pytest.raises(WeightsDownloadError) as info:
        torchvision_backbone("resnet18", weights="IMAGENET1K_V1")
    message = str(info.value)
    assert isinstance(info.value, OSError)
    assert "could not be downloaded" in message
    assert tvm.ResNet18_Weights.IMAGENET1K_V1.url in message
    assert "weights='/path/to/resnet18-f37072fd.pth'" in message
    assert str(offline) in message and "torch.hub.get_dir()/checkpoints" in message
    with pytest.raises(WeightsDownloadError, match="could not be downloaded"):
        load_backbone("resnet18", weights="imagenet")


def test_file_in_the_hub_cache_is_used_without_download(offline):
    torch.manual_seed(0)
    state = tvm.resnet18().state_dict()
    offline.mkdir(parents=True)
    torch.save(state, offline / "resnet18-f37072fd.pth")
    backbone = torchvision_backbone("resnet18", weights=tvm.ResNet18_Weights.IMAGENET1K_V1)
    for key, value in backbone.model.state_dict().items():
        torch.testing.assert_close(value, state[key])


def test_local_weight_file_round_trips(tmp_path):
    torch.manual_seed(0)
    model = tvm.resnet18()
    path = tmp_path / "resnet18.pth"
    torch.save(model.state_dict(), path)
    backbone = torchvision_backbone("resnet18", weights=path)
    for key, value in model.state_dict().items():
        torch.testing.assert_close(backbone.model.state_dict()[key], value)
    assert backbone.preprocessing.resize_size == 256  # that of IMAGENET1K_V1
    assert load_backbone("resnet18", weights=str(path)).layer_names == backbone.layer_names


def test_fine_tuned_file_rebuilds_the_head(tmp_path):
    path = tmp_path / "tuned.pth"
    torch.save(tvm.resnet18(num_classes=7).state_dict(), path)
    assert torchvision_backbone("resnet18", weights=path).head.out_features == 7
    torch.save({"fc.weight": torch.zeros(3, 3)}, path)
    with pytest.raises(ValueError, match="missing keys"):
        torchvision_backbone("resnet18", weights=path)


def test_googlenet_file_is_built_as_the_pretrained_model(tmp_path):
    torch.manual_seed(0)
    # As in the released file: auxiliary classifiers included.
    model = tvm.googlenet(aux_logits=True, init_weights=False)
    path = tmp_path / "googlenet.pth"
    torch.save(model.state_dict(), path)
    backbone = torchvision_backbone("googlenet", weights=path)
    assert backbone.model.transform_input and backbone.model.aux1 is None
    for key, value in backbone.model.state_dict().items():
        torch.testing.assert_close(value, model.state_dict()[key])


def test_vit_file_sets_the_input_size():
    shapes = {"encoder.pos_embedding": (1, 577, 768), "conv_proj.weight": (768, 3, 16, 16)}
    assert _file_kwargs("vit_b_16", shapes) == {"image_size": 384}
    # Weights trained at the model's size give its preprocessing (SWAG_E2E: 384 px, bicubic).
    preprocessing = _preprocessing(_tiny_vit(384), tvm.ViT_B_16_Weights, None)
    assert (preprocessing.size, preprocessing.interpolation) == (384, "bicubic")


@pytest.mark.parametrize(
    "weights, member",
    [
        ("DEFAULT", tvm.ResNet50_Weights.IMAGENET1K_V2),
        ("imagenet", tvm.ResNet50_Weights.IMAGENET1K_V2),
        ("IMAGENET1K_V1", tvm.ResNet50_Weights.IMAGENET1K_V1),
        ("ResNet50_Weights.IMAGENET1K_V1", tvm.ResNet50_Weights.IMAGENET1K_V1),
        (tvm.ResNet50_Weights.IMAGENET1K_V2, tvm.ResNet50_Weights.IMAGENET1K_V2),
    ],
)
def test_weights_names_and_aliases(weights, member):
    assert _resolve_weights("resnet50", tvm.ResNet50_Weights, weights) is member


@pytest.mark.parametrize(
    "weights, error, match",
    [
        ("IMAGENET1K_V3", ValueError, r"'IMAGENET1K_V1', 'IMAGENET1K_V2', 'DEFAULT'"),
        ("ResNet18_Weights.IMAGENET1K_V1", ValueError, "Unknown weights"),
        (tvm.ResNet18_Weights.IMAGENET1K_V1, ValueError, "are not weights of 'resnet50'"),
        (3, TypeError, "weights must be"),
    ],
)
def test_wrong_weights_list_the_valid_ones(weights, error, match):
    with pytest.raises(error, match=match):
        torchvision_backbone("resnet50", weights=weights)


def test_unknown_model_name():
    with pytest.raises(ValueError, match=r"Did you mean \['resnet18'"):
        torchvision_backbone("resnet_18")


def test_sequential_is_split_per_child():
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(3, 4, 3),
        nn.BatchNorm2d(4),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(4, 8, 3),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(8, 3),
    ).eval()
    backbone = from_module(model)
    assert backbone.layer_names == ["0", "3", "4"]
    assert backbone.head_name == "8"
    assert (backbone.input_kind, backbone.in_channels) == ("image", 3)
    x = torch.randn(2, 3, 16, 16)
    with torch.inference_mode():
        torch.testing.assert_close(backbone(x), model(x))
        assert (backbone.features(x, stop="0") >= 0).all()


def test_mlp_is_a_vector_backbone():
    model = nn.Sequential(nn.Linear(5, 4), nn.ReLU(), nn.Dropout(), nn.Linear(4, 2))
    backbone = from_module(model)
    assert backbone.layer_names == ["0"]
    assert (backbone.input_kind, backbone.in_features, backbone.head_name) == ("vector", 5, "3")


class _Custom(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(3, 3)
        self.b = nn.Linear(3, 3)

    def forward(self, x):
        return self.b(self.a(x)) + x


class _QuietResNet(tvm.ResNet):
    def forward(self, x):
        return super().forward(x) * 0


@pytest.mark.parametrize(
    "model",
    [_Custom(), _QuietResNet(tvm.resnet.BasicBlock, [1, 1, 1, 1], num_classes=2)],
    ids=["custom", "resnet-subclass"],
)
def test_unrecognised_module_is_one_layer(model):
    backbone = from_module(model)
    assert backbone.layer_names == ["model"]
    assert backbone.head is None
    assert backbone.layer("model") is model
    assert isinstance(backbone, Backbone)


def test_from_module_rejects_non_modules():
    with pytest.raises(TypeError, match="nn.Module"):
        from_module(lambda x: x)
