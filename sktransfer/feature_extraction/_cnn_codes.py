"""CNN codes: the activations of a pretrained network's layer, as features for any estimator."""

from __future__ import annotations

import copy
import functools
import os
from contextlib import nullcontext
from enum import Enum
from numbers import Integral

import joblib
import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data
from tqdm.auto import tqdm

from ..backbones import Backbone, load_backbone
from ..backbones._registry import is_weight_file
from ..utils._code_cache import CodeCache
from ..utils._images import (
    Preprocessor,
    check_fitted_input,
    check_images,
    check_input_kind,
    is_table,
    row_digests,
)
from ..utils._sklearn import HasMethods, Interval, StrOptions, _fit_context
from ..utils._torch import resolve_device, seeded


class CNNCodeExtractor(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """Features from a layer of a pretrained network, for use by any scikit-learn estimator.

    The network stays fixed: each image is preprocessed as the network expects, run up to
    ``layer``, and the layer's activations are pooled into a vector, the "CNN codes" of
    Razavian et al. (2014) and Donahue et al. (2014). The codes of a late layer suit target tasks
    close to the source (ImageNet photographs); an earlier layer often transfers better to a
    distant domain (Yosinski et al., 2014), which is why ``layer`` is worth a grid search.

    Read more in the :ref:`user guide <feature_extraction>`.

    Parameters
    ----------
    backbone : str, callable or Backbone, default="efficientnet_lite0"
        The network: a name from :func:`~sktransfer.backbones.available_backbones` (every
        torchvision classification model, ``"efficientnet_lite0/1/2"``, the toy ``"toy_cnn"``
        and ``"toy_mlp"``), a callable returning an ``nn.Module``, or a
        :class:`~sktransfer.backbones.Backbone`.
    weights : None, str, path or weights enum, default=None
        Pretrained weights, see :func:`~sktransfer.backbones.load_backbone`: ``"imagenet"``,
        ``"DEFAULT"``, a torchvision weights enum or name, or a local file. ``None`` keeps a
        random initialisation (seeded by ``random_state``), which is rarely what you want for
        transfer: pass ``weights="imagenet"`` for ImageNet features.
    layer : int or str, default=-1
        The layer whose output becomes the codes: an index into the backbone's
        ``layer_names`` (``-1`` is the last layer before the network's pooling and head, ``-2``
        the one before...), a layer name, or the full name of any submodule inside a layer.
    pooling : {"avg", "max", "flatten"}, default="avg"
        How a spatial map ``(C, H, W)`` (or a token sequence ``(L, D)``) becomes a vector:
        average or maximum over positions, giving ``C`` features, or all values flattened.
    image_size : int, default=None
        Resize images so that their shorter side is ``image_size`` and keep the centre square,
        instead of the backbone's own size (224 px for most ImageNet networks). Smaller sizes
        trade accuracy for speed. Ignored for vector backbones.
    preprocess : bool, default=True
        Apply the backbone's resizing and normalisation. With ``False`` images are only scaled
        to [0, 1] (and resized if ``image_size`` is set): use it for inputs already prepared.
    batch_size : int, default=64
        Images per forward pass; memory use is bounded by it.
    device : str or torch.device, default="auto"
        Where the network runs; ``"auto"`` takes CUDA when a GPU is visible.
    memory : None, str or joblib.Memory, default=None
        Cache the codes on disk, per image, under this location: across folds, grid points and
        refits each image is encoded once per configuration. ``Pipeline(memory=...)`` alone
        would recompute the codes of every validation fold at every grid point.
    verbose : int, default=0
        Show a progress bar over batches when positive.
    random_state : int, RandomState instance or None, default=None
        Seeds the initialisation of a backbone without pretrained weights (torch's global RNG
        is left as it was).

    Attributes
    ----------
    backbone_ : Backbone
        The network, in evaluation mode. Extractors with the same named backbone and
        pretrained weights share it within a process: do not change its weights in place.
    layer_name_ : str
        Name of the layer the codes come from.
    n_features_in_ : int
        Number of features of 2-D input, for vector backbones only.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of the input features, for vector backbones given a DataFrame.

    See Also
    --------
    sktransfer.backbones.load_backbone : The networks and weights available.

    References
    ----------
    .. [1] A. S. Razavian, H. Azizpour, J. Sullivan, S. Carlsson, "CNN Features off-the-shelf:
       an Astounding Baseline for Recognition", CVPR Workshops, 2014.
    .. [2] J. Donahue et al., "DeCAF: A Deep Convolutional Activation Feature for Generic
       Visual Recognition", ICML, 2014.
    .. [3] J. Yosinski, J. Clune, Y. Bengio, H. Lipson, "How transferable are features in deep
       neural networks?", NeurIPS, 2014.

    Examples
    --------
    >>> import numpy as np
    >>> from sktransfer.feature_extraction import CNNCodeExtractor
    >>> images = np.random.default_rng(0).integers(0, 256, size=(4, 32, 32, 3), dtype=np.uint8)
    >>> extractor = CNNCodeExtractor(backbone="toy_cnn", layer="block2", random_state=0)
    >>> extractor.fit_transform(images).shape
    (4, 16)
    """

    _parameter_constraints: dict = {
        "backbone": [str, callable, Backbone],
        "weights": [None, str, os.PathLike, Enum],
        "layer": [Interval(Integral, None, None, closed="neither"), str],
        "pooling": [StrOptions({"avg", "max", "flatten"})],
        "image_size": [Interval(Integral, 1, None, closed="left"), None],
        "preprocess": ["boolean"],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "device": [str, torch.device],
        "memory": [None, str, HasMethods(["cache"])],
        "verbose": ["verbose"],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        backbone="efficientnet_lite0",
        weights=None,
        *,
        layer=-1,
        pooling="avg",
        image_size=None,
        preprocess=True,
        batch_size=64,
        device="auto",
        memory=None,
        verbose=0,
        random_state=None,
    ):
        self.backbone = backbone
        self.weights = weights
        self.layer = layer
        self.pooling = pooling
        self.image_size = image_size
        self.preprocess = preprocess
        self.batch_size = batch_size
        self.device = device
        self.memory = memory
        self.verbose = verbose
        self.random_state = random_state

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Load the network and check that ``layer`` exists; the network is not trained.

        Parameters
        ----------
        X : images or array-like of shape (n_samples, n_features)
            Images (see the user guide for the accepted forms) or, for vector backbones,
            a 2-D array.
        y : None
            Ignored.

        Returns
        -------
        self : CNNCodeExtractor
        """
        vectors = is_table(X)
        in_features = None
        if vectors:
            X = validate_data(self, X, dtype=np.float32)
            in_features = X.shape[1]
        resolve_device(self.device)
        backbone = self._load_backbone(in_features)
        check_input_kind(backbone, vectors)
        layer_name = backbone.resolve_layer(self.layer)
        sample = X[:1] if vectors else check_images(X, channels=backbone.in_channels).subset([0])
        backbone.eval()
        self.backbone_ = backbone
        self.layer_name_ = layer_name
        self._n_features_out = self._encode(sample, vectors).shape[1]
        return self

    def _load_backbone(self, in_features):
        if isinstance(self.backbone, str) and _names_pretrained_weights(self.weights):
            return _shared_pretrained(self.backbone, self.weights)
        with seeded(self.random_state):
            return load_backbone(self.backbone, self.weights, in_features=in_features)

    def transform(self, X):
        """Compute the codes of ``X``.

        Parameters
        ----------
        X : images or array-like of shape (n_samples, n_features)
            As in :meth:`fit`.

        Returns
        -------
        codes : ndarray of shape (n_samples, n_codes), dtype float32
        """
        check_is_fitted(self)
        vectors = self.backbone_.input_kind == "vector"
        X = check_fitted_input(self, X, self.backbone_)
        cache = CodeCache(self.memory, self._cache_config()) if self.memory is not None else None
        if cache is None or not cache.enabled:
            return self._encode(X, vectors)
        return self._encode_cached(X, vectors, cache)

    def _encode_cached(self, X, vectors, cache):
        keys = _row_keys(X, vectors)
        hits, missing = cache.lookup(keys)
        if len(missing):
            new = self._encode(_subset(X, missing, vectors), vectors)
            cache.add([keys[i] for i in missing], new)
            hits.update(zip(missing.tolist(), new, strict=True))
        return np.stack([hits[i] for i in range(len(keys))]).astype(np.float32, copy=False)

    def _encode(self, X, vectors):
        device = resolve_device(self.device)
        backbone = self.backbone_.to(device)
        if vectors:
            batches = _vector_batches(X, self.batch_size)
            prepare = torch.as_tensor
        else:
            batches = X.batches(self.batch_size)
            prepare = Preprocessor(
                backbone.preprocessing,
                backbone.in_channels,
                image_size=self.image_size,
                normalize=self.preprocess,
                device=device,
            )
        n_batches = -(-len(X) // self.batch_size)
        with torch.inference_mode():
            return _run(
                backbone,
                self.layer_name_,
                self.pooling,
                batches,
                prepare,
                device,
                progress=tqdm(total=n_batches, disable=not self.verbose, unit="batch"),
            )

    def _cache_config(self):
        state = {k: v.cpu().numpy() for k, v in self.backbone_.model.state_dict().items()}
        return {
            "weights": joblib.hash(state),
            "architecture": repr(self.backbone_.model),
            "layer": self.layer_name_,
            "pooling": self.pooling,
            "image_size": self.image_size,
            "preprocess": self.preprocess,
            "preprocessing": self.backbone_.preprocessing,
        }

    def __getstate__(self):
        # A network fitted on a GPU is stored on the CPU, so the pickle loads on any machine.
        state = super().__getstate__()
        backbone = state.get("backbone_")
        if backbone is not None and any(p.device.type != "cpu" for p in backbone.parameters()):
            state["backbone_"] = copy.deepcopy(backbone).cpu()
        return state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.transformer_tags.preserves_dtype = ["float32"]
        return tags


@functools.lru_cache(maxsize=1)
def _shared_pretrained(name, weights):
    # Extraction never changes a network's weights, so the many extractors that a grid search
    # fits share one copy; a cache of one keeps memory bounded. Loading costs about as much as
    # encoding a few dozen small images.
    return load_backbone(name, weights)


def _names_pretrained_weights(weights):
    return isinstance(weights, Enum) or (isinstance(weights, str) and not is_weight_file(weights))


def _run(backbone, layer, pooling, batches, prepare, device, progress):
    """Forward every batch up to ``layer``; the codes are copied to the host once, at the end."""
    if backbone.input_kind == "image":
        backbone = backbone.to(memory_format=torch.channels_last)
    autocast = (
        torch.autocast("cuda", dtype=torch.bfloat16) if device.type == "cuda" else nullcontext()
    )
    outputs = []
    with progress, autocast:
        for batch in batches:
            inputs = prepare(batch).to(device)
            if inputs.ndim == 4:
                inputs = inputs.contiguous(memory_format=torch.channels_last)
            outputs.append(_pool(backbone.features(inputs, stop=layer), pooling).float())
            progress.update()
    return torch.cat(outputs).cpu().numpy()


def _pool(activations, pooling):
    if activations.ndim == 2 or pooling == "flatten":
        return torch.flatten(activations, 1)
    dims = (2, 3) if activations.ndim == 4 else tuple(range(1, activations.ndim - 1))
    if pooling == "avg":
        return activations.mean(dim=dims)
    return activations.amax(dim=dims)


def _vector_batches(X, batch_size):
    for start in range(0, len(X), batch_size):
        yield X[start : start + batch_size]


def _row_keys(X, vectors):
    return row_digests(X) if vectors else X.row_keys()


def _subset(X, indices, vectors):
    return X[indices] if vectors else X.subset(indices)
