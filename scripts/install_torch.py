"""Install PyTorch into this interpreter only if it is missing.

- torch already importable (Colab, a conda env, an earlier run): keep it, whatever build it is.
- Linux without an NVIDIA GPU: a CPU build (about 200 MB) instead of PyPI's default CUDA
  build (several GB): first a `+cpu` wheel pip can already see (a local wheel folder or
  mirror), else PyTorch's CPU wheel index.
- Anywhere else (a CUDA machine, macOS, Windows): the default wheel from PyPI.
"""

from __future__ import annotations

import importlib.util
import os
import platform
import shutil
import subprocess
import sys

CPU_INDEX = "https://download.pytorch.org/whl/cpu"
FLOOR = "torch>=2.5"


def pip(*args: str) -> int:
    cmd = [sys.executable, "-m", "pip", "install", "-q", *args]
    print("+", " ".join(cmd), flush=True)
    return subprocess.call(cmd)


def main() -> int:
    if importlib.util.find_spec("torch") is not None:
        import torch

        print(f"torch {torch.__version__} is already installed: keeping it")
        return 0
    if platform.system() == "Linux" and shutil.which("nvidia-smi") is None:
        version = os.environ.get("TORCH_CPU_VERSION", "2.13.0")
        if pip(f"torch=={version}+cpu") == 0 or pip(FLOOR, "--index-url", CPU_INDEX) == 0:
            return 0
        print("could not install a CPU build of torch; see https://pytorch.org/get-started/",
              file=sys.stderr)
        return 1
    return pip(FLOOR)


if __name__ == "__main__":
    sys.exit(main())
