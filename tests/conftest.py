import os

import pytest
import torch

# Session fixtures shared by several test directories (pytest registers what a conftest imports).
from tests.explain_helpers import image_run, table_explanation, table_run  # noqa: F401
from tests.small_data import image_npz  # noqa: F401


# Under pytest-xdist each worker gets one thread: 2 workers on 2 cores, no oversubscription.
if os.environ.get("PYTEST_XDIST_WORKER"):
    torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def _seeded():
    import meddl

    meddl.set_seed(0)
    yield
