"""Device choice, numeric precision, seeding, and the one inference loop of every network."""

import itertools
import warnings
from contextlib import contextmanager, nullcontext

import torch
from sklearn.utils import check_random_state

_DEVICE_TYPES = ("cpu", "cuda", "mps")


def resolve_device(device):
    """``"auto"`` becomes CUDA when a GPU is visible, then Apple's MPS, else the CPU.

    Parameters
    ----------
    device : str or torch.device
        ``"auto"``, or a device torch knows: ``"cpu"``, ``"cuda"``, ``"cuda:N"``, ``"mps"``.

    Returns
    -------
    torch.device
        The device; whether this machine has it is not checked.

    Raises
    ------
    ValueError
        If ``device`` is not a device torch knows.
    """
    if device == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(
            f"device={device!r} is not a torch device; use 'auto', 'cpu', 'cuda', 'cuda:N' or "
            "'mps'."
        ) from exc
    if resolved.type not in _DEVICE_TYPES:
        raise ValueError(
            f"device={device!r} is not supported; use 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps'."
        )
    return resolved


def check_device(device):
    """The torch device of ``device``, refusing one this machine does not have.

    Called before any work, so that a fit never fails half-way deep in torch.

    Raises
    ------
    ValueError
        If ``device`` is unknown, or names a GPU that is not available here.
    """
    resolved = resolve_device(device)
    reason = _unavailable(resolved)
    if reason:
        raise ValueError(f"device={device!r} cannot be used: {reason}. Use device='auto' or 'cpu'.")
    return resolved


def inference_device(device):
    """Where a fitted network runs: ``device``, or the CPU with a warning when it is absent.

    A model fitted on a GPU and loaded on a machine without one still predicts.
    """
    resolved = resolve_device(device)
    reason = _unavailable(resolved)
    if not reason:
        return resolved
    warnings.warn(
        f"device={device!r} is not available here ({reason}); running on the CPU instead. "
        "Call set_params(device='cpu') (or 'auto') to silence this warning.",
        UserWarning,
        stacklevel=3,
    )
    return torch.device("cpu")


def _unavailable(device):
    if device.type == "cuda":
        if not torch.cuda.is_available():
            return "CUDA is not available on this machine (torch.cuda.is_available() is False)"
        index = device.index or 0
        if index >= torch.cuda.device_count():
            return f"this machine has {torch.cuda.device_count()} CUDA device(s)"
    if device.type == "mps" and not _mps_available():
        return "Apple's MPS backend is not available on this machine"
    return ""


def module_device(module):
    """The device of ``module``'s first parameter or buffer; the CPU for a module with none."""
    tensor = next(itertools.chain(module.parameters(), module.buffers()), None)
    return torch.device("cpu") if tensor is None else tensor.device


def _mps_available():
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def resolved_precision(precision, device):
    """``"auto"`` made explicit: bfloat16 on a CUDA GPU of compute capability 8.0 (Ampere) or
    newer, float32 elsewhere."""
    if precision == "auto":
        return "bfloat16" if _fast_bfloat16(device) else "float32"
    return precision


def _fast_bfloat16(device):
    # Older GPUs (T4, V100) have no bfloat16 tensor cores: their bfloat16 convolutions are
    # slower than float32 ones.
    return device.type == "cuda" and torch.cuda.get_device_capability(device) >= (8, 0)


def autocast(device, precision):
    """The autocast context of ``precision`` (see :func:`resolved_precision`)."""
    if resolved_precision(precision, device) == "float32":
        return nullcontext()
    return torch.autocast(device.type, dtype=torch.bfloat16)


def run_network(forward, batches, *, device, precision="auto", progress=None):
    """``forward`` over every batch without autograd; the outputs reach the host once.

    The one inference loop of the library: inputs are copied without blocking (pinned by the
    data loader on CUDA), images become channels-last, the outputs stay on the device until
    the end and come back as one float32 array.

    Parameters
    ----------
    forward : callable
        Takes a batch tensor on ``device``, returns a tensor with one row per sample.
    batches : iterable of torch.Tensor
        The inputs, ready for the network.
    device : torch.device
        Where ``forward`` runs.
    precision : {"auto", "float32", "bfloat16"}, default="auto"
        Autocast precision, see :func:`autocast`.
    progress : tqdm-like, default=None
        Updated once per batch.

    Returns
    -------
    ndarray of float32
    """
    outputs = []
    with torch.inference_mode(), autocast(device, precision):
        for batch in batches:
            x = torch.as_tensor(batch).to(device, non_blocking=True)
            if x.ndim == 4:
                x = x.contiguous(memory_format=torch.channels_last)
            with input_errors_named():
                outputs.append(forward(x).float())
            if progress is not None:
                progress.update()
    # Channels-last activations come back in the usual (C-contiguous) layout.
    return torch.cat(outputs).contiguous().cpu().numpy()


@contextmanager
def input_errors_named():
    """Turn torch's error for an input a network cannot take into a ValueError saying so.

    Wraps forward passes, not data loading: a first layer of another width, or images smaller
    than the network's kernels, would otherwise surface as a bare RuntimeError from deep inside
    torch. Running out of GPU memory, device errors and compiler errors are left as they are.
    """
    try:
        yield
    except RuntimeError as exc:
        if not _may_be_the_inputs_fault(exc):
            raise
        raise ValueError(
            f"The network could not run on X: {exc}. X may not fit it: 2-D input needs as many "
            "features as its first layer takes, images must be large enough for its kernels "
            "(image_size resizes them)."
        ) from exc


# Errors of the machine or of the compiler, not of the input: passed on as they are.
_NOT_INPUT_ERRORS = tuple(
    error
    for error in (torch.cuda.OutOfMemoryError, getattr(torch, "AcceleratorError", None))
    if error is not None
)


def _may_be_the_inputs_fault(exc):
    compiler = type(exc).__module__.startswith(("torch._dynamo", "torch._inductor"))
    return not (compiler or isinstance(exc, _NOT_INPUT_ERRORS))


def torch_seed(random_state):
    """A torch seed drawn from a scikit-learn ``random_state``."""
    return int(check_random_state(random_state).randint(0, 2**31 - 1))


@contextmanager
def rng_kept(device=None):
    """Give torch's global RNGs back as they were after the block: the CPU's, and the GPU's
    that ``device`` names, if any.

    Other GPUs are left alone: forking their RNGs would open a CUDA context on each.
    """
    with torch.random.fork_rng(devices=_cuda_indices(device)):
        yield


@contextmanager
def seeded(random_state, device=None):
    """Seed torch's RNGs of the CPU and of ``device`` from ``random_state`` inside
    :func:`rng_kept`, so torch's global RNGs are untouched; NumPy's moves only when
    ``random_state`` is None, which draws the seed from it."""
    with rng_kept(device):
        _manual_seed(torch_seed(random_state), device)
        yield


def _cuda_indices(device):
    if device is None or device.type != "cuda":
        return []
    return [torch.cuda.current_device() if device.index is None else device.index]


def _manual_seed(seed, device):
    # Not torch.manual_seed: it seeds every GPU, or queues their seeding for when CUDA starts,
    # and rng_kept gives back only the RNGs of the CPU and of ``device``.
    torch.default_generator.manual_seed(seed)
    for index in _cuda_indices(device):
        torch.cuda.default_generators[index].manual_seed(seed)
    if device is not None and device.type == "mps":
        torch.mps.manual_seed(seed)
