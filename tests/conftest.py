import os
from pathlib import Path

import matplotlib

# One backend for every test, set before anything imports pyplot: no window, no display.
matplotlib.use("Agg")

import pytest  # noqa: E402
import torch  # noqa: E402

# The course's development machines keep a copy of Multi30k beside the repository checkout;
# the library never looks there itself, so point it there for the tests that use the real
# corpus (they skip without it). An ANNOTATED_MULTI30K already set wins. Nothing downloads.
_SHARED_MULTI30K = Path(__file__).resolve().parents[2] / "shared" / "data" / "multi30k"
if not os.environ.get("ANNOTATED_MULTI30K") and _SHARED_MULTI30K.is_dir():
    os.environ["ANNOTATED_MULTI30K"] = str(_SHARED_MULTI30K)


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)
    yield


# The tests' models are tiny: a second thread only adds overhead, and on a busy machine
# (cores shared with other jobs) OpenMP's waiting threads can make each step 100x slower.
torch.set_num_threads(1)
