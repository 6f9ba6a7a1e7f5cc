"""How the CLI finds the server that owns a store, and talks to it.

A running server writes ``<store>.server.json`` (its address and process id) and answers
``GET /api/health``. :func:`running` returns a :class:`Client` for it, or None when no server
holds the store (the CLI then opens the file itself). The token for calls that need one comes
from ``--token`` or ``$CITYBRAIN_TOKEN``.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import requests

from analytics.errors import CityBrainError
from analytics.server.state import server_file

TIMEOUT = 5


class ServerRefused(CityBrainError):
    """The server answered with an error (its CKAN-shaped message is the text)."""

    def __init__(self, message: str, status: int, body: dict | None = None):
        super().__init__(message)
        self.status = status
        self.body = body or {}


@dataclass
class Client:
    url: str
    token: str | None = None

    def _headers(self) -> dict:
        return {"Authorization": self.token} if self.token else {}

    @staticmethod
    def _raise(r: requests.Response) -> None:
        try:
            body = r.json()
        except ValueError:
            body = {}
        error = body.get("error") if isinstance(body, dict) else None
        message = error.get("message") if isinstance(error, dict) else r.text[:300]
        raise ServerRefused(f"the server refused ({r.status_code}): {message}", r.status_code,
                            body if isinstance(body, dict) else {})

    def _call(self, method, url, **kw) -> requests.Response:
        try:
            return method(url, **kw)
        except requests.ConnectionError:
            raise CityBrainError(f"no server answers at {self.url} any more: is it still "
                                 "running?") from None

    def health(self) -> dict:
        r = requests.get(f"{self.url}/api/health", timeout=TIMEOUT)
        r.raise_for_status()
        return r.json()

    def action(self, name: str, **params) -> object:
        r = self._call(requests.post, f"{self.url}/api/3/action/{name}", json=params,
                          headers=self._headers(), timeout=60)
        if r.status_code != 200:
            self._raise(r)
        return r.json()["result"]

    def download(self, path: str, out: Path) -> int:
        """Stream ``GET path`` into ``out``; returns the bytes written."""
        with requests.get(f"{self.url}{path}", headers=self._headers(), stream=True,
                          timeout=600) as r:
            if r.status_code != 200:
                self._raise(r)
            out.parent.mkdir(parents=True, exist_ok=True)
            size = 0
            with out.open("wb") as f:
                for chunk in r.iter_content(1 << 20):
                    f.write(chunk)
                    size += len(chunk)
        return size

    def push(self, dataset_id: str, file: Path, validate_only: bool = False) -> tuple[int, dict]:
        with file.open("rb") as f:
            r = requests.post(f"{self.url}/api/pooling/{dataset_id}",
                              params={"validate_only": "true" if validate_only else "false"},
                              files={"file": (file.name, f)}, headers=self._headers(),
                              timeout=3600)
        if r.status_code not in (200, 422):
            self._raise(r)
        return r.status_code, r.json()

    def readings(self, body: bytes, content_type: str = "application/x-ndjson") -> dict:
        r = self._call(requests.post, f"{self.url}/api/sensors/readings", data=body,
                          headers={**self._headers(), "Content-Type": content_type},
                          timeout=60)
        if r.status_code != 200:
            self._raise(r)
        return r.json()


def running(store_path: Path | str, token: str | None = None) -> Client | None:
    """A client for the server that holds ``store_path``, or None if none answers."""
    f = server_file(store_path)
    try:
        info = json.loads(f.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    client = Client(str(info.get("url", "")).rstrip("/"),
                    token or os.environ.get("CITYBRAIN_TOKEN") or None)
    try:
        health = client.health()
    except (requests.RequestException, ValueError):
        return None
    if health.get("store") != Path(store_path).name:
        return None
    return client
