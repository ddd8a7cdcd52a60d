import pickle

import numpy as np
import pytest
import torch
from torch import nn

from sktransfer.backbones import Backbone, available_backbones, load_backbone, read_weight_file


@pytest.fixture
def toy():
    torch.manual_seed(0)
    return load_backbone("toy_cnn").eval()


def test_layers_run_in_order_and_rebuild_the_network(toy):
    x = torch.rand(2, 3, 32, 32)
    with torch.inference_mode():
        torch.testing.assert_close(toy(x), toy.model(x))
        middle = toy.features(x, stop="block2")
        torch.testing.assert_close(toy.features(middle, start="block3"), toy.features(x))
    assert toy.layer_names == ["block1", "block2", "block3"]
    assert middle.shape == (2, 16, 16, 16)


def test_state_dict_keeps_the_network_layout(toy):
    assert list(toy.state_dict()) == ["model." + key for key in toy.model.state_dict()]


def test_layer_index_accepts_names_and_negative_positions(toy):
    assert toy.layer_index(-1) == 2
    assert toy.layer_index("block1") == 0
    assert toy.resolve_layer(-2) == "block2"
    assert toy.resolve_layer("block2.1") == "block2.1"


def test_layer_index_accepts_numpy_integers(toy):
    # A grid search over np.arange(n) hands over NumPy integers, which were refused.
    assert toy.layer_index(np.int64(-1)) == 2
    assert type(toy.layer_index(np.uint8(1))) is int
    assert toy.resolve_layer(np.int32(0)) == "block1"


@pytest.mark.parametrize(
    "layer, error, match",
    [
        ("block7", ValueError, r"Valid layers.*\['block1', 'block2', 'block3'\]"),
        (3, ValueError, "out of range"),
        (-4, ValueError, "out of range"),
        (1.5, TypeError, "int or a str"),
        ("fc.weight", ValueError, "Unknown layer"),
    ],
)
def test_unknown_layers_list_the_valid_ones(toy, layer, error, match):
    with pytest.raises(error, match=match):
        toy.resolve_layer(layer)


def test_features_can_stop_inside_a_layer(toy):
    x = torch.rand(1, 3, 32, 32)
    conv = toy.features(x, stop="block2.0")
    assert conv.shape == (1, 16, 16, 16)
    assert (conv < 0).any()  # taken before the ReLU of block2


def test_backbone_pickles(toy):
    loaded = pickle.loads(pickle.dumps(toy))
    x = torch.rand(1, 3, 32, 32)
    with torch.inference_mode():
        torch.testing.assert_close(loaded(x), toy(x))
    # the layers still share the reloaded network's parameters
    with torch.no_grad():
        loaded.model.block1[0].weight.zero_()
    assert loaded.layer("block1")[0].weight.abs().sum() == 0


def test_local_weight_file_round_trips(tmp_path, toy):
    path = tmp_path / "toy.pth"
    torch.save({"state_dict": toy.model.state_dict()}, path)
    loaded = load_backbone("toy_cnn", weights=path)
    for key, value in toy.model.state_dict().items():
        torch.testing.assert_close(loaded.model.state_dict()[key], value)


def test_a_weight_file_of_any_name_in_the_working_folder_is_read(tmp_path, toy, monkeypatch):
    # "model.ckpt" was taken for a weights name: "Unknown weights", though the file was there.
    torch.save(toy.model.state_dict(), tmp_path / "model.ckpt")
    monkeypatch.chdir(tmp_path)
    loaded = load_backbone("toy_cnn", weights="model.ckpt")
    for key, value in toy.model.state_dict().items():
        torch.testing.assert_close(loaded.model.state_dict()[key], value)


@pytest.mark.parametrize("wrap", ["data_parallel", "tutorial_checkpoint"])
def test_weight_files_of_common_training_scripts_are_read(tmp_path, toy, wrap):
    # Keys saved from DataParallel ("module.block1...") failed as all unexpected, and a
    # {"model_state_dict": ...} checkpoint as "does not hold a state dict of tensors".
    state = toy.model.state_dict()
    if wrap == "data_parallel":
        saved = {f"module.{key}": value for key, value in state.items()}
    else:
        saved = {"epoch": torch.tensor(3), "model_state_dict": state}
    torch.save(saved, tmp_path / "trained.pth")
    loaded = load_backbone("toy_cnn", weights=tmp_path / "trained.pth")
    for key, value in state.items():
        torch.testing.assert_close(loaded.model.state_dict()[key], value)


def test_weight_file_errors_are_clear(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.pth"):
        read_weight_file(tmp_path / "missing.pth")
    wrong = tmp_path / "wrong.pth"
    torch.save({"other.weight": torch.zeros(1)}, wrong)
    with pytest.raises(ValueError, match="missing keys"):
        load_backbone("toy_cnn", weights=wrong)
    garbage = tmp_path / "garbage.pth"
    garbage.write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="Could not read"):
        read_weight_file(garbage)
    with pytest.raises(ValueError, match="local weight file"):
        load_backbone("toy_cnn", weights="imagenet")


def test_a_missing_weight_file_is_a_value_error_too(tmp_path):
    # Estimators refuse bad parameter values with ValueError; a missing file stays a
    # FileNotFoundError for those who catch that.
    with pytest.raises(ValueError, match=r"missing\.pth' does not exist"):
        load_backbone("toy_cnn", weights=tmp_path / "missing.pth")


def test_unknown_name_suggests_close_ones():
    with pytest.raises(ValueError, match=r"Did you mean \['resnet18'"):
        load_backbone("resnet_18")


def test_available_backbones_cover_torchvision_and_efficientnet_lite():
    names = available_backbones()
    assert {"resnet18", "vit_b_16", "efficientnet_lite0", "toy_cnn"} <= set(names)


def test_callable_returning_a_sequential_is_split_per_child():
    def factory():
        return nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Conv2d(4, 5, 3))

    backbone = load_backbone(factory)
    assert isinstance(backbone, Backbone)
    assert len(backbone.layer_names) == 2


def test_a_module_instance_is_split_per_child_with_its_own_weights(tmp_path):
    # An instance is callable too: it must not be called without input as a factory is.
    module = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Conv2d(4, 5, 3))
    backbone = load_backbone(module)
    assert backbone.model is module
    assert backbone.layer_names == ["0", "2"]
    other = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Conv2d(4, 5, 3))
    path = tmp_path / "other.pth"
    torch.save(other.state_dict(), path)
    loaded = load_backbone(nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Conv2d(4, 5, 3)), path)
    torch.testing.assert_close(loaded.model[2].weight, other[2].weight)
    with pytest.raises(ValueError, match="missing keys"):
        load_backbone(nn.Sequential(nn.Linear(3, 4)), weights=path)


def test_weights_given_with_a_backbone_are_loaded_into_it(tmp_path, toy):
    path = tmp_path / "toy.pth"
    torch.save(toy.model.state_dict(), path)
    other = load_backbone("toy_cnn")
    assert load_backbone(other, path) is other
    torch.testing.assert_close(other.model.fc.weight, toy.model.fc.weight)
    with pytest.raises(ValueError, match="local weight file"):
        load_backbone(other, "imagenet")
    with pytest.raises(ValueError, match="does not exist"):
        load_backbone(other, tmp_path / "missing.pth")


def test_vector_backbone_needs_its_input_width():
    with pytest.raises(ValueError, match="in_features"):
        load_backbone("toy_mlp")
    assert load_backbone("toy_mlp", in_features=5).in_features == 5


def test_bad_backbone_type_is_a_type_error():
    with pytest.raises(TypeError, match="backbone must be"):
        load_backbone(3)
    with pytest.raises(TypeError, match="expected an nn.Module"):
        load_backbone(lambda: "not a network")


def test_features_to_a_submodule_are_the_same_at_the_first_call_and_after():
    # The first call for a name counts the submodule's calls through its whole layer; the
    # in-place ReLU after bn1 then overwrote the output kept from bn1.
    backbone = load_backbone("resnet18", weights=None).eval()
    x = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    first = backbone.features(x, stop="layer1.0.bn1")
    assert (first < 0).any()
    assert torch.equal(first, backbone.features(x, stop="layer1.0.bn1"))
    # Counting runs in eval mode: BatchNorm layers after the submodule do not update their
    # running statistics.
    backbone.train()
    before = backbone.model.layer1[0].bn2.running_mean.clone()
    backbone.features(x, stop="layer1.0.conv1")
    assert torch.equal(backbone.model.layer1[0].bn2.running_mean, before)
    assert backbone.training and backbone.model.layer1[0].bn2.training


def test_a_submodule_not_reached_from_start_is_counted_again_from_the_input():
    # The pass from start="l2" never reaches l1's ReLU; the name was then taken as checked,
    # and a later pass from the input returned the first of its two outputs.
    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.linear, self.relu = nn.Linear(4, 4), nn.ReLU()

        def forward(self, x):
            return self.relu(self.linear(self.relu(x)))

    model = nn.Sequential()
    model.add_module("l1", Block())
    model.add_module("l2", nn.Linear(4, 4))
    backbone = Backbone(model, [("l1", model.l1), ("l2", model.l2)], input_kind="vector")
    x = torch.randn(2, 4)
    with pytest.raises(RuntimeError, match="did not run"):
        backbone.features(x, start="l2", stop="l1.relu")
    with pytest.raises(ValueError, match="'l1.relu' runs 2 times"):
        backbone.features(x, stop="l1.relu")


def test_a_module_shared_by_two_layers_is_refused_as_a_stop():
    # "l2.act" is the module of l1 too: the pass stopped at its first call, in l1.
    act = nn.ReLU()
    model = nn.Sequential()
    model.add_module("l1", nn.Sequential(nn.Linear(4, 4), act))
    model.add_module("l2", nn.Sequential(nn.Linear(4, 4), act))
    backbone = Backbone(model, [("l1", model.l1), ("l2", model.l2)], input_kind="vector")
    with pytest.raises(ValueError, match="'l2.1' runs 2 times"):
        backbone.features(torch.randn(2, 4), stop="l2.1")


def test_a_shared_module_counted_from_a_later_start_is_counted_again_from_the_input():
    act = nn.ReLU()
    model = nn.Sequential()
    model.add_module("l1", nn.Sequential(nn.Linear(4, 4), act))
    model.add_module("l2", nn.Sequential(nn.Linear(4, 4), act))
    backbone = Backbone(model, [("l1", model.l1), ("l2", model.l2)], input_kind="vector")
    x = torch.randn(2, 4)
    hidden = model.l1(x)
    # From l2 it runs once, in l2: its output there (the pass ran to l1 only, and failed).
    assert torch.equal(backbone.features(hidden, start="l2", stop="l2.1"), model.l2(hidden))
    with pytest.raises(ValueError, match="'l2.1' runs 2 times"):
        backbone.features(x, stop="l2.1")  # returned l1's output, the name taken as checked
