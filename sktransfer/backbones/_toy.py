"""Tiny randomly initialised backbones: fast stand-ins for tests, examples and the common checks."""

from torch import nn

from ._base import Backbone, GlobalAvgPool, Preprocessing


def toy_cnn(in_channels=3, width=8):
    """A three-block ConvNet (conv, batch norm, ReLU) with a 10-class head, for 32 px images."""
    model = nn.Sequential()
    model.add_module("block1", _conv_block(in_channels, width, stride=1))
    model.add_module("block2", _conv_block(width, 2 * width, stride=2))
    model.add_module("block3", _conv_block(2 * width, 4 * width, stride=2))
    model.add_module("pool", GlobalAvgPool())
    model.add_module("fc", nn.Linear(4 * width, 10))
    layers = [(name, model.get_submodule(name)) for name in ("block1", "block2", "block3")]
    preprocessing = Preprocessing(
        size=32, resize_size=32, mean=(0.5,) * in_channels, std=(0.25,) * in_channels
    )
    return Backbone(
        model,
        layers,
        pool=model.pool,
        head="fc",
        preprocessing=preprocessing,
        in_channels=in_channels,
    )


def toy_mlp(in_features, hidden=(16, 8)):
    """A multilayer perceptron on vectors (linear layers with ReLU) and a 10-class head."""
    model = nn.Sequential()
    width = in_features
    for index, out in enumerate(hidden):
        model.add_module(f"fc{index + 1}", nn.Sequential(nn.Linear(width, out), nn.ReLU()))
        width = out
    model.add_module("head", nn.Linear(width, 10))
    layers = [(f"fc{index + 1}", model[index]) for index in range(len(hidden))]
    return Backbone(
        model, layers, head="head", input_kind="vector", in_channels=None, in_features=in_features
    )


def _conv_block(in_channels, out_channels, stride):
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(),
    )
