import matplotlib

# One backend for every test, set before anything imports pyplot: no window, no display.
matplotlib.use("Agg")

import pytest  # noqa: E402
import torch  # noqa: E402


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)
    yield


# The tests' models are tiny: a second thread only adds overhead, and on a busy machine
# (cores shared with other jobs) OpenMP's waiting threads can make each step 100x slower.
torch.set_num_threads(1)
