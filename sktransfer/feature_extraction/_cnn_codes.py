"""CNN codes: the activations of a pretrained network's layer, as features for any estimator."""

from __future__ import annotations

import functools
from enum import Enum

import joblib
import numpy as np
import torch
from sklearn.base import ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.utils.validation import check_is_fitted
from tqdm.auto import tqdm

from .._network_base import NetworkEstimator, fill_doc
from ..backbones import load_backbone
from ..backbones._registry import is_weight_file
from ..utils._code_cache import CodeCache, module_settings, tensor_bytes
from ..utils._images import row_digests
from ..utils._sklearn import HasMethods, Integers, StrOptions, _fit_context
from ..utils._torch import resolved_precision, rng_kept, seeded


@fill_doc
class CNNCodeExtractor(ClassNamePrefixFeaturesOutMixin, TransformerMixin, NetworkEstimator):
    """Features from a layer of a pretrained network, for use by any scikit-learn estimator.

    The network stays fixed: each image is preprocessed as the network expects, run up to
    ``layer``, and the layer's activations are pooled into a vector, the "CNN codes" of
    Razavian et al. (2014) and Donahue et al. (2014). The codes of a late layer suit target tasks
    close to the source (ImageNet photographs); an earlier layer often transfers better to a
    distant domain (Yosinski et al., 2014), which is why ``layer`` is worth a grid search.

    Read more in the :ref:`user guide <feature_extraction>`.

    Parameters
    ----------
    backbone : str, callable, nn.Module or Backbone, default="efficientnet_lite0"
        The network: a name from :func:`~sktransfer.backbones.available_backbones` (every
        torchvision classification model, ``"efficientnet_lite0/1/2"``, the toy ``"toy_cnn"``
        and ``"toy_mlp"``), a callable returning an ``nn.Module``, an ``nn.Module`` or a
        :class:`~sktransfer.backbones.Backbone` (both copied, never changed).
    %(weights)s
        For transfer, pass ``weights="imagenet"`` for ImageNet features.
    layer : int or str, default=-1
        The layer whose output becomes the codes: an index into the backbone's
        ``layer_names`` (``-1`` is the last layer before the network's pooling and head, ``-2``
        the one before...), a layer name, or the full name of any submodule inside a layer.
    pooling : {"avg", "max", "flatten"}, default="avg"
        How a spatial map ``(C, H, W)`` (or a token sequence ``(L, D)``) becomes a vector:
        average or maximum over positions, giving ``C`` features, or all values flattened.
    %(image_size)s
        Smaller sizes trade accuracy for speed.
    preprocess : bool, default=True
        Apply the backbone's resizing and normalisation. With ``False`` images are only scaled
        to [0, 1] (and resized if ``image_size`` is set): use it for inputs already prepared.
        Without resizing, ``pooling="flatten"`` needs images of the size seen by ``fit``.
    batch_size : int or "auto", default="auto"
        Images per forward pass; memory use is bounded by it. ``"auto"``: 256 on a GPU, 64 on
        the CPU.
    %(device)s
    %(precision)s
    %(num_workers)s
    %(compile)s
    memory : None, str or joblib.Memory, default=None
        Cache the codes on disk, per image, under this location: across folds, grid points and
        refits each image is encoded once per configuration. ``Pipeline(memory=...)`` alone
        would recompute the codes of every validation fold at every grid point.
    verbose : int, default=0
        Show a progress bar over the batches of :meth:`transform` when positive.
    %(random_state)s

    Attributes
    ----------
    backbone_ : Backbone
        The network, in evaluation mode; never the object passed as ``backbone``. Extractors
        with the same named backbone and pretrained weights share it within a process: do not
        change its weights in place.
    layer_name_ : str
        Name of the layer the codes come from.
    %(input_attributes)s

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
        **NetworkEstimator._parameter_constraints,
        "layer": [Integers(None, None, closed="neither"), str],
        "pooling": [StrOptions({"avg", "max", "flatten"})],
        "preprocess": ["boolean"],
        "memory": [None, str, HasMethods(["cache"])],
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
        batch_size="auto",
        device="auto",
        precision="auto",
        num_workers=0,
        compile=False,
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
        self.precision = precision
        self.num_workers = num_workers
        self.compile = compile
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
            The fitted extractor.
        """
        X, _, vectors = self._validate_fit_input(X)
        device = self._fit_device()
        backbone = self._load_backbone(X.shape[1] if vectors else None)
        images = self._check_images(X, backbone, vectors)
        layer_name = backbone.resolve_layer(self.layer)
        spec = self._input_spec(backbone, images, normalize=self.preprocess)
        sample = X[:1] if vectors else images.subset([0])
        backbone.eval()
        codes = self._encode(sample, backbone, layer_name, self.pooling, spec, device)
        self.backbone_ = backbone
        self.layer_name_ = layer_name
        self._input = spec
        # As fitted: set_params(pooling=...) without a refit must not change the codes' width
        # under get_feature_names_out.
        self._pooling = self.pooling
        self._n_features_out = codes.shape[1]
        return self

    def _load_backbone(self, in_features):
        if isinstance(self.backbone, str) and _names_pretrained_weights(self.weights):
            # Building the network draws its initial weights from torch's global RNG before
            # the pretrained ones replace them; random_state plays no part.
            with rng_kept():
                return _shared_pretrained(self.backbone, self.weights)
        with seeded(self.random_state):
            return self._build_backbone(in_features)

    def transform(self, X):
        """Compute the codes of ``X``.

        Parameters
        ----------
        %(X)s

        Returns
        -------
        codes : ndarray of shape (n_samples, n_codes), dtype float32
            The pooled activations of ``layer``, one row per input.
        """
        check_is_fitted(self)
        X = self._validate_input(X, same_size=self._pooling == "flatten")
        device = self._predict_device()
        cache = None
        if self.memory is not None:
            cache = CodeCache(self.memory, self._cache_config(device))
        if cache is None or not cache.enabled:
            return self._encode_fitted(X, device)
        return self._encode_cached(X, device, cache)

    def _encode_cached(self, X, device, cache):
        keys = row_digests(X) if self._vectors else X.row_keys()
        hits, missing = cache.lookup(keys)
        if len(missing):
            new = self._encode_fitted(X[missing] if self._vectors else X.subset(missing), device)
            cache.add([keys[i] for i in missing], new)
            hits.update(zip(missing.tolist(), new, strict=True))
        return np.stack([hits[i] for i in range(len(keys))]).astype(np.float32, copy=False)

    @property
    def _vectors(self):
        return self._input.kind == "vector"

    def _encode_fitted(self, X, device):
        n_batches = -(-len(X) // self._inference_batch_size(device))
        progress = tqdm(total=n_batches, disable=not self.verbose, unit="batch")
        with progress:
            return self._encode(
                X, self.backbone_, self.layer_name_, self._pooling, self._input, device, progress
            )

    def _encode(self, X, backbone, layer_name, pooling, spec, device, progress=None):
        batches = self._batches(X, device, spec)
        return _run(backbone, layer_name, pooling, batches, self, device, progress)

    def _cache_config(self, device):
        state = {k: tensor_bytes(v) for k, v in self.backbone_.model.state_dict().items()}
        # What the codes are computed with: the fitted settings, whatever set_params did since.
        return {
            "weights": joblib.hash(state),
            "architecture": repr(self.backbone_.model),
            # Plain attributes that forward reads (GoogLeNet's transform_input, a user's scale)
            # are in neither the state dict nor the repr.
            "settings": module_settings(self.backbone_.model),
            "layer": self.layer_name_,
            "pooling": self._pooling,
            "image_size": self._input.image_size,
            "preprocess": self._input.normalize,
            "preprocessing": self.backbone_.preprocessing,
            # bfloat16 codes differ from float32 ones: never serve one for the other.
            "precision": resolved_precision(self.precision, device),
        }

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
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


def _run(backbone, layer, pooling, batches, estimator, device, progress=None):
    """The pooled activations of ``layer`` for every batch (the shared inference loop)."""

    def codes(x):
        return _pool(backbone.features(x, stop=layer), pooling)

    return estimator._run(backbone, codes, batches, device, progress)


def _pool(activations, pooling):
    if activations.ndim == 2 or pooling == "flatten":
        return torch.flatten(activations, 1)
    dims = (2, 3) if activations.ndim == 4 else tuple(range(1, activations.ndim - 1))
    if pooling == "avg":
        return activations.mean(dim=dims)
    return activations.amax(dim=dims)
