"""Atomic fits: a fit that raises leaves the estimator exactly as it was before the call."""

import functools

__all__ = ["atomic_fit"]


def atomic_fit(fit):
    """Wrap ``fit`` (or ``fit_transform``) so that a call that raises changes nothing.

    Without it, a refused fit keeps what ran before the error: ``n_features_in_`` from the
    input checks (an unfitted estimator then looks fitted and fails with an AttributeError
    instead of a NotFittedError), or a new ``classes_`` next to the old model. The fits of the
    library rebind their fitted attributes rather than change them in place, so a shallow copy
    of the instance's ``__dict__`` is enough to restore them.
    """

    @functools.wraps(fit)
    def wrapper(self, *args, **kwargs):
        before = dict(self.__dict__)
        try:
            return fit(self, *args, **kwargs)
        except BaseException:
            self.__dict__.clear()
            self.__dict__.update(before)
            raise

    # The network base wraps each subclass's fit once, and not again when it is inherited.
    wrapper.__atomic__ = True
    return wrapper
