"""Each script run's time on the server's own clock, for the browser benchmark (off by default).

The browser benchmark times an action from the click until the page is drawn, and sets beside
it the server's share: the time the script runs the action caused took on the server. That
share cannot be read in the browser: the websocket messages a page receives (e.g. the
``script_finished`` that closes a run) are handed to it by the browser's main thread, which
may be busy drawing the previous message (a map's layers) for a second or more, so a run the
server finished in 0.1 s can look, from the browser, as if it took the whole second.

With ``CITYBRAIN_RUN_LOG`` set to a file path, the server (:mod:`dashboard.server`, or any
server that calls :func:`install` before serving) appends one JSON line per script run to that
file, written at the moment the run ends, before the server tells the browser so:

``{"session": …, "kind": "script" | "fragment" | "rerun" | "compile_error", "page": …,
"start": …, "end": …, "seconds": …}``

``start`` and ``end`` are the wall clock (``time.time()``, comparable with another process's on
the same machine), ``seconds`` the run's duration on the monotonic clock. ``kind`` is
``fragment`` for a run of fragments alone (a widget inside an ``st.fragment``), ``rerun`` for a
run cut short by a new run (the next line is that run). A run is timed from Streamlit's "script
started" event (the page chosen, before the first line of the script) to its "stopped" event
(after the last line, when the session is told the run is over): every run passes there, full
runs and fragment runs alike, whichever page. Unset (the default), nothing is installed and a
run costs nothing more.
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

from streamlit.runtime.scriptrunner import ScriptRunner, ScriptRunnerEvent, get_script_run_ctx

#: The setting that turns the record on: the path of the file the runs are appended to.
SETTING = "CITYBRAIN_RUN_LOG"

_ENDS = {
    ScriptRunnerEvent.SCRIPT_STOPPED_WITH_SUCCESS: "script",
    ScriptRunnerEvent.FRAGMENT_STOPPED_WITH_SUCCESS: "fragment",
    ScriptRunnerEvent.SCRIPT_STOPPED_FOR_RERUN: "rerun",
    ScriptRunnerEvent.SCRIPT_STOPPED_WITH_COMPILE_ERROR: "compile_error",
}
_lock = threading.Lock()
_path: Path | None = None
_original_init = None
_started = threading.local()  # the run under way in this script thread: (wall, monotonic)


def install(path: str | os.PathLike | None = None) -> Path | None:
    """Record every script run of this process to ``path`` (default: ``CITYBRAIN_RUN_LOG``).

    Nothing is done when neither is set. Returns the file the runs go to (None: off). Call it
    before the server runs its first script; calling it again only changes the file."""
    global _path, _original_init
    target = path if path is not None else os.environ.get(SETTING, "").strip() or None
    if target is None:
        return None
    with _lock:
        _path = Path(target)
        if _original_init is None:
            _original_init = ScriptRunner.__init__

            def __init__(self, *args, **kwargs):
                _original_init(self, *args, **kwargs)
                # connected first, so the run's end is written before the session hears it
                self.on_event.connect(_on_event, weak=False)

            ScriptRunner.__init__ = __init__
    return _path


def uninstall() -> None:
    """Stop recording (runners made from now on are no longer followed)."""
    global _path, _original_init
    with _lock:
        if _original_init is not None:
            ScriptRunner.__init__ = _original_init
        _original_init, _path = None, None


def _on_event(sender, event=None, **kwargs) -> None:
    # a receiver's exception would skip the session's own receiver: never raise
    try:
        if event == ScriptRunnerEvent.SCRIPT_STARTED:
            _started.run = (time.time(), time.perf_counter())
        elif event in _ENDS:
            began = getattr(_started, "run", None)
            _started.run = None
            end, now = time.time(), time.perf_counter()
            start, seconds = (began[0], now - began[1]) if began else (end, 0.0)
            _write({"session": getattr(sender, "_session_id", ""), "kind": _ENDS[event],
                    "page": _page(), "start": start, "end": end, "seconds": seconds})
    except Exception:  # noqa: BLE001, S110 - the record must never break a run
        pass


def _page() -> str:
    """The page the run ran (its URL path), as far as the run's context says."""
    ctx = get_script_run_ctx(suppress_warning=True)
    if ctx is None:
        return ""
    info = ctx.pages_manager.get_pages().get(ctx.page_script_hash) or {}
    return str(info.get("url_pathname") or info.get("page_name") or "")


def _write(record: dict) -> None:
    path = _path
    if path is None:
        return
    line = json.dumps(record, ensure_ascii=False) + "\n"
    with _lock, path.open("a", encoding="utf-8") as f:
        f.write(line)


def read(path: str | os.PathLike, offset: int = 0) -> tuple[list[dict], int]:
    """The runs appended to ``path`` from byte ``offset`` on, and the offset after them (a
    line still being written is left for the next read)."""
    p = Path(path)
    if not p.exists():
        return [], offset
    with p.open("rb") as f:
        f.seek(offset)
        data = f.read()
    end = data.rfind(b"\n") + 1
    runs = [json.loads(line) for line in data[:end].decode("utf-8").splitlines() if line]
    return runs, offset + end
