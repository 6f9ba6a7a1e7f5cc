"""Released extracts: a download written once per version of the data, then served as a file.

A portal publishes the released (disclosure-controlled) file of a dataset; it does not
rebuild it for every visitor. The first download of a dataset in a format, for one release
variant, writes that file into a folder beside the store (``<store>.extracts/``, owner-only,
each file mode 600, renamed into place only when whole); later downloads stream the file.
The access decision and the download log still run for every request: only the bytes are
reused.

A file is found again only under the same

* **data version**: the store's build and vintage, the dataset's loaded version and the
  server's change counter of it (a load makes a new version, and the files of older
  versions of the dataset are deleted when the new one is written). Tables a telemetry
  feed appends to are never kept (``LIVE_TABLES``);
* **release variant**: the format, the application the decision served (on-application
  data is masked with a key of that application and cut to its approved fields), the
  dataset's disclosure rules (its spec) and the code of the disclosure control itself, and
  the masking secret's fingerprint. Two callers whose decisions release different rows
  therefore never share a file.

>>> from analytics.opendata.access import Decision
>>> from analytics.identity import PUBLIC
>>> d = Decision("districts", PUBLIC, "download", True, "public dataset")
>>> a = Decision("districts", PUBLIC, "download", True, "x", application_id="A1", fields=("a",))
>>> variant_of(d, None, "csv", "") == variant_of(d, None, "csv", "")
True
>>> variant_of(d, None, "csv", "") == variant_of(a, None, "csv", "")
False
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from analytics.opendata import access, exports, privacy, registry
from analytics.opendata.access import Decision
from analytics.opendata.registry import DatasetSpec
from analytics.store import Store


def _code_digest() -> str:
    """The disclosure control's own code: a changed rule never serves an older file."""
    h = hashlib.sha256()
    for module in (access, privacy, exports):
        h.update(Path(module.__file__).read_bytes())
    return h.hexdigest()


RULES = _code_digest()
#: Seconds after which a partial file is taken as left by a stopped server.
PARTIAL_AGE = 3600.0
_NAME = re.compile(r"^(?P<dataset>[A-Za-z0-9_\-]+)\.(?P<variant>[0-9a-f]{16})\."
                   r"(?P<version>[0-9a-f]{16})\.(?P<suffix>[a-z.]+)$")


def folder_of(store_path: Path | str) -> Path:
    p = Path(store_path)
    return p.with_name(p.name + ".extracts")


def variant_of(decision: Decision, spec: DatasetSpec | None, fmt: str, secret: str) -> str:
    """What the released bytes depend on besides the data (see the module's text)."""
    text = json.dumps([fmt, decision.dataset_id, decision.application_id,
                       list(decision.fields) if decision.fields is not None else None,
                       repr(spec), RULES,
                       hashlib.sha256(secret.encode()).hexdigest() if secret else ""])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


#: Tables a feed appends to all the time (telemetry): their downloads are made for each
#: request, never kept (each batch would make a new version).
LIVE_TABLES = frozenset({"sensor_readings"})


def cacheable(spec: DatasetSpec | None) -> bool:
    return spec is not None and spec.table is not None and spec.table not in LIVE_TABLES


def version_of(store: Store, spec: DatasetSpec, generation: int = 0) -> str:
    """The data version of a dataset: the store's build and vintage, the dataset's loaded
    version (every load, from the API, a page or the CLI, makes a new one) and
    ``generation`` (the server's counter of its changes)."""
    meta = store.meta()
    loaded = store.scalar("ingest.current_version", dataset_id=spec.dataset_id)
    text = json.dumps([meta.get("built_at"), meta.get("data_vintage"), loaded, generation],
                      default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Extract:
    path: Path
    rows: int


class Extracts:
    """The folder of released files of one store."""

    def __init__(self, folder: Path | str):
        self.folder = Path(folder)
        self._gates: dict[str, threading.Lock] = {}
        self._gates_lock = threading.Lock()

    def gate(self, dataset_id: str, fmt: str, variant: str, version: str) -> threading.Lock:
        """The lock of one file: whoever holds it is writing it."""
        name = self.name(dataset_id, fmt, variant, version)
        with self._gates_lock:
            return self._gates.setdefault(name, threading.Lock())

    def _ensure(self) -> None:
        self.folder.mkdir(mode=0o700, exist_ok=True)
        with contextlib.suppress(OSError):
            os.chmod(self.folder, 0o700)

    def name(self, dataset_id: str, fmt: str, variant: str, version: str) -> str:
        return f"{dataset_id}.{variant}.{version}.{exports.SUFFIX[fmt]}"

    def find(self, dataset_id: str, fmt: str, variant: str, version: str) -> Extract | None:
        path = self.folder / self.name(dataset_id, fmt, variant, version)
        meta = path.with_name(path.name + ".json")
        try:
            rows = int(json.loads(meta.read_text(encoding="utf-8"))["rows"])
        except (OSError, ValueError, KeyError):
            return None
        return Extract(path, rows) if path.exists() else None

    @contextlib.contextmanager
    def writing(self, dataset_id: str, fmt: str, variant: str, version: str):
        """A file (opened for writing, mode 600) that becomes the extract when the block
        ends without error, with ``done(rows)`` called; otherwise nothing is left."""
        self._ensure()
        final = self.folder / self.name(dataset_id, fmt, variant, version)
        staged = final.with_name(f".{final.name}.{uuid.uuid4().hex}.partial")
        rows: list[int] = []
        fd = os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            with os.fdopen(fd, "wb") as f:
                yield f, rows.append
                f.flush()
                os.fsync(f.fileno())
            if not rows:
                raise RuntimeError("the extract was not finished")
            meta = final.with_name(final.name + ".json")
            meta_staged = staged.with_name(staged.name + ".json")
            fd = os.open(meta_staged, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as m:
                json.dump({"rows": rows[-1], "dataset_id": dataset_id, "format": fmt}, m)
            os.replace(staged, final)            # the data first, then its note: a note is
            os.replace(meta_staged, meta)        # found only beside a whole file
        finally:
            staged.unlink(missing_ok=True)
            staged.with_name(staged.name + ".json").unlink(missing_ok=True)
        self.prune(dataset_id, version)

    def release(self, store: Store, dataset_id: str, fmt: str, variant: str, version: str,
                actor, application_id: str | None = None, through=None):
        """Export ``dataset_id`` for ``actor`` (the access decision and disclosure control of
        :func:`~analytics.opendata.exports.export`) into its released file, which becomes
        the extract when whole. ``through(file)`` may wrap the file, e.g. to stream the same
        bytes to a response while they are written. Logs no use: the caller logs what it
        serves. Returns ``(ExportResult, Release)``."""
        with self.writing(dataset_id, fmt, variant, version) as (f, done):
            result, release = exports._export(store, dataset_id, fmt,
                                              f if through is None else through(f), actor,
                                              "download", application_id)
            done(result.rows)
        return result, release

    def prune_stale(self, store: Store) -> list[Path]:
        """Delete every file not of its dataset's current data version (a server starting on
        a rebuilt or reloaded store), and any partial file left by a stopped server."""
        gone = []
        if not self.folder.exists():
            return gone
        current: dict[str, str | None] = {}
        for path in self.folder.iterdir():
            m = _NAME.match(path.name.removesuffix(".json"))
            if m is None and path.name.startswith("."):
                with contextlib.suppress(OSError):   # a partial file: only a stale one
                    if time.time() - path.stat().st_mtime < PARTIAL_AGE:
                        continue
            if m is not None and m["dataset"] not in current:
                s = registry.spec_of(store, m["dataset"])
                current[m["dataset"]] = version_of(store, s) if cacheable(s) else None
            if m is None or current[m["dataset"]] != m["version"]:
                with contextlib.suppress(OSError):
                    path.unlink()
                    gone.append(path)
        return gone

    def prune(self, dataset_id: str, version: str) -> list[Path]:
        """Delete the files of ``dataset_id`` made from any other data version."""
        gone = []
        if not self.folder.exists():
            return gone
        for path in self.folder.iterdir():
            m = _NAME.match(path.name.removesuffix(".json"))
            if m and m["dataset"] == dataset_id and m["version"] != version:
                with contextlib.suppress(OSError):
                    path.unlink()
                    gone.append(path)
        return gone
