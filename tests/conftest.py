import os

import pytest
import torch

# Under pytest-xdist each worker gets one thread: 2 workers on 2 cores, no oversubscription.
if os.environ.get("PYTEST_XDIST_WORKER"):
    torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def _seeded():
    import meddl

    meddl.set_seed(0)
    yield
