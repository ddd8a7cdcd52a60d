"""show_versions: what a bug report needs, read without importing the optional packages."""

import importlib.metadata
import platform
import sys

import torch

import sktransfer
from sktransfer import _show_versions, show_versions


def _report(capsys):
    show_versions()
    return capsys.readouterr().out


def test_sections_and_versions(capsys):
    out = _report(capsys)
    assert out.startswith("System:\n")
    for section in ("Python dependencies:", "torch devices:"):
        assert f"\n{section}\n" in out
    assert f"sktransfer: {sktransfer.__version__}" in out
    assert platform.platform() in out
    assert sys.version.split()[0] in out
    for name in ("numpy", "scipy", "scikit-learn", "torch", "torchvision", "skorch", "joblib"):
        assert f"{name}: {importlib.metadata.version(name)}\n" in out
    assert f"pillow: {importlib.metadata.version('pillow')}\n" in out


def test_devices_on_this_machine(capsys):
    out = _report(capsys)
    assert f"CUDA available: {torch.cuda.is_available()}\n" in out
    assert "MPS available: " in out
    assert 'device="auto": ' in out


def test_cuda_devices_are_named(capsys, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda index: f"Test GPU {index}")
    out = _report(capsys)
    assert "CUDA available: True\n" in out
    assert "cuda:0: Test GPU 0\n" in out
    assert "cuda:1: Test GPU 1\n" in out
    assert 'device="auto": cuda\n' in out


def test_optional_packages_listed_only_when_installed(capsys, monkeypatch):
    monkeypatch.setattr(_show_versions, "_OPTIONAL", ["sktransfer-no-such-package"])
    out = _report(capsys)
    assert "sktransfer-no-such-package" not in out
    assert "Optional dependencies:" not in out

    monkeypatch.setattr(_show_versions, "_OPTIONAL", ["numpy"])
    out = _report(capsys)
    assert f"Optional dependencies:\nnumpy: {importlib.metadata.version('numpy')}\n" in out


def test_missing_required_package_is_reported(capsys, monkeypatch):
    monkeypatch.setattr(_show_versions, "_REQUIRED", ["numpy", "sktransfer-no-such-package"])
    out = _report(capsys)
    assert "sktransfer-no-such-package: not installed\n" in out
