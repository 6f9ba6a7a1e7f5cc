"""A map's big layers sent by URL: each layer's rows as a JSON document the dashboard's own
server serves, the URL standing in the map's JSON as the layer's ``data``.

Streamlit's map element parses the whole of a map's JSON in the browser's main thread with
a JSON5 parser (several times slower than the browser's own ``JSON.parse``), at every
change of view; a whole city's hexagons are most of that JSON. deck.gl loads a layer whose
``data`` is a string by URL, with the browser's ``fetch`` and ``JSON.parse``, and the browser
keeps a document it was told never changes. So the map's JSON that goes through the
websocket holds the view, each layer's properties and these URLs; a return to a view seen
before loads its rows from the browser's cache.

The documents are the same released rows as inline ones (made by the same cached functions,
after the access decision and disclosure control); what is new is who can fetch them. A URL
is a capability: ``/map-data/<token>.json`` where the token is an HMAC-SHA256 of the document
under a secret made afresh by each server process, so it can be neither guessed nor worked
out from rows someone else was shown (a person learns a token only from a map the server sent
to them), and it names the content, so a document never changes under its URL (cached as
``private, immutable``). The documents are held in memory, the least recently sent dropped
first beyond :data:`MAX_BYTES`; every sending of a map puts its documents back, so a map sent
is always served. An unknown token is a 404.

Why this is written here: Streamlit's own in-memory file endpoint (``/media/``) names a file
by an unkeyed hash of its content and drops it when the next run of the session that made it
no longer draws it, and no library serves documents under keyed capability URLs; the pieces
are the standard library's ``hmac``, cachetools' LRU and a Starlette route.

Where no server of ours runs (Streamlit's AppTest, a plain ``streamlit run``), nothing is
served and maps carry their rows inline as before (:func:`serving`).
"""

from __future__ import annotations

import gzip
import hashlib
import hmac
import os
import re
import threading
from dataclasses import dataclass, field

from cachetools import LRUCache
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

#: Where the documents are served; ``PATH`` is the route, ``prefix + token + ".json"`` a URL
#: (same origin, no host: nothing leaves the machine the page came from).
PREFIX = "/map-data/"
PATH = PREFIX + "{token}.json"
TOKEN = re.compile(r"^[0-9a-f]{32}$")
#: Memory held by the documents (bytes, with their gzipped forms).
MAX_BYTES = 192 * 1024 * 1024
#: A year: the URL names the content, which never changes.
CACHE_CONTROL = "private, max-age=31536000, immutable"

_SECRET = os.urandom(32)
_serving = threading.Event()


@dataclass
class Document:
    body: bytes
    gzipped: bytes | None = None
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def size(self) -> int:
        return len(self.body) + len(self.gzipped or b"") + 200

    def gzip(self) -> bytes:
        """The body gzipped, worked out once (at the first request that accepts it)."""
        with self.lock:
            if self.gzipped is None:
                self.gzipped = gzip.compress(self.body, compresslevel=6, mtime=0)
            return self.gzipped


_documents: LRUCache = LRUCache(maxsize=MAX_BYTES, getsizeof=Document.size)
_lock = threading.Lock()


def token(body: bytes) -> str:
    """The document's token: HMAC-SHA256 of its bytes under this process's secret (128
    bits, hex)."""
    return hmac.new(_SECRET, body, hashlib.sha256).hexdigest()[:32]


def url(tok: str) -> str:
    return f"{PREFIX}{tok}.json"


def token_of(address: str) -> str | None:
    """The token of a URL made by :func:`url` (None for anything else)."""
    if not isinstance(address, str) or not address.startswith(PREFIX) or \
            not address.endswith(".json"):
        return None
    tok = address[len(PREFIX):-len(".json")]
    return tok if TOKEN.match(tok) else None


def keep(tok: str, body: bytes) -> None:
    """Hold ``body`` under ``tok`` (made by :func:`token`), as the most recently sent."""
    with _lock:
        if tok in _documents:
            _documents[tok]  # noqa: B018 - a look-up marks it the most recently used
            return
        _documents[tok] = Document(body)


def get(tok: str) -> Document | None:
    with _lock:
        return _documents.get(tok)


def rows_bytes(address: str) -> bytes | None:
    """The document a URL names, as served (None: not one of ours, or not held)."""
    tok = token_of(address)
    doc = get(tok) if tok else None
    return doc.body if doc is not None else None


def serving() -> bool:
    """Whether this process serves the documents (the dashboard's server runs)."""
    return _serving.is_set()


def serve(on: bool = True) -> None:
    """Say that this process's server has the route (set by the server at start-up and
    cleared at shutdown; tests set it to see maps as a served page gets them)."""
    (_serving.set if on else _serving.clear)()


def clear() -> None:
    with _lock:
        _documents.clear()


async def endpoint(request: Request) -> Response:
    """``GET /map-data/<token>.json``: the document, gzipped when the browser takes it;
    404 for any token this process does not hold."""
    tok = request.path_params["token"]
    doc = get(tok) if TOKEN.match(tok) else None
    if doc is None:
        return Response("not found", status_code=404, media_type="text/plain",
                        headers={"Cache-Control": "no-store"})
    headers = {"Cache-Control": CACHE_CONTROL, "ETag": f'"{tok}"', "Vary": "Accept-Encoding",
               "X-Content-Type-Options": "nosniff"}
    body = doc.body
    if "gzip" in request.headers.get("accept-encoding", "") and len(body) > 1000:
        if doc.gzipped is None:
            await run_in_threadpool(doc.gzip)
            with _lock:  # held again, at its new size
                if tok in _documents:
                    _documents[tok] = doc
        body = doc.gzipped
        headers["Content-Encoding"] = "gzip"
    return Response(body, media_type="application/json", headers=headers)


ROUTE = Route(PATH, endpoint, methods=["GET"])
