"""The one server process: the dashboard at ``/`` and the API under ``/api/`` (``st.App``).

Run it with ``python -m dashboard.server --store data/city.duckdb --port 8501`` (what
``make run`` does). On start it opens the store read-write (it is then the store's only
writer), publishes a read-only snapshot for notebooks and the CLI, and writes a server file
next to the store so the CLI sends its writes here. The API answers at once; the dashboard
is served once what its landing pages (the overview and the planning map) need is made
(:mod:`dashboard.warm`, a few seconds), so its first visitor does not wait for that work
twice over: until then a page says the dashboard is starting and reloads itself,
Streamlit's health check (``/_stcore/health``) answers 503 and ``/api/health`` says
``"dashboard": "starting"``. The routes of :mod:`analytics.server.web`
serve programs; the sign-in and sign-out forms here set and clear the session cookie.
With ``CITYBRAIN_RUN_LOG`` naming a file, each script run's start, end and duration on the
server's clock is appended to it (:mod:`dashboard.runlog`, for the browser benchmark; off by
default).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import html
import logging
import os
import threading
import time
from pathlib import Path
from urllib.parse import quote

import streamlit as st
import uvicorn
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route
from streamlit import delta_generator

from analytics.errors import CityBrainError
from analytics.opendata import accounts
from analytics.sensors.feed import DEFAULT_PORT, BrokerFeed
from analytics.server import session
from analytics.server.state import ServerState, current, install
from analytics.server.web import Api, ApiFirst, PlainDownloads
from analytics.store import store_path_from_env
from dashboard import layerdocs, runlog, warm
from dashboard.i18n import LANGUAGES, explain, translate

APP_SCRIPT = Path(__file__).parent / "app.py"
#: The longest the start-up snapshot waits for the caches to warm.
SNAPSHOT_AFTER_WARM_S = 60.0


@contextlib.asynccontextmanager
async def lifespan(app):
    path = store_path_from_env()
    port = os.environ.get("CITYBRAIN_PORT", "8501")
    if os.environ.get("CITYBRAIN_ACCESS_LOG", "") != "1":
        # Every data decision is logged in the store; the HTTP layer's line per request
        # (which the dashboard's logging turns on) only when asked for.
        logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
    state = ServerState.open(path, os.environ.get("CITYBRAIN_URL",
                                                  f"http://127.0.0.1:{port}"))
    state.readiness = warm.status
    state.give_way = warm.give_way  # the snapshot and the released files wait for page runs
    install(state)
    layerdocs.serve()  # maps send their big layers' rows by URL (dashboard.layerdocs)
    state.announce()
    state.prune_extracts_later()
    # Streamlit reads the whole call stack (with the source of every frame) at the first
    # element a process draws, to warn when a script runs under plain `python`, which never
    # happens under this server: the first visitor waited for it (a third of a second or more)
    delta_generator._use_warning_has_been_displayed = True
    # the caches every visitor shares fill from now, not at the first visit; the dashboard
    # is served once its landing pages are ready (the API at once)
    warming = warm.at_start(path)
    threading.Thread(target=_say_ready, args=(state.base_url,), name="say-ready",
                     daemon=True).start()
    threading.Thread(target=_snapshot_after, args=(state, warming), name="snapshot-after-warm",
                     daemon=True).start()
    broker = TelemetryBroker(state).start()
    state.on_sensor_register.append(broker.follow_register)
    try:
        yield {}
    finally:
        await broker.astop()
        state.withdraw()
        layerdocs.serve(False)
        install(None)
        state.close()
        with contextlib.suppress(Exception):
            state.store.checkpoint()
        state.store.close()


def _say_ready(url: str) -> None:
    """Say in the server's log when the dashboard is served (``make run`` shows it)."""
    t0 = time.perf_counter()
    if not warm.ready.is_set():
        print(f"dashboard: preparing the overview and the planning map (the API at {url}/api/ "
              "answers already) …", flush=True)
    warm.ready.wait()
    print(f"dashboard: ready at {url} (its landing pages prepared in "
          f"{time.perf_counter() - t0:.1f} s)", flush=True)


class WhenReady:
    """ASGI: the dashboard is served once its landing pages are ready (:data:`warm.ready`);
    the API's routes from the start.

    Before that, a page (or any other dashboard path) is answered 503 with ``Retry-After``
    and a small page, in both languages, that says the dashboard is starting and reloads
    itself each second; the dashboard's websocket is refused (try again later) and
    Streamlit's health check answers 503, so whatever waits for the dashboard (a browser, a
    load balancer, the benchmark, the tests) waits for it to be ready, not merely listening.
    """

    def __init__(self, app: ApiFirst):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] == "lifespan" or self.app.takes(scope):
            await self.app(scope, receive, send)
            return
        if warm.ready.is_set():
            # a page run is coming: the background warming waits (a browser asking for a
            # page, which it then runs, says it takes HTML)
            warm.touch(page=scope["type"] == "http" and b"text/html" in dict(
                scope.get("headers") or []).get(b"accept", b""))
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":
            await receive()  # the connect message
            await send({"type": "websocket.close", "code": 1013})  # try again later
            return
        await _STARTING(scope, receive, send)


_STARTING = HTMLResponse(
    """<!doctype html><html><head><meta charset="utf-8"><meta http-equiv="refresh" content="1">
<title>城市数据大脑 · City data brain</title><style>body{font-family:sans-serif;
background:#f6f8fa;color:#1f6f8b;text-align:center;margin-top:20vh}</style></head><body>
<h1>正在启动，请稍候…</h1><p>Starting: the dashboard opens in a moment.</p></body></html>""",
    status_code=503, headers={"Retry-After": "1", "Cache-Control": "no-store"})


def _snapshot_after(state: ServerState, warming: threading.Thread | None) -> None:
    """Publish the start-up snapshot, and write the public released files, once the shared
    caches are warm (at most a minute on).

    The snapshot copies the whole store, with every core, for seconds; made at the same
    time as the warming it slowed the first visitors' pages by as much. Without warming,
    at once. Each copy and each released file waits until no page is running
    (``state.give_way``)."""
    if warming is not None:
        warming.join(timeout=SNAPSHOT_AFTER_WARM_S)
    state.publish_snapshot_later()
    # the public released files (the bulk Parquet downloads), so that no first download
    # waits for its file to be made; from now on each load releases its dataset again
    state.prerelease = True
    state.release_public_later()


class TelemetryBroker:
    """The server's broker feed (:func:`start_broker_feed`), started in the background: the
    sensor pipeline first learns each network's stored days (seconds on a city's week), and
    the API and the dashboard do not wait for it. Kept in step with the cover register."""

    def __init__(self, state: ServerState):
        self.state = state
        self.feed = None
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._start, name="telemetry-broker",
                                        daemon=True)

    def start(self) -> TelemetryBroker:
        self._thread.start()
        return self

    def _start(self) -> None:
        with self._lock:
            self.feed = start_broker_feed(self.state)

    def follow_register(self, _pipeline=None) -> None:
        """A department loaded a new cover register and the sensor pipeline read it: the
        running feed lets in the new register's gateways; with no feed yet (the store had no
        covers when the server started), the feed starts now."""
        self._thread.join()
        with self._lock:
            if self.feed is not None:
                self.feed.refresh_register()
            else:
                self.feed = start_broker_feed(self.state)
            if self.feed is not None:
                print(f"telemetry broker: a new cover register, {len(self.feed.gateway_of):,} "
                      f"covers behind {len(self.feed.gateways):,} gateways")

    async def astop(self) -> None:
        """Stop the feed once it has started (its last batch commits before the store
        closes)."""
        await asyncio.to_thread(self._thread.join, 120)
        if self.feed is not None:
            with contextlib.suppress(Exception):
                await self.feed.astop()


def start_broker_feed(state: ServerState):
    """Subscribe to the cover telemetry broker, feeding the server's one sensor pipeline.

    ``CITYBRAIN_MQTT``: ``embedded`` (the default: an MQTT broker in this process on
    127.0.0.1, port ``CITYBRAIN_MQTT_PORT`` or 18783), ``off``, or ``mqtt://host:port`` of a
    city's own broker (e.g. mosquitto). Gateway passwords derive from ``CITYBRAIN_MQTT_KEY``
    (a new key each start when unset). A store with no covers yet has nothing to subscribe
    for (the feed starts when a cover register is loaded, :class:`TelemetryBroker`), and a
    broker that cannot start leaves the rest of the server running; both are said in the
    server log.
    """
    setting = os.environ.get("CITYBRAIN_MQTT", "embedded").strip()
    if setting == "off":
        return None
    try:
        pipeline = state.sensors()
        if pipeline.assets.empty:
            print("telemetry broker: not started (no manhole covers in the store yet)")
            return None
        feed = BrokerFeed(state.store, url=None if setting == "embedded" else setting,
                          port=int(os.environ.get("CITYBRAIN_MQTT_PORT", DEFAULT_PORT)),
                          key=os.environ.get("CITYBRAIN_MQTT_KEY") or None, pipeline=pipeline)
        feed.start()
    except Exception as exc:  # the dashboard and the API still serve without telemetry
        print(f"telemetry broker: not started ({exc})")
        return None
    print(f"telemetry broker: subscribed at {feed.url}")
    return feed


# -- sign-in and sign-out forms -------------------------------------------------------------
def _lang(request: Request) -> str:
    lang = request.query_params.get("lang", "zh")
    return lang if lang in LANGUAGES else "zh"


def _next(request: Request, form=None) -> str:
    target = (form.get("next") if form is not None else None) or \
        request.query_params.get("next") or "/"
    # Only a path on this site: never an open redirect ("//host" and "/\\host" name a host).
    ok = (target.startswith("/") and not target.startswith(("//", "/\\"))
          and not any(c in target for c in "\r\n"))
    return target if ok else "/"


_PAGE = """<!doctype html><html lang="{lang}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>{title}</title>
<style>body{{font-family:sans-serif;background:#f6f8fa;margin:0}}
main{{max-width:360px;margin:12vh auto;background:#fff;padding:28px;border-radius:8px;
box-shadow:0 1px 4px #0002}}h1{{font-size:1.3em;color:#1f6f8b}}
label{{display:block;margin:14px 0 4px}}input{{width:100%;padding:8px;box-sizing:border-box}}
button{{margin-top:18px;width:100%;padding:10px;background:#1f6f8b;color:#fff;border:0;
border-radius:4px;font-size:1em}}.err{{color:#b00020}}a{{color:#1f6f8b}}</style></head>
<body><main><h1>{title}</h1>{body}</main></body></html>"""


def _page(lang: str, title_key: str, body: str, status: int = 200,
          csrf: str | None = None) -> HTMLResponse:
    response = HTMLResponse(_PAGE.format(lang=lang, title=html.escape(translate(title_key, lang)),
                                         body=body), status_code=status)
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Frame-Options"] = "DENY"
    if csrf:
        response.set_cookie(session.CSRF_COOKIE, csrf, httponly=True, samesite="strict",
                            path="/auth")
    return response


def _sign_in_form(request: Request, lang: str, error: str = "", status: int = 200) -> Response:
    csrf = session.new_csrf()
    t = lambda k: html.escape(translate(k, lang))  # noqa: E731
    body = (f'<p class="err">{html.escape(error)}</p>' if error else "") + f"""
<form method="post" action="/auth/sign-in?lang={lang}">
<input type="hidden" name="csrf" value="{csrf}">
<input type="hidden" name="next" value="{html.escape(_next(request))}">
<label for="u">{t("od_username")}</label><input id="u" name="username" maxlength="64"
 autocomplete="username" required autofocus>
<label for="p">{t("od_password")}</label><input id="p" name="password" type="password"
 maxlength="256" autocomplete="current-password" required>
<button type="submit">{t("od_signin_button")}</button></form>
<p><a href="/?lang={lang}">{t("srv_back")}</a></p>"""
    return _page(lang, "od_signin_title", body, status, csrf)


def _starting() -> Response:
    """The answer while the server's store is not open yet."""
    return HTMLResponse("starting", status_code=503, headers={"Retry-After": "5"})


async def sign_in(request: Request) -> Response:
    lang = _lang(request)
    if (state := current()) is None:
        return _starting()
    if request.method == "GET":
        return _sign_in_form(request, lang)
    async with request.form(max_fields=10, max_files=0, max_part_size=4096) as form:
        if not session.csrf_ok(request.cookies.get(session.CSRF_COOKIE), form.get("csrf")):
            return _sign_in_form(request, lang, translate("srv_csrf", lang), 403)
        username, password = str(form.get("username", "")), str(form.get("password", ""))
        target = _next(request, form)
    try:
        result = await run_in_threadpool(accounts.sign_in, state.store, username, password)
    except CityBrainError as exc:
        return _sign_in_form(request, lang, translate("od_signin_refused", lang,
                                                      reason=explain(exc, lang)), 401)
    value = await run_in_threadpool(session.cookie_value, state.store, result.token)
    sep = "&" if "?" in target else "?"
    response = RedirectResponse(f"{target}{sep}lang={lang}" if "lang=" not in target
                                else target, status_code=303)
    response.set_cookie(session.COOKIE, value,
                        **session.cookie_attributes(request.url.scheme == "https"))
    response.delete_cookie(session.CSRF_COOKIE, path="/auth")
    return response


async def sign_out(request: Request) -> Response:
    lang = _lang(request)
    if (state := current()) is None:
        return _starting()
    if request.method == "GET":
        csrf = session.new_csrf()
        t = lambda k: html.escape(translate(k, lang))  # noqa: E731
        body = f"""<form method="post" action="/auth/sign-out?lang={lang}">
<input type="hidden" name="csrf" value="{csrf}">
<button type="submit">{t("od_signout_button")}</button></form>
<p><a href="/?lang={lang}">{t("srv_back")}</a></p>"""
        return _page(lang, "od_signout_button", body, csrf=csrf)
    async with request.form(max_fields=5, max_files=0, max_part_size=1024) as form:
        if not session.csrf_ok(request.cookies.get(session.CSRF_COOKIE), form.get("csrf")):
            return _page(lang, "od_signout_button",
                         f'<p class="err">{html.escape(translate("srv_csrf", lang))}</p>', 403)
    token = session.token_from_cookie(state.store, request.cookies.get(session.COOKIE))
    await run_in_threadpool(accounts.sign_out, state.store, token)
    response = RedirectResponse(f"/?lang={quote(lang)}", status_code=303)
    response.delete_cookie(session.COOKIE, path="/", httponly=True, samesite="strict")
    response.delete_cookie(session.CSRF_COOKIE, path="/auth")
    return response


API_ROUTES = Api().routes()
#: The API's routes and the maps' layer documents (dashboard.layerdocs: gzipped once each,
#: by the route itself).
FIRST_ROUTES = [*API_ROUTES, layerdocs.ROUTE]
ROUTES = [*FIRST_ROUTES,
          Route("/auth/sign-in", sign_in, methods=["GET", "POST"]),
          Route("/auth/sign-out", sign_out, methods=["GET", "POST"])]

# each script run's time on the server's clock, for the browser benchmark: only when
# CITYBRAIN_RUN_LOG names a file (off by default; see dashboard/runlog.py)
runlog.install()
# The API's requests (and the maps' layer documents) are dispatched before the dashboard's
# middleware (see ApiFirst); the st.App still lists their routes, for a path or method only
# it answers (such as a 405).
app = WhenReady(ApiFirst(st.App(APP_SCRIPT, routes=ROUTES, lifespan=lifespan,
                               middleware=[Middleware(PlainDownloads)]), FIRST_ROUTES,
                         plain=(layerdocs.PREFIX,)))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m dashboard.server",
                                description="Serve the dashboard and the API from one process "
                                "that owns the store.")
    p.add_argument("--store", default=str(store_path_from_env()), help="the city store")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8501)
    args = p.parse_args(argv)
    os.environ["CITYBRAIN_STORE"] = str(Path(args.store).resolve())
    os.environ["CITYBRAIN_PORT"] = str(args.port)
    # the product's .streamlit/config.toml (no usage statistics, headless, 127.0.0.1) is read
    # from the working directory: serve from the project folder wherever it was started
    os.chdir(Path(__file__).resolve().parent.parent)
    uvicorn.run("dashboard.server:app", host=args.host, port=args.port, log_level="warning",
                timeout_graceful_shutdown=5,
                access_log=os.environ.get("CITYBRAIN_ACCESS_LOG", "") == "1")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
