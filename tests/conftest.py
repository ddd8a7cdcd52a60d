"""Fixtures shared by several test files."""

import pytest
import torch
from sklearn import config_context


@pytest.fixture(scope="module")
def one_torch_thread():
    """Run torch on one thread for a whole test module.

    The toy networks and tiny inputs of the tests gain nothing from intra-op parallelism, and on
    a busy machine torch's waiting threads slow their many small steps down tenfold (the
    torchvision backbones' module took 282 s instead of 41 s). A module opts in with
    ``pytestmark = pytest.mark.usefixtures("one_torch_thread")``, which sets the thread count
    before its other fixtures run.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(autouse=True)
def _sklearn_config_restored():
    """Give every test scikit-learn's global config back as it found it (metadata routing)."""
    with config_context():
        yield
