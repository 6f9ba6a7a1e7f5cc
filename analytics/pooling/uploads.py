"""Uploads: example files shipped with the product and uploaded files awaiting a load.

Only a signed-in data steward or administrator may upload (:func:`save`); a file is kept
owner-readable (mode 600) in a private folder, deleted once it is loaded (:func:`discard`),
and any file older than :data:`MAX_AGE` is swept away on the next upload, so nothing piles
up in the temp folder.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from analytics.errors import CityBrainError
from analytics.identity import Actor, require
from analytics.pooling.errors import IngestError
from analytics.settings import settings

EXAMPLES_DIR = settings().examples_dir
MAX_AGE = timedelta(hours=1)
MAX_BYTES = 200 * 1024 * 1024   # the page's upload limit
UPLOADER_ROLES = ("data_steward", "administrator")


def example_path(name: str) -> Path:
    """One of the example department files shipped with the product."""
    path = EXAMPLES_DIR / Path(name).name
    if not path.is_file():
        raise IngestError(f"no example file {name}", code="ingest_no_example", file=name)
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




def folder() -> Path:
    """The private upload folder (mode 700) in the system temp folder."""
    path = Path(tempfile.gettempdir()) / f"citybrain-uploads-{os.getuid()}"
    path.mkdir(mode=0o700, exist_ok=True)
    if path.stat().st_mode & 0o077:
        os.chmod(path, 0o700)
    return path


def sweep(directory: Path | None = None, max_age: timedelta = MAX_AGE,
          now: float | None = None) -> int:
    """Delete uploads older than ``max_age``; returns how many went."""
    directory = directory or folder()
    limit = (now or time.time()) - max_age.total_seconds()
    gone = 0
    for path in directory.glob("*"):
        with contextlib.suppress(FileNotFoundError):
            if path.is_file() and path.stat().st_mtime < limit:
                path.unlink()
                gone += 1
    return gone


def save(actor: Actor, data: bytes, name: str, directory: Path | None = None) -> Path:
    """Keep an uploaded file for validation and loading (stewards and administrators only)."""
    require(actor, *UPLOADER_ROLES, action="upload files")
    if len(data) > MAX_BYTES:
        raise CityBrainError(f"{name}: {len(data) / 1e6:,.0f} MB is more than the "
                             f"{MAX_BYTES / 1e6:,.0f} MB an upload may be", code="upload_too_large",
                             file=name, mb=f"{len(data) / 1e6:,.0f}",
                             limit=f"{MAX_BYTES / 1e6:,.0f}")
    directory = directory or folder()
    sweep(directory)
    safe = re.sub(r"[^\w.\-]", "_", Path(name).name) or "upload"
    path = directory / f"{hashlib.sha256(data).hexdigest()[:16]}-{safe}"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    return path


def discard(path: Path | None) -> None:
    """Delete an upload (after its load, or when the steward leaves it)."""
    if path is not None:
        with contextlib.suppress(FileNotFoundError):
            Path(path).unlink()


