"""Device choice and seeding that leaves torch's global state as it was."""

from contextlib import contextmanager

import torch
from sklearn.utils import check_random_state


def resolve_device(device):
    """``"auto"`` becomes ``"cuda"`` when a GPU is visible, else ``"cpu"``.

    Raises
    ------
    ValueError
        If ``device`` is not a device torch knows.
    """
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        return torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(
            f"device={device!r} is not a torch device; use 'auto', 'cpu', 'cuda' or 'cuda:N'."
        ) from exc


def torch_seed(random_state):
    """A torch seed drawn from a scikit-learn ``random_state``."""
    return int(check_random_state(random_state).randint(0, 2**31 - 1))


@contextmanager
def seeded(random_state):
    """Seed torch from ``random_state`` inside ``fork_rng``, so the caller's RNG is untouched."""
    devices = list(range(torch.cuda.device_count())) if torch.cuda.is_available() else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(torch_seed(random_state))
        yield
