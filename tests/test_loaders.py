"""The packaged datasets' loaders."""

import pytest
from sklearn.utils._param_validation import InvalidParameterError

from sktransfer.datasets import load_animal_attributes, load_animal_silhouettes


@pytest.mark.parametrize(
    "loader, param",
    [(load_animal_silhouettes, "return_X_y"), (load_animal_attributes, "as_frame")],
)
def test_loaders_refuse_a_flag_that_is_not_a_boolean(loader, param):
    """Before: "yes" was read as true, 0.0 as false, without a word."""
    with pytest.raises(InvalidParameterError, match=f"The '{param}' parameter of"):
        loader(**{param: "yes"})


def test_loaders_return_what_their_flags_ask_for():
    images, y = load_animal_silhouettes(return_X_y=True)
    assert images.shape == (3000, 28, 28) and y.shape == (3000,)
    bunch = load_animal_silhouettes()
    assert bunch.images.shape == images.shape
    table = load_animal_attributes(as_frame=True)
    assert table.frame.shape[0] == len(bunch.target_names)
