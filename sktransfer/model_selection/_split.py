"""Cross-validation splitters that keep source and target rows in every fold."""

import math
from numbers import Real

import numpy as np
from sklearn.model_selection import BaseCrossValidator
from sklearn.utils import check_random_state

from ..utils._domains import domain_rows
from ..utils._sklearn import Integers, Interval, _num_samples, validate_parameter_constraints

__all__ = ["DomainShuffleSplit", "LeaveOneSourceOut"]


def _refuse_groups(groups, name):
    """Refuse ``groups``: ``split(X, y, sample_domain)`` put the domains there, unread."""
    if groups is not None:
        # Ignored, they were dropped and the split fell back on y == -1, losing the
        # per-domain balance without a word.
        raise ValueError(
            f"groups is not used by {name}: expected None, got {type(groups).__name__}. Pass the "
            "domains as the keyword sample_domain= (split(X, y, sample_domain=sample_domain)), "
            "or route them with metadata routing; the third positional argument is groups."
        )


def _domains(X, y, sample_domain, name):
    n_samples = _num_samples(X)
    if sample_domain is None and y is None:
        raise ValueError(
            f"{name} needs sample_domain (through metadata routing) or y with -1 marking the "
            "target rows, to keep both domains in every fold."
        )
    rows = domain_rows(y, sample_domain, n_samples, require_source_labels=False)
    if not rows.has_target or rows.is_target.all():
        raise ValueError(
            f"{name} needs source rows (positive sample_domain) and target rows (negative "
            "sample_domain, or y == -1); the data hold only "
            f"{'target' if rows.has_target else 'source'} rows."
        )
    return rows.domain


def _rows_of_each(domain, values, name, kind="domain"):
    """The rows of each domain of ``values``; a domain of fewer than 2 rows is refused."""
    groups = [np.flatnonzero(domain == d) for d in values]
    small = [int(d) for d, rows in zip(values, groups, strict=True) if rows.size < 2]
    if small:
        raise ValueError(
            f"{name} needs at least 2 rows in each {kind}; domains {small} have fewer, so they "
            "cannot appear in both the training and the validation fold."
        )
    return groups


def _split_each(groups, test_size, rng):
    """Each group of rows shuffle-split on its own: all training rows, all validation rows."""
    parts = [_shuffle_split(rows, test_size, rng) for rows in groups]
    return [train for train, _ in parts], [test for _, test in parts]


def _shuffle_split(indices, test_size, rng):
    """A random ``test_size`` share of ``indices`` (at least one row, and one left to train)."""
    n_test = min(max(1, math.ceil(test_size * indices.size)), indices.size - 1)
    permuted = rng.permutation(indices)
    return permuted[n_test:], permuted[:n_test]


class DomainShuffleSplit(BaseCrossValidator):
    """Shuffle-split each domain apart, so that every fold holds source and target rows.

    For unsupervised domain adaptation a validation fold needs labelled source rows (what
    the model must get right) and target rows (what it must adapt to), and so does a training
    fold. Each domain (each value of ``sample_domain``: several sources ``1, 2, ...`` and
    targets ``-1, -2, ...`` alike) is shuffled and split on its own, ``test_size`` of its rows
    going to the validation fold. The splitter requests ``sample_domain`` through metadata
    routing; without it, rows with ``y == -1`` are the target rows.

    Parameters
    ----------
    n_splits : int, default=5
        The number of re-shuffling and splitting iterations.
    test_size : float, default=0.2
        The share of each domain's rows in the validation fold, in ``(0, 1)``.
    random_state : int, RandomState instance or None, default=None
        Seeds the shuffling.

    See Also
    --------
    LeaveOneSourceOut : One fold per source domain, for several sources.

    Examples
    --------
    >>> import numpy as np
    >>> from sktransfer.model_selection import DomainShuffleSplit
    >>> sample_domain = np.array([1, 1, 1, 1, -2, -2, -2, -2])
    >>> cv = DomainShuffleSplit(n_splits=2, test_size=0.25, random_state=0)
    >>> for train, test in cv.split(np.zeros((8, 1)), sample_domain=sample_domain):
    ...     print(sorted(sample_domain[test].tolist()))
    [-2, 1]
    [-2, 1]
    """

    __metadata_request__split = {"sample_domain": True}

    _parameter_constraints: dict = {
        "n_splits": [Integers(1, None, closed="left")],
        "test_size": [Interval(Real, 0, 1, closed="neither")],
        "random_state": ["random_state"],
    }

    def __init__(self, n_splits=5, *, test_size=0.2, random_state=None):
        self.n_splits = n_splits
        self.test_size = test_size
        self.random_state = random_state
        validate_parameter_constraints(
            self._parameter_constraints,
            {"n_splits": n_splits, "test_size": test_size, "random_state": random_state},
            caller_name=type(self).__name__,
        )

    def split(self, X, y=None, groups=None, *, sample_domain=None):
        """Generate training and validation indices, each holding every domain.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
            The rows; only their number is read.
        y : array-like of shape (n_samples,), default=None
            Labels, ``-1`` for unlabelled target rows; read only when ``sample_domain`` is
            None.
        groups : None
            Not used, present for API compatibility; anything but None raises a ValueError
            (the domains go in ``sample_domain``, which is keyword-only).
        sample_domain : array-like of shape (n_samples,), default=None
            Positive for source rows, negative for target rows.

        Yields
        ------
        train : ndarray
            The training rows of the fold.
        test : ndarray
            The validation rows of the fold.
        """
        _refuse_groups(groups, type(self).__name__)
        domain = _domains(X, y, sample_domain, type(self).__name__)
        groups = _rows_of_each(domain, np.unique(domain), type(self).__name__)
        rng = check_random_state(self.random_state)
        for _ in range(self.n_splits):
            train, test = _split_each(groups, self.test_size, rng)
            yield np.sort(np.concatenate(train)), np.sort(np.concatenate(test))

    def get_n_splits(self, X=None, y=None, groups=None, *, sample_domain=None):
        """The number of splits, ``n_splits``.

        Parameters
        ----------
        X : object
            Ignored, present for API compatibility.
        y : object
            Ignored, present for API compatibility.
        groups : None
            Not used, present for API compatibility; anything but None raises a ValueError
            (the domains go in ``sample_domain``, which is keyword-only).
        sample_domain : object
            Ignored, present for API compatibility.

        Returns
        -------
        n_splits : int
            The number of splitting iterations.
        """
        _refuse_groups(groups, type(self).__name__)
        return self.n_splits


class LeaveOneSourceOut(BaseCrossValidator):
    """One fold per source domain: validate on a held-out source, train on the others.

    With several source domains (``sample_domain`` ``1, 2, ...``), holding a whole source out
    measures how a setting carries over to a domain the model never saw labels of. Fold ``k``
    validates on every row of source ``k`` and a random ``test_size`` share of the rows of each
    target domain, and trains on the other sources and the remaining target rows. The splitter
    requests ``sample_domain`` through metadata routing.

    Parameters
    ----------
    test_size : float, default=0.2
        The share of each target domain's rows in each validation fold, in ``(0, 1)``.
    random_state : int, RandomState instance or None, default=None
        Seeds the split of the target rows.

    See Also
    --------
    DomainShuffleSplit : Shuffle-split every domain apart.

    Examples
    --------
    >>> import numpy as np
    >>> from sktransfer.model_selection import LeaveOneSourceOut
    >>> sample_domain = np.array([1, 1, 2, 2, -3, -3, -3, -3])
    >>> cv = LeaveOneSourceOut(test_size=0.5, random_state=0)
    >>> for train, test in cv.split(np.zeros((8, 1)), sample_domain=sample_domain):
    ...     print(np.unique(sample_domain[train]), np.unique(sample_domain[test]))
    [-3  2] [-3  1]
    [-3  1] [-3  2]
    """

    __metadata_request__split = {"sample_domain": True}

    _parameter_constraints: dict = {
        "test_size": [Interval(Real, 0, 1, closed="neither")],
        "random_state": ["random_state"],
    }

    def __init__(self, *, test_size=0.2, random_state=None):
        self.test_size = test_size
        self.random_state = random_state
        validate_parameter_constraints(
            self._parameter_constraints,
            {"test_size": test_size, "random_state": random_state},
            caller_name=type(self).__name__,
        )

    def _sources(self, domain, sample_domain):
        sources = np.unique(domain[domain > 0])
        if sources.size < 2:
            # Without metadata routing, cross_validate's params never reach the splitter,
            # which then read one source from y alone and said so without saying why.
            why = (
                " The splitter was given no sample_domain, so every row with y != -1 is one "
                "source: pass sample_domain to split, or enable metadata routing "
                "(sklearn.set_config(enable_metadata_routing=True)) to route it there."
                if sample_domain is None
                else ""
            )
            raise ValueError(
                "LeaveOneSourceOut needs at least 2 source domains (sample_domain 1, 2, ...); "
                f"got {sources.size}. Use DomainShuffleSplit for one source.{why}"
            )
        return sources

    def split(self, X, y=None, groups=None, *, sample_domain=None):
        """Generate training and validation indices, one fold per source domain.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
            The rows; only their number is read.
        y : array-like of shape (n_samples,), default=None
            Labels, ``-1`` for unlabelled target rows; read only when ``sample_domain`` is
            None.
        groups : None
            Not used, present for API compatibility; anything but None raises a ValueError
            (the domains go in ``sample_domain``, which is keyword-only).
        sample_domain : array-like of shape (n_samples,), default=None
            Positive for source rows, negative for target rows.

        Yields
        ------
        train : ndarray
            The training rows of the fold.
        test : ndarray
            The validation rows of the fold.
        """
        _refuse_groups(groups, type(self).__name__)
        domain = _domains(X, y, sample_domain, type(self).__name__)
        sources = self._sources(domain, sample_domain)
        # Each target domain is split on its own: pooled, a small one could miss the training
        # or the validation fold, and the scorers then averaged over fewer targets.
        targets = _rows_of_each(
            domain, np.unique(domain[domain < 0]), type(self).__name__, "target domain"
        )
        rng = check_random_state(self.random_state)
        for source in sources:
            train, test = _split_each(targets, self.test_size, rng)
            held_out = domain == source
            other_sources = np.flatnonzero((domain > 0) & ~held_out)
            yield (
                np.sort(np.concatenate([other_sources, *train])),
                np.sort(np.concatenate([np.flatnonzero(held_out), *test])),
            )

    def get_n_splits(self, X=None, y=None, groups=None, *, sample_domain=None):
        """The number of splits: the number of source domains.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...), default=None
            The rows; only their number is read.
        y : array-like of shape (n_samples,), default=None
            Labels, read only when ``sample_domain`` is None.
        groups : None
            Not used, present for API compatibility; anything but None raises a ValueError
            (the domains go in ``sample_domain``, which is keyword-only).
        sample_domain : array-like of shape (n_samples,), default=None
            Positive for source rows, negative for target rows.

        Returns
        -------
        n_splits : int
            The number of source domains.
        """
        _refuse_groups(groups, type(self).__name__)
        if X is None:
            if sample_domain is None:
                raise ValueError("LeaveOneSourceOut.get_n_splits needs sample_domain or X, y.")
            # One integer puts every row in one domain: the rows' number is then X's to give.
            X = np.empty((np.size(sample_domain), 0))
        domain = _domains(X, y, sample_domain, type(self).__name__)
        return int(self._sources(domain, sample_domain).size)
