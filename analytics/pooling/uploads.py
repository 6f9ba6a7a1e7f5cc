"""Uploads: example files shipped with the product and uploaded files awaiting a load."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from analytics.pooling.errors import IngestError
from analytics.settings import settings

EXAMPLES_DIR = settings().examples_dir


def example_path(name: str) -> Path:
    """One of the example department files shipped with the product."""
    path = EXAMPLES_DIR / Path(name).name
    if not path.is_file():
        raise IngestError(f"no example file {name}")
    return path


def upload_dir() -> Path:
    """Where uploaded files wait between validation and loading (the system temp folder)."""
    import tempfile

    return Path(tempfile.gettempdir()) / "citybrain-uploads"


def read_upload(data: bytes, name: str, directory: Path) -> Path:
    """Save an uploaded file's bytes under ``directory`` (the page's upload area)."""
    directory.mkdir(parents=True, exist_ok=True)
    # Named by content, so re-running the page does not pile up copies of the same upload.
    safe = re.sub(r"[^\w.\-]", "_", Path(name).name) or "upload"
    path = directory / f"{hashlib.sha256(data).hexdigest()[:16]}-{safe}"
    if path.exists():
        return path
    path.write_bytes(data)
    return path


