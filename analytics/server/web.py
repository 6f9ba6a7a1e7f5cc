"""The HTTP routes under ``/api/`` and the catalog documents, as Starlette routes.

Every route resolves who is calling (``Authorization: <token>``, else the signed session
cookie, else the public), applies the rate limit of the address or token, bounds the body,
and runs the library call in a worker thread (DuckDB calls block). Library errors become
CKAN-shaped JSON errors with the matching status.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import os
import queue
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

import orjson
import pandas as pd
from starlette.concurrency import run_in_threadpool
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Match, Route, Router

from analytics.errors import CityBrainError
from analytics.identity import PUBLIC, Actor, PermissionDenied
from analytics.opendata import access, catalog, exports, tokens
from analytics.pooling import ingest
from analytics.pooling.contracts import contracts
from analytics.sensors.model import OPERATOR_ROLES
from analytics.sensors.pipeline import acknowledge, resolve
from analytics.server import ckan, session
from analytics.server.state import ServerState, current

HELP = "/api/3/action/help_show?name={name}"
STREAM_CHUNK = 1 << 20
FILE_CHUNK = 4 << 20
#: Seconds a download waits for another request that is writing the same released file.
GATE_WAIT = 120.0


class _Refused(Exception):
    def __init__(self, response: Response):
        self.response = response


_ORJSON = orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY
_API_ROOT = orjson.dumps({"version": ckan.API_VERSION})


def json_response(doc, status: int = 200, headers: dict | None = None,
                  media_type: str = "application/json") -> Response:
    """A JSON response encoded once, fast (NaN and infinities as null, as JSON has none)."""
    return Response(orjson.dumps(doc, default=str, option=_ORJSON), status_code=status,
                    headers=headers, media_type=media_type)


def envelope_error(err: ckan.ActionError, name: str = "") -> Response:
    headers = {}
    if err.status == 429:
        headers["Retry-After"] = str(err.fields.pop("retry_after", 60))
    return json_response({"help": HELP.format(name=name), "success": False,
                          "error": err.body()}, err.status, headers)


def _error_for(exc: Exception) -> ckan.ActionError:
    """A library error as the CKAN error a client expects."""
    if isinstance(exc, ckan.ActionError):
        return exc
    if isinstance(exc, access.AccessRefused):
        if getattr(exc, "code", None) == "unknown_dataset":
            return ckan.not_found(str(exc))
        return ckan.ActionError("Authorization Error", str(exc))
    if isinstance(exc, PermissionDenied):
        return ckan.ActionError("Authorization Error", str(exc))
    return ckan.ActionError("Validation Error", str(exc))


class Api:
    """The routes of one server (``state``); :meth:`routes` lists them."""

    def __init__(self, state: ServerState | None = None):
        self._state = state
        self._encoded = _Encoded()

    @property
    def state(self) -> ServerState:
        """This server's state (given, or installed by the app's lifespan)."""
        state = self._state or current()
        if state is None:
            raise _Refused(JSONResponse({"success": False, "error": {
                "__type": "Service Unavailable", "message": "the server is starting"}},
                status_code=503, headers={"Retry-After": "5"}))
        return state

    def base_url(self, request: Request) -> str:
        return str(request.base_url).rstrip("/")

    # -- who, and how often -----------------------------------------------------------
    def caller(self, request: Request) -> tuple[Actor, str | None]:
        """(actor, token scope) of a request; raises _Refused for a bad token."""
        store = self.state.store
        header = request.headers.get("authorization") or request.headers.get("x-ckan-api-key")
        if header:
            token = header.removeprefix("Bearer ").strip()
            use = tokens.verify(store, token)
            if use is None:
                raise _Refused(envelope_error(ckan.ActionError(
                    "Authorization Error", "the API token is unknown, revoked or expired: "
                    "create a new one on your account page")))
            return use.actor, use.scope
        actor = session.actor_from_cookie(store, request.cookies.get(session.COOKIE))
        return (actor or PUBLIC), None

    def limit(self, request: Request, actor: Actor, scope: str | None) -> None:
        limits = self.state.limits
        if scope is not None:
            key, per_minute = f"token:{actor.name}", limits.token_per_minute
        else:
            key = f"addr:{request.client.host if request.client else '?'}"
            per_minute = limits.anonymous_per_minute if actor.name == PUBLIC.name \
                else limits.token_per_minute
        retry = self.state.limiter.hit(key, per_minute)
        if retry is not None:
            err = ckan.ActionError("Authorization Error",
                                   f"rate limit of {per_minute} requests a minute reached; "
                                   f"retry in {retry} s", status=429,
                                   fields={"retry_after": retry})
            raise _Refused(envelope_error(err))

    async def body(self, request: Request, limit: int) -> bytes:
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > limit:
            raise _Refused(envelope_error(ckan.ActionError(
                "Validation Error", f"the request body is {int(declared):,} bytes; at most "
                f"{limit:,} are accepted", status=413)))
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise _Refused(envelope_error(ckan.ActionError(
                    "Validation Error", f"the request body is over {limit:,} bytes",
                    status=413)))
            chunks.append(chunk)
        return b"".join(chunks)

    def wrap(self, handler: Callable) -> Callable:
        async def endpoint(request: Request) -> Response:
            try:
                if _bears_credentials(request):
                    # A token's or a session's lookup may read the store, and a session's
                    # use (a token's once a minute) is written: in a worker thread, never
                    # on the event loop, where that write would wait for a load's
                    # transaction with every other request behind it.
                    actor, scope = await run_in_threadpool(self.caller, request)
                else:
                    _ = self.state                      # a 503 while the server starts
                    actor, scope = PUBLIC, None
                self.limit(request, actor, scope)
                return await handler(request, actor, scope)
            except _Refused as refused:
                return refused.response
            except CityBrainError as exc:
                return envelope_error(_error_for(exc), request.path_params.get("name", ""))
            except Exception:  # noqa: BLE001 - a CKAN-shaped 500, the traceback to the log
                import traceback

                traceback.print_exc()
                return envelope_error(ckan.ActionError(
                    "Internal Server Error", "the server failed on this request; it is "
                    "logged", status=500), request.path_params.get("name", ""))
        return endpoint

    # -- routes -----------------------------------------------------------------------
    async def health(self, request: Request, actor: Actor, scope) -> Response:
        meta = await run_in_threadpool(self.state.store.meta)
        snap = self.state.snapshot_file()
        return JSONResponse({
            "status": "ok", "store": self.state.store.path.name if self.state.store.path else None,
            "vintage": meta.get("data_vintage"), "built_at": meta.get("built_at"),
            "schema_version": meta.get("schema_version"), "city_adcode": meta.get("city_adcode"),
            "generation": self.state.cache.generation,
            "snapshot": snap.name if snap is not None and snap.exists() else None,
            "snapshot_at": self.state.snapshot_at,
            **(self.state.readiness() if self.state.readiness is not None else {})})

    async def action(self, request: Request, actor: Actor, scope) -> Response:
        name = request.path_params["name"]
        if scope == "telemetry":
            raise _Refused(envelope_error(ckan.ActionError(
                "Authorization Error", "a gateway token may only push sensor readings"), name))
        params: dict = dict(request.query_params)
        if request.method == "POST":
            raw = await self.body(request, self.state.limits.action_body_bytes)
            ctype = request.headers.get("content-type", "")
            if raw.strip():
                if "application/x-www-form-urlencoded" in ctype:
                    from urllib.parse import parse_qsl

                    params.update(parse_qsl(raw.decode("utf-8", "replace")))
                else:
                    try:
                        body = json.loads(raw)
                    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                        raise _Refused(envelope_error(ckan.ActionError(
                            "Bad Request", f"JSON Error: {exc}", status=400), name)) from None
                    if not isinstance(body, dict):
                        raise _Refused(envelope_error(ckan.ActionError(
                            "Bad Request", "JSON Error: the body must be a JSON object",
                            status=400), name))
                    params.update(body)
        call = ckan.Call(self.state.store, actor, self.base_url(request), self.state.cache,
                         log=self.state.log)
        # An identical earlier request's result is given on the event loop, without a
        # worker thread (decided and logged all the same); anything else runs in a thread.
        result = ckan.held(call, name, params)
        if result is None:
            result = await run_in_threadpool(ckan.call, call, name, params)
        gzip_ok = "gzip" in request.headers.get("accept-encoding", "")
        body, gzipped = self._encoded.get(name, result, gzip_ok)
        headers = {"Vary": "Accept-Encoding"}
        if gzipped:
            headers["Content-Encoding"] = "gzip"
        return Response(body, headers=headers, media_type="application/json")

    # -- downloads --------------------------------------------------------------------
    async def _stream(self, write: Callable[[object], object]):
        """Run ``write(file)`` in a thread and stream what it writes (bounded buffer).

        Waits for the first bytes (or the end) before answering, so an error raised before
        anything was written is answered as an error, not as an empty 200."""
        pipe = _Pipe()
        errors: list[BaseException] = []

        def run():
            try:
                write(pipe)
            except BaseException as exc:  # noqa: BLE001 - reported below or ends the stream
                errors.append(exc)
            finally:
                pipe.finish()

        threading.Thread(target=run, name="download", daemon=True).start()
        try:
            first = await asyncio.to_thread(pipe.get)
        except BaseException:        # the client went away before the first bytes
            pipe.abandon()
            raise
        if first is None and errors:
            raise errors[0]

        async def body():
            chunk = first
            try:
                while chunk is not None:
                    yield chunk
                    chunk = await asyncio.to_thread(pipe.get)
            finally:
                pipe.abandon()
        return body()

    async def download(self, request: Request, actor: Actor, scope) -> Response:
        dataset_id, fmt = request.path_params["dataset_id"], request.path_params["fmt"].lower()
        if fmt not in catalog.FORMATS:
            raise ckan.ActionError("Not Found Error", f"no format {fmt!r}; formats are "
                                   f"{', '.join(catalog.FORMATS)}")
        store, cache = self.state.store, self.state.cache
        rows = await run_in_threadpool(cache.catalog_rows, store)
        # Decide before the first byte, so a refusal is a proper error response.
        decision = await run_in_threadpool(access.decide, store, dataset_id, actor, "download",
                                           row=rows.get(dataset_id))
        if not decision.allowed:
            await run_in_threadpool(access.authorize, store, dataset_id, actor, "download",
                                    fmt=fmt)  # logs and raises
        row = rows[dataset_id]
        if fmt not in row["formats"].split(","):
            raise ckan.not_found(f"{dataset_id} is not offered as {fmt}; it is offered as "
                                 f"{row['formats'] or 'nothing'}")
        name = f"{dataset_id}.{exports.SUFFIX[fmt]}"
        headers = {"Content-Disposition": f'attachment; filename="{name}"'}
        media = catalog.MEDIA_TYPES[fmt]
        extracts = self.state.extracts
        key = None if extracts is None else await run_in_threadpool(
            self._extract_key, decision, fmt, cache.dataset_generation(dataset_id))
        if key is None:   # an in-memory store, or a live feed: made for every request
            body = await self._stream(lambda out: exports.export(
                store, dataset_id, fmt, out, actor, "download"))
            return StreamingResponse(body, media_type=media, headers=headers)
        variant, version = key
        gate = extracts.gate(dataset_id, fmt, variant, version)
        while True:
            found = await run_in_threadpool(extracts.find, dataset_id, fmt, variant, version)
            if found is not None:
                try:
                    f = open(found.path, "rb")  # noqa: SIM115 - closed by the body's end
                except OSError:              # pruned since it was found: make it again
                    found = None
            if found is not None:
                headers["Content-Length"] = str(os.fstat(f.fileno()).st_size)
                return StreamingResponse(self._file_body(f, decision, fmt, found.rows),
                                         media_type=media, headers=headers)
            if gate.acquire(blocking=False):
                break                        # this request writes the file
            # another request is writing this very file: wait for it, then stream it (one
            # export at a time, however many ask at once); past GATE_WAIT, make our own
            if not await asyncio.to_thread(_wait_for, gate, GATE_WAIT):
                body = await self._stream(lambda out: exports.export(
                    store, dataset_id, fmt, out, actor, "download"))
                return StreamingResponse(body, media_type=media, headers=headers)

        def write(out):
            # The released file is written beside the stream; it becomes the extract only
            # when whole, and the download is logged as served once delivered.
            try:
                result, release = extracts.release(
                    store, dataset_id, fmt, variant, version, actor, decision.application_id,
                    through=lambda f: _Tee(f, out))
            finally:
                gate.release()
            access.log(store, release.decision, fmt, result.rows)

        body = await self._stream(write)
        return StreamingResponse(body, media_type=media, headers=headers)

    def _extract_key(self, decision: access.Decision, fmt: str, generation: int):
        return self.state.extract_key(decision, fmt, generation)

    async def _file_body(self, f, decision: access.Decision, fmt: str, rows: int):
        """A released file's bytes, a large chunk at a time (flat memory); the download is
        logged as served once the last byte is sent."""
        try:
            while chunk := await asyncio.to_thread(f.read, FILE_CHUNK):
                yield chunk
        finally:
            f.close()
        await run_in_threadpool(access.log, self.state.store, decision, fmt, rows)

    async def domain_zip(self, request: Request, actor: Actor, scope) -> Response:
        theme = request.path_params["theme"]
        fmt = request.query_params.get("format", "parquet").lower()
        store = self.state.store
        frame = await run_in_threadpool(catalog.datasets, store)
        if theme not in set(frame["theme"]):
            raise ckan.not_found(f"no domain {theme!r}; group_list lists the domains")
        if fmt not in catalog.TABULAR_FORMATS:
            raise ckan.invalid("format", "a domain ZIP holds csv, parquet or xlsx files")
        body = await self._stream(lambda out: exports.export_domain(store, theme, out, actor,
                                                                     "download", fmt))
        return StreamingResponse(body, media_type="application/zip", headers={
            "Content-Disposition": f'attachment; filename="{theme}.zip"'})

    async def catalog_jsonld(self, request: Request, actor: Actor, scope) -> Response:
        frame, meta = await run_in_threadpool(self._catalog_and_meta)
        doc = catalog.dcat_jsonld(frame, meta, self.base_url(request))
        return _json(doc, "application/ld+json")

    async def dataset_jsonld(self, request: Request, actor: Actor, scope) -> Response:
        dataset_id = request.path_params["dataset_id"]
        frame, meta = await run_in_threadpool(self._catalog_and_meta)
        hit = frame[frame["dataset_id"] == dataset_id]
        if hit.empty:
            raise ckan.not_found(f"dataset {dataset_id!r} is not in the catalog")
        doc = catalog.dcat_jsonld(hit, meta, self.base_url(request))
        entry = doc["dcat:dataset"][0]
        entry["@context"] = doc["@context"]
        return _json(entry, "application/ld+json")

    async def data_json(self, request: Request, actor: Actor, scope) -> Response:
        frame, meta = await run_in_threadpool(self._catalog_and_meta)
        return _json(catalog.data_json(frame, meta, self.base_url(request)), "application/json")

    def _catalog_and_meta(self):
        return catalog.datasets(self.state.store), self.state.store.meta()

    # -- department push --------------------------------------------------------------
    async def pooling(self, request: Request, actor: Actor, scope) -> Response:
        dataset_id = request.path_params["dataset_id"]
        validate_only = request.query_params.get("validate_only", "false").lower() in (
            "true", "1", "yes")
        if scope == "telemetry":
            raise ckan.ActionError("Authorization Error", "a gateway token may only push "
                                   "sensor readings")
        if actor.name == PUBLIC.name:
            raise ckan.ActionError("Authorization Error", "a push needs a data steward's "
                                   "token: send it as the Authorization header")
        known = contracts()
        if dataset_id not in known:
            raise ckan.not_found(f"no contract for {dataset_id!r}; datasets that take pushes: "
                                 f"{', '.join(known)}")
        await run_in_threadpool(ingest.check_may_load, actor, known[dataset_id])
        limit = self.state.limits.upload_bytes
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > limit:
            raise ckan.ActionError("Validation Error", f"the upload is {int(declared):,} "
                                   f"bytes; at most {limit:,} are accepted", status=413)
        async with request.form(max_files=1, max_fields=10, max_part_size=limit) as form:
            upload = form.get("file") or form.get("upload")
            if upload is None or not hasattr(upload, "read"):
                raise ckan.invalid("file", "send the department's file as the multipart "
                                   "field 'file'")
            name = Path(upload.filename or "upload").name[:200]
            with tempfile.TemporaryDirectory() as tmp:
                path = Path(tmp) / name
                with path.open("wb") as f:
                    while chunk := await upload.read(STREAM_CHUNK):
                        f.write(chunk)
                result = await run_in_threadpool(self._push, path, dataset_id, actor,
                                                 validate_only, name)
        return result

    def _push(self, path: Path, dataset_id: str, actor: Actor, validate_only: bool,
              name: str) -> Response:
        store = self.state.store
        try:
            if validate_only:
                report = ingest.validate(store, path, dataset_id, file_name=name)
            else:
                # the store announces the load; the server's state hears it (as it does a
                # page's) and renews its caches, indicators, snapshot and sensor pipeline
                report = ingest.load(store, path, dataset_id, actor, file_name=name)
        except ingest.IngestRejected as exc:
            report = exc.report
        except ingest.IngestError as exc:
            return JSONResponse({"success": False, "dataset_id": dataset_id, "file": name,
                                 "status": "unreadable", "problem_count": 1, "problems": [
                                     {"file": name, "row": None, "column": None, "value": None,
                                      "rule": "readable", "message": str(exc)}]},
                                status_code=422)
        body = report_json(report, validate_only)
        return JSONResponse(body, status_code=200 if report.ok else 422)

    # -- telemetry --------------------------------------------------------------------
    async def readings(self, request: Request, actor: Actor, scope) -> Response:
        if scope != "telemetry" and actor.role not in OPERATOR_ROLES:
            raise ckan.ActionError("Authorization Error", "readings need a gateway token "
                                   "(created on the account page of a data steward or an "
                                   "administrator)")
        raw = await self.body(request, self.state.limits.readings_body_bytes)
        ctype = request.headers.get("content-type", "")
        frame = await run_in_threadpool(parse_readings, raw, ctype)
        # Arrival is when this server received the batch, whatever the sender says.
        frame = frame.drop(columns=["arrived_at"], errors="ignore")
        pipeline = await run_in_threadpool(self.state.sensors)
        result = await run_in_threadpool(pipeline.ingest, frame)
        if result.accepted:
            self.state.cache.bump("sensor_readings")
        return JSONResponse({
            "success": True, "received": result.received, "accepted": result.accepted,
            "late": result.late, "rejected": dict(result.rejected),
            "refused": int(sum(result.rejected.values())), "alerts_raised": result.raised,
            "alerts_cleared": result.cleared,
            "committed_at": result.committed_at.isoformat()})

    async def alerts(self, request: Request, actor: Actor, scope) -> Response:
        if scope != "telemetry" and actor.role not in OPERATOR_ROLES:
            raise ckan.ActionError("Authorization Error", "alerts are for operators (a data "
                                   "steward's or an administrator's token) and gateways")
        since_raw = request.query_params.get("since")
        try:
            since = pd.Timestamp(since_raw) if since_raw else pd.Timestamp(0)
        except (ValueError, TypeError):
            raise ckan.invalid("since", f"since must be a time such as 2026-01-01T00:00:00, "
                               f"not {str(since_raw)[:40]!r}") from None
        if since.tzinfo is not None:
            since = since.tz_convert("UTC").tz_localize(None)
        frame = await run_in_threadpool(self.state.store.query, "api.alerts_since",
                                        since=since.to_pydatetime())
        records = json.loads(frame.to_json(orient="records", date_format="iso"))
        return JSONResponse({"success": True, "since": str(since), "count": len(records),
                             "alerts": records})

    async def alert_step(self, request: Request, actor: Actor, scope) -> Response:
        """``POST /api/sensors/alerts/{alert_id}/acknowledge`` or ``…/resolve``: a city's
        dispatch system moves an alert on, as the Infrastructure page's buttons do (an open
        alert is acknowledged, an acknowledged one resolved), in the caller's name."""
        if scope == "telemetry" or actor.role not in OPERATOR_ROLES:
            raise ckan.ActionError("Authorization Error", "acknowledging and resolving alerts "
                                   "is for operators (a data steward's or an administrator's "
                                   "token; not a gateway's)")
        alert_id, step = request.path_params["alert_id"], request.path_params["step"]
        move = {"acknowledge": acknowledge, "resolve": resolve}.get(step)
        if move is None:
            raise ckan.not_found(f"an alert is acknowledged or resolved, not {step[:40]!r}")
        try:
            await run_in_threadpool(move, self.state.store, alert_id, actor)
        except CityBrainError as exc:
            if getattr(exc, "code", None) == "no_alert":
                raise ckan.not_found(str(exc)) from None
            raise
        frame = await run_in_threadpool(self.state.store.query, "api.alert", alert_id=alert_id)
        record = json.loads(frame.to_json(orient="records", date_format="iso"))[0]
        return JSONResponse({"success": True, "alert": record})

    async def api_root(self, request: Request) -> Response:
        """``GET /api/3`` (and ``/api``): the API's version, as CKAN answers it. Constant,
        with no caller resolved and nothing read: the floor any API request stands on."""
        return Response(_API_ROOT, media_type="application/json")

    def routes(self) -> list[Route]:
        w = self.wrap
        return [
            Route("/api", self.api_root, methods=["GET"]),
            Route("/api/3", self.api_root, methods=["GET"]),
            Route("/api/health", w(self.health), methods=["GET"]),
            Route("/api/3/action/{name}", w(self.action), methods=["GET", "POST"]),
            Route("/api/action/{name}", w(self.action), methods=["GET", "POST"]),
            Route("/api/download/domain/{theme}.zip", w(self.domain_zip), methods=["GET"]),
            Route("/api/download/{dataset_id}.{fmt}", w(self.download), methods=["GET"]),
            Route("/catalog.jsonld", w(self.catalog_jsonld), methods=["GET"]),
            Route("/dataset/{dataset_id}.jsonld", w(self.dataset_jsonld), methods=["GET"]),
            Route("/data.json", w(self.data_json), methods=["GET"]),
            Route("/api/pooling/{dataset_id}", w(self.pooling), methods=["POST"]),
            Route("/api/sensors/readings", w(self.readings), methods=["POST"]),
            Route("/api/sensors/alerts", w(self.alerts), methods=["GET"]),
            Route("/api/sensors/alerts/{alert_id}/{step}", w(self.alert_step),
                  methods=["POST"]),
        ]


def _bears_credentials(request: Request) -> bool:
    """Whether a request carries a token or a cookie (which may be the session's)."""
    headers = request.headers
    return "authorization" in headers or "x-ckan-api-key" in headers or "cookie" in headers


def report_json(report, validate_only: bool) -> dict:
    """An ingest report as the push endpoint's answer."""
    problems = json.loads(report.problems.to_json(orient="records", force_ascii=False))
    for p in problems:   # file row numbers as numbers (the header is row 1)
        if isinstance(p.get("row"), str) and p["row"].isdigit():
            p["row"] = int(p["row"])
    return {"success": report.ok, "dataset_id": report.dataset_id, "file": report.file_name,
            "status": "validated" if validate_only and report.ok else report.status,
            "validate_only": validate_only, "rows_in": report.rows_in,
            "rows_out": report.rows_out, "duplicates_dropped": report.duplicates_dropped,
            "version": report.version if not validate_only else None,
            "encoding": report.encoding, "datum": report.datum,
            "problem_count": report.problem_count, "problems": problems}


def parse_readings(raw: bytes, content_type: str) -> pd.DataFrame:
    """A batch of readings from JSON lines (one object a line) or CSV with a header."""
    import io

    try:
        text = raw.decode("utf-8-sig", errors="strict") if raw else ""
    except UnicodeDecodeError as exc:
        raise CityBrainError(f"the batch is not UTF-8 text (byte {exc.start}): send JSON "
                             "lines or CSV in UTF-8") from None
    if not text.strip():
        raise CityBrainError("the batch is empty: send JSON lines or CSV with a header")
    if "csv" in content_type or (not text.lstrip().startswith("{")):
        try:
            frame = pd.read_csv(io.StringIO(text), dtype={"asset_id": str})
        except (pd.errors.ParserError, ValueError) as exc:
            raise CityBrainError(f"the CSV batch cannot be read: {exc}") from None
    else:
        try:
            frame = pd.read_json(io.StringIO(text), lines=True, dtype={"asset_id": str},
                                 convert_dates=False)
        except ValueError as exc:
            raise CityBrainError(f"the JSON-lines batch cannot be read: {exc}") from None
    return frame


def _json(doc: dict, media_type: str) -> Response:
    return json_response(doc, media_type=media_type)


def _wait_for(gate: threading.Lock, seconds: float) -> bool:
    """Wait until whoever holds ``gate`` lets it go (True), or ``seconds`` pass (False)."""
    if not gate.acquire(timeout=seconds):
        return False
    gate.release()
    return True


class _Encoded:
    """Action responses encoded (and gzipped) once per result object.

    A result reused for identical requests (:meth:`ckan.ReleaseCache.answer`) is the same
    object each time, so its bytes are kept beside it (a strong reference, so its id is not
    reused while held). Gzip is done here, once, rather than for every response by the
    server's compression layer, which skips a response that is already encoded."""

    def __init__(self, size: int = 512, minimum: int = 1000):
        self.size, self.minimum = size, minimum
        self._items: OrderedDict[tuple, tuple[object, bytes, bytes | None]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, name: str, result, gzip_ok: bool) -> tuple[bytes, bool]:
        key = (name, id(result))
        with self._lock:
            held = self._items.get(key)
            if held is not None and held[0] is result:
                self._items.move_to_end(key)
        if held is None or held[0] is not result:
            raw = orjson.dumps({"help": HELP.format(name=name), "success": True,
                                "result": result}, default=str, option=_ORJSON)
            held = (result, raw, None)
        result_, raw, packed = held
        if gzip_ok and len(raw) >= self.minimum and packed is None:
            packed = gzip.compress(raw, compresslevel=5, mtime=0)
        with self._lock:
            self._items[key] = (result, raw, packed)
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        if gzip_ok and packed is not None:
            return packed, True
        return raw, False


#: Path patterns left to the dashboard's path checks (see :meth:`ApiFirst.takes`).
_UNSAFE = ("..", "\\", "\x00", "//")


class ApiFirst:
    """ASGI: requests for the API's routes go straight to them; all else to ``app``.

    The dashboard's application (``st.App``) puts every request through the dashboard's
    middleware (path checks, its session cookie, compression) before its router. The API
    needs none of it: its routes resolve the caller themselves (token or the signed cookie
    of :mod:`analytics.server.session`), take no path that names a file, and encode their
    JSON once (gzipped where asked, see :class:`_Encoded`). So a request whose path one of
    ``routes`` matches (path and method) is dispatched here, first: action answers and
    downloads as they are, the other routes' answers gzipped when large and asked for.
    Everything else (the dashboard, its websocket, the app's lifespan, a path no route
    takes) goes to ``app`` unchanged. ``plain``: more path prefixes whose answers are sent
    as they are (routes that encode their answers themselves).
    """

    #: Paths whose answers are sent as they are (already encoded, or streamed files).
    PLAIN = ("/api/3/action/", "/api/action/", "/api/download/")

    def __init__(self, app, routes: list[Route], minimum_size: int = 1000,
                 plain: tuple[str, ...] = ()):
        self.app = app
        self.routes = list(routes)
        self.plain = self.PLAIN + tuple(plain)
        self._plain = Router(self.routes)
        self._gzipped = GZipMiddleware(Router(self.routes), minimum_size=minimum_size)
        self.prefixes = tuple(sorted({r.path.split("{", 1)[0].rstrip("/") or "/"
                                      for r in self.routes}))

    def takes(self, scope) -> bool:
        """Whether one of the routes matches this request (path and method). A path with
        a pattern the dashboard's path checks refuse (``..``, a backslash, a NUL, ``//``)
        is never taken: it goes through those checks."""
        path = scope["path"] if scope["type"] == "http" else ""
        if not path.startswith(self.prefixes) or any(bad in path for bad in _UNSAFE):
            return False
        return any(route.matches(scope)[0] is Match.FULL for route in self.routes)

    async def __call__(self, scope, receive, send):
        if self.takes(scope):
            plain = scope["path"].startswith(self.plain)
            await (self._plain if plain else self._gzipped)(scope, receive, send)
            return
        await self.app(scope, receive, send)


class PlainDownloads:
    """ASGI middleware: downloads are sent as they are, never gzipped on the fly.

    Parquet, GeoParquet, XLSX and ZIP are compressed already, and compressing a whole
    dataset in the server for every request would cost the CPU the API needs and hold the
    stream back; the released files stream straight from disk instead."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and scope.get("path", "").startswith("/api/download/"):
            scope = dict(scope)
            scope["headers"] = [(k, v) for k, v in scope["headers"]
                                if k.lower() != b"accept-encoding"]
        await self.app(scope, receive, send)


class _Tee:
    """Writes to a file and to a pipe at once (the released file and the response)."""

    def __init__(self, file, pipe: _Pipe):
        self.file, self.pipe = file, pipe

    def write(self, data) -> int:
        self.file.write(data)
        return self.pipe.write(data)

    def tell(self) -> int:
        return self.pipe.tell()

    def seekable(self) -> bool:
        return False

    def seek(self, *args):
        raise OSError("not seekable")

    def flush(self) -> None:
        pass

    def writable(self) -> bool:
        return True

    def readable(self) -> bool:
        return False

    def close(self) -> None:
        pass

    @property
    def closed(self) -> bool:
        return False


class _Pipe:
    """A write-only file whose bytes a response streams (bounded: the writer waits).

    Writers may call ``close``; only :meth:`finish` (the thread's end) ends the stream. If
    the client goes away, :meth:`abandon` makes the writer's next write fail, so its thread
    ends instead of waiting forever."""

    def __init__(self, depth: int = 8):
        self._q: queue.Queue = queue.Queue(maxsize=depth)
        self._buf = bytearray()
        self._pos = 0
        self._abandoned = False
        self.closed = False

    def _put(self, item) -> None:
        while True:
            if self._abandoned:
                raise OSError("the client closed the connection")
            try:
                self._q.put(item, timeout=1)
                return
            except queue.Full:
                continue

    def write(self, data) -> int:
        data = bytes(data)
        self._buf += data
        self._pos += len(data)
        if len(self._buf) >= STREAM_CHUNK:
            self._put(bytes(self._buf))
            self._buf.clear()
        return len(data)

    def tell(self) -> int:
        return self._pos

    def seekable(self) -> bool:
        return False

    def seek(self, *args):
        raise OSError("not seekable")

    def flush(self) -> None:
        pass

    def writable(self) -> bool:
        return True

    def readable(self) -> bool:
        return False

    def close(self) -> None:
        pass

    def finish(self) -> None:
        try:
            if self._buf:
                self._put(bytes(self._buf))
                self._buf.clear()
            self._put(None)
        except OSError:
            pass

    def abandon(self) -> None:
        self._abandoned = True
        while True:
            try:
                self._q.get_nowait()
            except queue.Empty:
                break

    def get(self):
        return self._q.get()
