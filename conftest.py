"""Root pytest configuration: point nbval at the sanitizer wherever pytest is started from."""

from pathlib import Path

ROOT = Path(__file__).parent


def pytest_configure(config):
    if getattr(config.option, "nbval", False) and not config.option.nbval_sanitize_with:
        config.option.nbval_sanitize_with = str(ROOT / "notebooks" / "sanitize.cfg")
