"""Network outputs cached per image on disk, so each image is encoded once across folds and grid
points.

``joblib.Memory`` caches a call for its exact arguments: each cross-validation fold passes a
different subset of the images, so it would encode most images once per fold. Keying each image's
outputs by a digest of the image instead lets every fold, grid point and refit reuse them. Both
the CNN codes of :class:`~sktransfer.feature_extraction.CNNCodeExtractor` and the frozen-prefix
activations of :class:`~sktransfer.fine_tuning.FineTuneClassifier` are stored this way.
"""

import inspect
import os
import tempfile
import types
import uuid
from pathlib import Path

import joblib
import numpy as np
import torch
from sklearn.utils.validation import check_memory


class CodeCache:
    """Outputs of one network configuration, stored as chunk files under a joblib location.

    Parameters
    ----------
    memory : None, str or joblib.Memory
        Where to keep the outputs; ``None`` or a ``Memory`` without location disables caching.
    config : object
        Everything that determines the outputs (weights digest, layer, pooling, preprocessing);
        hashed with ``joblib.hash`` into the folder name.
    """

    def __init__(self, memory, config):
        location = check_memory(memory).location
        self.folder = None
        if location is not None:
            self.folder = Path(location) / "sktransfer_codes" / joblib.hash(config)

    @property
    def enabled(self):
        return self.folder is not None

    def lookup(self, keys):
        """Outputs of the cached keys, and the positions of the keys that are missing.

        Only the keys of each chunk are read to find the hits; a chunk's outputs are loaded
        only when it holds one, since early-layer activations can be large.
        """
        positions = {}
        for i, key in enumerate(keys):
            positions.setdefault(key, []).append(i)
        hits = {}
        for chunk in self._chunks():
            with np.load(chunk, allow_pickle=False) as data:
                found = [
                    (row, key)
                    for row, key in enumerate(data["keys"].tolist())
                    if key in positions and positions[key][0] not in hits
                ]
                if not found:
                    continue
                codes = data["codes"]
            for row, key in found:
                hits.update(dict.fromkeys(positions[key], codes[row]))
        missing = np.array([i for i in range(len(keys)) if i not in hits], dtype=np.intp)
        return hits, missing

    def add(self, keys, codes):
        """Store ``codes`` (one row per key) as a new chunk, written atomically."""
        if not len(keys):
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        # Written under a temporary name then renamed, so a parallel reader never sees half a file.
        handle, tmp = tempfile.mkstemp(dir=self.folder, suffix=".tmp")
        with os.fdopen(handle, "wb") as f:
            np.savez(f, keys=np.asarray(keys), codes=codes)
        os.replace(tmp, self.folder / f"{uuid.uuid4().hex}.npz")

    def _chunks(self):
        if self.folder is None or not self.folder.is_dir():
            return []
        return sorted(self.folder.glob("*.npz"))


# What every nn.Module keeps in its __dict__ (parameters, buffers, submodules, hooks, mode).
_MODULE_INTERNALS = frozenset(vars(torch.nn.Module()))


def module_settings(model):
    """A digest of each module's class, of its methods' code, and of the attributes it adds to
    ``nn.Module``'s."""
    settings = []
    codes = {}
    for name, module in model.named_modules():
        attributes = {
            key: _hashable(value)
            for key, value in vars(module).items()
            if key not in _MODULE_INTERNALS
        }
        cls = type(module)
        if cls not in codes:
            codes[cls] = _class_code(cls)
        settings.append((name, f"{cls.__module__}.{cls.__qualname__}", codes[cls], attributes))
    return joblib.hash(settings)


def _class_code(cls):
    # A class edited and run again in a notebook keeps its name and weights: only the code of
    # its methods tells that forward computes something else now.
    code = []
    for klass in cls.__mro__:
        if klass is torch.nn.Module or klass is object:
            break
        for key, value in sorted(vars(klass).items()):
            for function in _functions(value):
                code.append((klass.__qualname__, key, _code_parts(function.__code__)))
    return joblib.hash(code)


def _functions(member):
    """The Python functions behind a class member: a method's, a static or class method's,
    a property's accessors, each unwrapped from decorators such as ``torch.no_grad()``."""
    if isinstance(member, property):
        members = [member.fget, member.fset, member.fdel]
    else:
        members = [getattr(member, "__func__", member)]
    functions = []
    for function in members:
        if callable(function):
            function = inspect.unwrap(function)
        if hasattr(function, "__code__"):
            functions.append(function)
    return functions


def _code_parts(code):
    # Not marshal.dumps: its bytes depend on reference counts, so they change between processes.
    consts = tuple(_const_part(const) for const in code.co_consts)
    return code.co_code, consts, code.co_names, code.co_varnames


def _const_part(const):
    if isinstance(const, types.CodeType):
        return _code_parts(const)
    if isinstance(const, tuple):
        return tuple(_const_part(item) for item in const)
    if isinstance(const, frozenset):  # `x in {"a", "b"}`: the order of its repr changes by process
        return "frozenset", sorted(repr(item) for item in const)
    return repr(const)


def _hashable(value):
    if torch.is_tensor(value):
        return "tensor", tensor_bytes(value)
    try:
        joblib.hash(value)
    except Exception:  # unpicklable (a lambda...): its repr, which may change between sessions
        return "repr", repr(value)
    return value


def tensor_bytes(tensor):
    """A tensor's dtype, shape and raw bytes: every dtype (bfloat16 included) hashes exactly."""
    data = tensor.detach().cpu().reshape(-1).view(torch.uint8).numpy()
    return str(tensor.dtype), tuple(tensor.shape), data
