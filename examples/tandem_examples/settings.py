"""The examples' one setting: where their data lies (Tandem itself reads no data)."""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_DATA_DIR = Path("../shared/data")


def data_dir() -> Path:
    """TANDEM_DATA_DIR, else ../shared/data (beside a checkout of the project)."""
    return Path(os.environ.get("TANDEM_DATA_DIR") or DEFAULT_DATA_DIR)
