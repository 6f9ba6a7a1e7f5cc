"""The CKAN Action API over the catalog and the access rules (no HTTP here: see ``web``).

Each action is a function ``(api, params) -> result`` where ``api`` is a :class:`Call`
(store, actor, base URL, release cache) and ``params`` the action's data dict. Results have
the shapes CKAN 2.10 returns, so CKAN clients (``ckanapi``, harvesters) work unchanged;
errors are :class:`ActionError` with CKAN's ``__type`` and HTTP status.

Metadata is open for every dataset, the negative list included (with its reason). Rows
(``datastore_search``) pass :func:`analytics.access.authorize` and its disclosure control,
exactly as a page preview or a CLI export does, and every decision is logged. Nothing a
caller sends reaches SQL: searching the catalog runs over its few dozen rows in memory;
``filters``, ``q``, ``fields`` and ``sort`` of ``datastore_search`` are applied with Arrow
compute to the released rows, against a whitelist of their column names.
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from analytics.errors import CityBrainError
from analytics.identity import PUBLIC, Actor
from analytics.opendata import access, catalog, privacy
from analytics.opendata.registry import DOMAINS, SPECS
from analytics.store import Store

API_VERSION = 3
#: The CKAN version whose Action API this one follows.
CKAN_VERSION = "2.10.0"
MAX_ROWS = 1000            # package_search rows
DATASTORE_DEFAULT = 100
DATASTORE_MAX = 32_000     # CKAN's default ckan.datastore.search.rows_max
#: Released datasets up to this many rows are kept in memory (per release) for paging.
CACHE_ROWS = 2_000_000
CACHE_BYTES = 768 << 20
#: Seconds the catalog frame is reused between loads (download counts lag by at most this).
CATALOG_TTL = 5.0
#: Action results kept for identical requests (see :meth:`ReleaseCache.answer`).
ANSWERS = 512
#: Only pages of up to this many rows are kept as answers (bounded memory).
ANSWER_ROWS = 1000
#: Catalog answers made again right after a load (the ones given last).
RENEW_ANSWERS = 16


class ActionError(CityBrainError):
    """A CKAN-shaped error: ``kind`` is its ``__type``; ``status`` the HTTP status."""

    STATUS = {"Authorization Error": 403, "Not Found Error": 404, "Validation Error": 409,
              "Bad Request": 400, "Search Query Error": 409, "Internal Server Error": 500}

    def __init__(self, kind: str, message: str, *, status: int | None = None,
                 fields: dict | None = None):
        super().__init__(message)
        self.kind = kind
        self.status = status or self.STATUS[kind]
        self.fields = fields or {}

    def body(self) -> dict:
        error = {"__type": self.kind, "message": f"{self.kind}: {self}"}
        error.update({k: [v] if isinstance(v, str) else v for k, v in self.fields.items()})
        return error


def not_found(message: str) -> ActionError:
    return ActionError("Not Found Error", message)


def invalid(name: str, message: str) -> ActionError:
    return ActionError("Validation Error", message, fields={name: message})


# -- the release cache --------------------------------------------------------------------------
class ReleaseCache:
    """Released (desensitised) tables kept for paging through ``datastore_search``.

    Keyed by the dataset, its generation (bumped when a load or a telemetry batch changes
    it) and what the decision lets through (application and fields), so a load or another
    caller's rights never see a stale or foreign release; a load of one dataset leaves the
    others' releases in place. Bounded by bytes; least recently used first out.
    """

    def __init__(self, max_bytes: int = CACHE_BYTES):
        self.max_bytes = max_bytes
        self._items: OrderedDict[tuple, tuple[pa.Table, privacy.DisclosureReport]] = OrderedDict()
        self._lock = threading.Lock()
        self._building: dict[tuple, threading.Lock] = {}
        self.generation = 0                     # of the catalog (every change)
        self._generations: dict[str, int] = {}  # of each dataset
        self._catalog: tuple[float, int, pd.DataFrame, dict[str, dict]] | None = None
        #: Held while one caller reads the catalog again (the others do not read it too).
        self._catalog_lock = threading.Lock()
        self._answers: OrderedDict[tuple, object] = OrderedDict()
        self._answering: dict[tuple, threading.Lock] = {}

    def answer(self, key: tuple, build: Callable[[], object]) -> object:
        """An action's result for ``key``, reused while nothing it depends on changes.

        The key holds everything the result is made of (the action, its parameters, the
        catalog's or dataset's generation, what the caller's decision lets through); the
        caller decides and logs before asking, every time. Built once however many ask at
        the same moment (the others wait for it). Bounded by ``ANSWERS``.
        """
        with self._lock:
            if key in self._answers:
                self._answers.move_to_end(key)
                return self._answers[key]
            gate = self._answering.setdefault(key, threading.Lock())
        with gate:
            with self._lock:
                if key in self._answers:
                    self._answers.move_to_end(key)
                    return self._answers[key]
            try:
                value = build()
            finally:
                with self._lock:
                    self._answering.pop(key, None)
            with self._lock:
                self._answers[key] = value
                while len(self._answers) > ANSWERS:
                    self._answers.popitem(last=False)
            return value

    def peek(self, key: tuple):
        """The answer under ``key`` if there is one (never builds), else None."""
        with self._lock:
            if key in self._answers:
                self._answers.move_to_end(key)
                return self._answers[key]
        return None

    def held_catalog(self) -> tuple | None:
        """(stamp, rows) of the catalog held, if it is still current (no store read).

        Past ``CATALOG_TTL`` (download counts only: the data has not changed) the catalog
        held stays current while another caller is reading it again."""
        held = self._catalog
        if held is None or held[1] != self.generation:
            return None
        if time.monotonic() - held[0] >= CATALOG_TTL and not self._catalog_lock.locked():
            return None
        return (held[0], held[1]), held[3]

    def catalog_stamp(self, store: Store) -> tuple:
        """What identifies the catalog now held (renewed after a load or ``CATALOG_TTL``)."""
        held = self._catalog_held(store, None)
        return held[0], held[1]

    def dataset_generation(self, dataset_id: str) -> int:
        return self._generations.get(dataset_id, 0) + self._generations.get("", 0)

    def catalog(self, store: Store, ttl: float | None = None) -> pd.DataFrame:
        """The catalog frame, read again after a load or ``ttl`` seconds (download counts)."""
        return self._catalog_held(store, ttl)[2]

    def catalog_rows(self, store: Store, ttl: float | None = None) -> dict[str, dict]:
        """The same catalog as ``{dataset_id: row}`` (what every action looks rows up in)."""
        return self._catalog_held(store, ttl)[3]

    def _catalog_held(self, store: Store, ttl: float | None):
        """The catalog, read again by one caller at a time: after a change every caller
        waits for that one read (none is given the catalog from before the change); past
        ``ttl`` alone, the others keep the catalog held until the read is done."""
        ttl = CATALOG_TTL if ttl is None else ttl
        held = self._catalog

        def fresh(h) -> bool:
            return h is not None and h[1] == self.generation and time.monotonic() - h[0] < ttl

        if fresh(held):
            return held
        if held is not None and held[1] == self.generation:
            if not self._catalog_lock.acquire(blocking=False):
                return held                   # being read again now; this one is current
        else:
            self._catalog_lock.acquire()
        try:
            held = self._catalog
            if fresh(held):
                return held                   # read by the caller this one waited for
            generation = self.generation      # before the read: a change meanwhile bumps it
            frame = catalog.datasets(store)
            rows = {r["dataset_id"]: r for r in frame.to_dict("records")}
            self._catalog = (time.monotonic(), generation, frame, rows)
            return self._catalog
        finally:
            self._catalog_lock.release()

    def bump(self, dataset_id: str | None = None) -> None:
        """``dataset_id`` changed (None: anything may have): drop its releases."""
        with self._lock:
            self.generation += 1
            if dataset_id is None:
                self._items.clear()
                self._generations = {k: v + 1 for k, v in self._generations.items()}
                self._generations[""] = self._generations.get("", 0) + 1
                self._answers.clear()
                return
            self._generations[dataset_id] = self._generations.get(dataset_id, 0) + 1
            for key in [k for k in self._items if k[1] == dataset_id]:
                del self._items[key]
        # answers are keyed on the generations, so stale ones are never found again; drop
        # them (the catalog's, and this dataset's rows) so they do not hold memory until
        # pushed out. Other datasets' rows stay: a load of one leaves the others' answers.
        with self._lock:
            for key in [k for k in self._answers if k[0] in CATALOG_ACTIONS
                        or (k[0] == "datastore_search" and k[2] == dataset_id)]:
                del self._answers[key]

    def renew(self, store: Store, dataset_id: str | None = None,
              answers: int = RENEW_ANSWERS) -> None:
        """``dataset_id`` changed (a load): :meth:`bump`, with the catalog read again first
        and installed with the change, and the catalog answers given last made again for
        it, so the requests that follow find them ready instead of waiting for them. The
        catalog actions' answers are the same for every caller (open metadata)."""
        with self._catalog_lock:
            before = self.generation
            frame = catalog.datasets(store)
            rows = {r["dataset_id"]: r for r in frame.to_dict("records")}
            with self._lock:
                recent = list(dict.fromkeys((k[0], k[2], k[3]) for k in reversed(self._answers)
                                            if k[0] in CATALOG_ACTIONS))
            self.bump(dataset_id)
            with self._lock:
                current = self.generation == before + 1   # no other change meanwhile
                if current:
                    self._catalog = (time.monotonic(), self.generation, frame, rows)
        if not current:
            return                                        # read when next asked for
        stamp = (self._catalog[0], self._catalog[1])
        for name, base_url, params_key in recent[:answers]:
            api = Call(store, PUBLIC, base_url, self)
            with contextlib.suppress(CityBrainError, ValueError):
                self.answer((name, stamp, base_url, params_key), lambda a=api, n=name,
                            k=params_key: ACTIONS[n](a, json.loads(k)))

    def get(self, key: tuple, build: Callable[[], tuple[pa.Table, privacy.DisclosureReport]]):
        """The release under ``key = (dataset_id, ...)``, built once when missing."""
        key = (self._generations.get(key[0], 0) + self._generations.get("", 0), *key)
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
            gate = self._building.setdefault(key, threading.Lock())
        with gate:  # one build per key, however many callers wait for it
            with self._lock:
                if key in self._items:
                    return self._items[key]
            value = build()
            with self._lock:
                self._items[key] = value
                self._building.pop(key, None)
                while sum(t.nbytes for t, _ in self._items.values()) > self.max_bytes \
                        and len(self._items) > 1:
                    self._items.popitem(last=False)
            return value


@dataclass
class Call:
    """One API call's context: the store, the actor (from the token or cookie), the base URL,
    the release cache, the catalog's meta and the access log.
    """
    store: Store
    actor: Actor
    base_url: str = "http://127.0.0.1:8501"
    cache: ReleaseCache = field(default_factory=ReleaseCache)
    meta: dict = field(default_factory=dict)
    #: How a served read is logged: ``access.log`` at once, or a server's batched log.
    log: Callable | None = None

    def log_use(self, decision, fmt: str, rows: int) -> None:
        if self.log is None:
            access.log(self.store, decision, fmt, rows)
        else:
            self.log(decision, fmt, rows)


# -- helpers ----------------------------------------------------------------------------------
def slug(text: str) -> str:
    """A CKAN name: lower-case ASCII letters, digits and dashes."""
    return re.sub(r"[^a-z0-9]+", "-", str(text).lower()).strip("-") or "unnamed"


def _int(params: dict, name: str, default: int, lo: int, hi: int) -> int:
    raw = params.get(name, default)
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise invalid(name, f"{name} must be a whole number, not {str(raw)[:40]!r}") from None
    if not lo <= value <= hi:
        raise invalid(name, f"{name} must be between {lo} and {hi}, not {value}")
    return value


def _bool(params: dict, name: str, default: bool) -> bool:
    raw = params.get(name, default)
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in ("true", "1", "yes", "on"):
        return True
    if text in ("false", "0", "no", "off", ""):
        return False
    raise invalid(name, f"{name} must be true or false, not {text[:20]!r}")


def _json_param(params: dict, name: str, default):
    raw = params.get(name, default)
    if isinstance(raw, str):
        text = raw.strip()
        if text[:1] and text[:1] in "[{":
            try:
                return json.loads(text)
            except json.JSONDecodeError as exc:
                raise invalid(name, f"{name} is not valid JSON: {exc.msg}") from None
    return raw


def _id_param(params: dict, *names: str) -> str:
    for name in names:
        value = params.get(name)
        if value not in (None, ""):
            if not isinstance(value, str) or len(value) > 200:
                raise invalid(name, f"{name} must be a text of at most 200 characters")
            return value
    raise invalid(names[0], f"Missing value: give {names[0]}")


def _catalog(api: Call) -> pd.DataFrame:
    return api.cache.catalog(api.store)


def _when(value) -> str:
    return pd.Timestamp(value).strftime("%Y-%m-%dT%H:%M:%S")


def organization_of(row) -> dict:
    return {"id": slug(row["publisher_en"]), "name": slug(row["publisher_en"]),
            "title": row["publisher"], "display_name": row["publisher"],
            "title_translated": {"zh": row["publisher"], "en": row["publisher_en"]},
            "type": "organization", "is_organization": True, "state": "active",
            "description": row["publisher_en"], "image_url": ""}


def group_of(theme: str) -> dict:
    zh, en, eu = DOMAINS.get(theme, (theme, theme, ""))
    return {"id": theme, "name": theme, "title": zh, "display_name": zh,
            "title_translated": {"zh": zh, "en": en}, "type": "group", "is_organization": False,
            "state": "active", "description": en,
            "dcat_theme": f"http://publications.europa.eu/resource/authority/data-theme/{eu}"}


def resources_of(row, base: str) -> list[dict]:
    fmts = [f for f in row["formats"].split(",") if f]
    out = []
    for fmt in fmts:
        out.append({
            "id": f"{row['dataset_id']}.{fmt}", "package_id": row["dataset_id"],
            "name": f"{row['title']} ({fmt.upper()})", "format": fmt.upper(),
            "mimetype": catalog.MEDIA_TYPES[fmt],
            "url": f"{base}/api/download/{row['dataset_id']}.{fmt}",
            "url_type": None, "datastore_active": False, "state": "active",
            "last_modified": _when(row["modified"])})
    if fmts:
        out.append({
            "id": row["dataset_id"], "package_id": row["dataset_id"],
            "name": f"{row['title']} (datastore)", "format": "JSON",
            "mimetype": "application/json",
            "url": f"{base}/api/3/action/datastore_search?resource_id={row['dataset_id']}",
            "url_type": "datastore", "datastore_active": True, "state": "active",
            "last_modified": _when(row["modified"])})
    for i, r in enumerate(out):
        r["position"] = i
    return out


def package_of(row, base: str) -> dict:
    s = SPECS.get(row["dataset_id"])
    keywords = [k.strip() for k in str(row["keywords"]).split(",") if k.strip()]
    resources = resources_of(row, base)
    level = row["access_level"]
    temporal = (None if pd.isna(row["temporal_start"])
                else [int(row["temporal_start"]), int(row["temporal_end"])])
    return {
        "id": row["dataset_id"], "name": row["dataset_id"], "type": "dataset",
        "title": row["title"], "title_translated": {"zh": row["title"], "en": row["title_en"]},
        "notes": row["description"],
        "notes_translated": {"zh": row["description"],
                             "en": s.description_en if s else row["description"]},
        "state": "active", "private": False,
        "owner_org": slug(row["publisher_en"]), "organization": organization_of(row),
        "groups": [group_of(row["theme"])],
        "tags": [{"name": k, "display_name": k, "state": "active"} for k in keywords],
        "num_tags": len(keywords),
        "license_id": "cc-by" if str(row["licence"]).startswith("CC") else "other-closed",
        "license_title": row["licence"],
        "metadata_modified": _when(row["modified"]), "metadata_created": _when(row["modified"]),
        "access_level": level,
        "access_rights": "http://publications.europa.eu/resource/authority/access-right/"
                         + catalog.EU_ACCESS[level],
        "negative_list": bool(row["negative_list"]),
        "negative_reason": None if pd.isna(row["negative_reason"]) else row["negative_reason"],
        "update_frequency": row["update_frequency"], "spatial": row["spatial"],
        "temporal_coverage": temporal, "synthetic": bool(row["synthetic"]),
        "row_count": int(row["row_count"]), "downloads": int(row["downloads"]),
        "columns": [{k: c.get(k) for k in ("name", "type", "unit", "description",
                                           "description_en")}
                    for c in json.loads(row["columns_json"])],
        "resources": resources, "num_resources": len(resources),
        "extras": [{"key": "access_level", "value": level},
                   {"key": "dcat_access_rights",
                    "value": "http://publications.europa.eu/resource/authority/access-right/"
                             + catalog.EU_ACCESS[level]}],
    }


def _rows(api: Call) -> dict[str, dict]:
    return api.cache.catalog_rows(api.store)


def _row(api: Call, dataset_id: str) -> dict:
    row = _rows(api).get(dataset_id)
    if row is None:
        raise not_found(f"dataset {dataset_id!r} is not in the catalog: package_list lists "
                        "every dataset")
    return row


# -- actions ----------------------------------------------------------------------------------
def status_show(api: Call, params: dict) -> dict:
    meta = api.meta or api.store.meta()
    return {"site_title": f"{meta.get('city_name', '')} open data",
            "site_url": api.base_url, "ckan_version": CKAN_VERSION, "api_version": API_VERSION,
            "site_description": "City data brain: pooled department data, open by the access rules",
            "locale_default": "zh_Hans_CN", "extensions": ["datastore", "dcat"],
            "store_vintage": meta.get("data_vintage"), "store_built_at": meta.get("built_at"),
            "city_adcode": meta.get("city_adcode")}


def package_list(api: Call, params: dict) -> list[str]:
    names = sorted(_rows(api))
    offset = _int(params, "offset", 0, 0, 10**9)
    limit = _int(params, "limit", len(names) or 1, 1, 10**6)
    return names[offset: offset + limit]


_FQ_TERM = re.compile(r'([+-]?)([a-z_]+):("([^"]*)"|\S+)')
#: fq fields -> catalog columns.
_FQ_FIELDS = {"organization": "org", "owner_org": "org", "groups": "theme", "tags": "tags",
              "res_format": "res_format", "access_level": "access_level", "name": "dataset_id",
              "id": "dataset_id", "license_id": "license_id",
              "update_frequency": "update_frequency"}
_SORTS = {"score": None, "metadata_modified": "modified", "name": "dataset_id",
          "title": "title", "title_string": "title", "downloads": "downloads",
          "views_recent": "downloads", "num_resources": "num_resources"}
_FACET_FIELDS = {"organization": "org", "groups": "theme", "tags": "tags",
                 "res_format": "res_format", "access_level": "access_level",
                 "license_id": "license_id"}


def _ckan_view(row: dict) -> dict:
    """The fq / sort / facet fields of a catalog row, as CKAN names them."""
    fmts = [f for f in row["formats"].split(",") if f]
    return {"org": slug(row["publisher_en"]), "theme": row["theme"],
            "tags": [k.strip() for k in str(row["keywords"]).split(",") if k.strip()],
            "res_format": [f.upper() for f in fmts], "access_level": row["access_level"],
            "dataset_id": row["dataset_id"],
            "license_id": "cc-by" if str(row["licence"]).startswith("CC") else "other-closed",
            "update_frequency": row["update_frequency"], "modified": row["modified"],
            "title": row["title"], "downloads": row["downloads"],
            "num_resources": len(fmts) + (1 if fmts else 0)}


def _parse_fq(fq: str) -> list[tuple[bool, str, str]]:
    fq = str(fq or "").strip()
    if len(fq) > 500:
        raise invalid("fq", "fq is longer than 500 characters")
    terms, pos = [], 0
    rest = _FQ_TERM.sub("", fq)
    if rest.replace("AND", "").strip():
        raise ActionError("Search Query Error",
                          f"fq accepts field:value terms (fields: {', '.join(_FQ_FIELDS)}), "
                          f"not {fq[:60]!r}")
    for m in _FQ_TERM.finditer(fq):
        name = m.group(2)
        if name not in _FQ_FIELDS:
            raise ActionError("Search Query Error", f"unknown fq field {name!r}; fields are "
                              f"{', '.join(_FQ_FIELDS)}")
        value = m.group(4) if m.group(4) is not None else m.group(3)
        terms.append((m.group(1) == "-", _FQ_FIELDS[name], value))
        pos += 1
    return terms


def _matches(value, wanted: str) -> bool:
    if isinstance(value, list):
        return any(str(v).lower() == wanted.lower() for v in value)
    return str(value).lower() == wanted.lower()


def package_search(api: Call, params: dict) -> dict:
    q = params.get("q", "") or ""
    if not isinstance(q, str):
        raise invalid("q", "q must be a text")
    q = q.strip()
    if q in ("*:*", "*"):
        q = ""
    try:
        text = catalog.check_search_text(q)
    except catalog.SearchRefused as exc:
        catalog.log_refused_search(api.store, api.actor, q, str(exc), channel="api")
        raise ActionError("Search Query Error", str(exc)) from None
    rows = _int(params, "rows", 10, 0, MAX_ROWS)
    start = _int(params, "start", 0, 0, 10**6)
    terms = _parse_fq(params.get("fq", ""))
    sort = str(params.get("sort") or "score desc, metadata_modified desc")
    order: list[tuple[str, bool]] = []
    for part in sort.split(","):
        words = part.split()
        if not words:
            continue
        if len(words) > 2 or words[0] not in _SORTS or (len(words) == 2 and words[1] not in
                                                         ("asc", "desc")):
            raise invalid("sort", f"sort by {', '.join(_SORTS)} with asc or desc, "
                          f"not {part.strip()[:40]!r}")
        if _SORTS[words[0]] is not None:   # score: the search's own ranking, kept as is
            order.append((_SORTS[words[0]], len(words) == 1 or words[1] == "asc"))
    facet_fields = _json_param(params, "facet.field", [])
    if isinstance(facet_fields, str):
        facet_fields = [facet_fields]
    if not isinstance(facet_fields, list) or any(f not in _FACET_FIELDS for f in facet_fields):
        raise invalid("facet.field", f"facet.field is a list of {', '.join(_FACET_FIELDS)}")
    limit = _int(params, "facet.limit", 50, -1, 10_000)
    by_id = _rows(api)
    if text:
        ranked = list(catalog.search(_catalog(api), text).hits["dataset_id"])
    else:   # the search's own order without words: most downloaded first, then by id
        ranked = [r["dataset_id"] for r in sorted(
            by_id.values(), key=lambda r: (-int(r["downloads"]), r["dataset_id"]))]
    views = [_ckan_view(by_id[i]) for i in ranked]
    for negate, column, value in terms:
        views = [v for v in views if _matches(v[column], value) != negate]
    for key, ascending in reversed(order):       # stable sorts, last key first
        views.sort(key=lambda v: v[key], reverse=not ascending)
    facets, search_facets = {}, {}
    for name in facet_fields:
        counts: dict[str, int] = {}
        titles: dict[str, str] = {}
        for v in views:
            values = v[_FACET_FIELDS[name]]
            for value in values if isinstance(values, list) else [values]:
                counts[value] = counts.get(value, 0) + 1
                row = by_id[v["dataset_id"]]
                titles[value] = (row["publisher"] if name == "organization" else
                                 DOMAINS.get(value, (value,))[0] if name == "groups" else value)
        ordered = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
        if limit >= 0:
            ordered = ordered[:limit]
        facets[name] = dict(ordered)
        search_facets[name] = {"title": name, "items": [
            {"name": k, "display_name": titles[k], "count": n} for k, n in ordered]}
    page = views[start: start + rows]
    return {"count": len(views), "sort": sort,
            "results": [package_of(by_id[v["dataset_id"]], api.base_url) for v in page],
            "facets": facets, "search_facets": search_facets}


def package_show(api: Call, params: dict) -> dict:
    return package_of(_row(api, _id_param(params, "id", "name")), api.base_url)


def _orgs(api: Call) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for r in _rows(api).values():
        org = out.setdefault(slug(r["publisher_en"]), {**organization_of(r), "package_count": 0})
        org["package_count"] += 1
    return dict(sorted(out.items()))


def organization_list(api: Call, params: dict) -> list:
    orgs = _orgs(api)
    return list(orgs.values()) if _bool(params, "all_fields", False) else list(orgs)


def organization_show(api: Call, params: dict) -> dict:
    name = _id_param(params, "id", "name")
    orgs = _orgs(api)
    if name not in orgs:
        raise not_found(f"no organization {name!r}; organization_list lists the departments")
    org = dict(orgs[name])
    if _bool(params, "include_datasets", False):
        org["packages"] = [package_of(r, api.base_url) for r in _rows(api).values()
                           if slug(r["publisher_en"]) == name]
    return org


def group_list(api: Call, params: dict) -> list:
    counts = _catalog(api)["theme"].value_counts()
    groups = [{**group_of(t), "package_count": int(counts[t])} for t in sorted(counts.index)]
    return groups if _bool(params, "all_fields", False) else [g["name"] for g in groups]


def tag_list(api: Call, params: dict) -> list[str]:
    query = str(params.get("query") or "").lower()
    tags = sorted({k.strip() for kw in _catalog(api)["keywords"] for k in str(kw).split(",")
                   if k.strip()})
    return [t for t in tags if query in t.lower()]


def resource_show(api: Call, params: dict) -> dict:
    rid = _id_param(params, "id")
    dataset_id = rid.split(".", 1)[0]
    row = _rows(api).get(dataset_id)
    if row is None:
        raise not_found(f"no resource {rid!r}")
    for res in resources_of(row, api.base_url):
        if res["id"] == rid:
            return res
    raise not_found(f"no resource {rid!r}; package_show lists a dataset's resources")


# -- datastore_search --------------------------------------------------------------------------
def _release(api: Call, dataset_id: str) -> tuple[access.Release, pa.Table | None]:
    """Authorised (logs a refusal) -> the release, and its rows when small enough to keep."""
    try:
        release = access.authorize(api.store, dataset_id, api.actor, "api", fmt="datastore",
                                   row=_rows(api).get(dataset_id))
    except access.AccessRefused as exc:
        if exc.code == "unknown_dataset":
            raise not_found(str(exc)) from None
        raise ActionError("Authorization Error", str(exc)) from None
    return release


def _arrow_type_name(t: pa.DataType) -> str:
    if pa.types.is_integer(t):
        return "int"
    if pa.types.is_floating(t) or pa.types.is_decimal(t):
        return "numeric"
    if pa.types.is_boolean(t):
        return "bool"
    if pa.types.is_timestamp(t) or pa.types.is_date(t):
        return "timestamp"
    if pa.types.is_binary(t) or pa.types.is_large_binary(t):
        return "binary"
    return "text"


def _filter_mask(table: pa.Table, filters: dict, q) -> pa.ChunkedArray | None:
    mask = None

    def both(m):
        nonlocal mask
        mask = m if mask is None else pc.and_kleene(mask, m)

    for col, value in filters.items():
        values = value if isinstance(value, list) else [value]
        typ = table.schema.field(col).type
        try:
            wanted = pa.array(values).cast(typ) if values else pa.array([], typ)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
            raise invalid("filters", f"filter values for {col} must be of its type "
                          f"({_arrow_type_name(typ)})") from None
        both(pc.fill_null(pc.is_in(table[col], value_set=wanted), False))
    if q:
        texts = [c for c in table.column_names if _arrow_type_name(table.schema.field(c).type)
                 == "text"]
        if isinstance(q, dict):
            for col, word in q.items():
                both(pc.fill_null(pc.match_substring(pc.cast(table[col], pa.string()),
                                                     str(word), ignore_case=True), False))
        else:
            any_col = None
            for col in texts:
                m = pc.fill_null(pc.match_substring(table[col], str(q), ignore_case=True), False)
                any_col = m if any_col is None else pc.or_(any_col, m)
            both(any_col if any_col is not None else pa.chunked_array(
                [pa.array([False] * table.num_rows)]))
    return mask


def _records(table: pa.Table) -> list[dict]:
    import shapely

    cols = {}
    for name in table.column_names:
        col = table[name]
        if _arrow_type_name(col.type) == "binary":
            raw = col.to_pylist()
            if name == "geometry":
                geoms = shapely.from_wkb([bytes(v) if v is not None else None for v in raw])
                cols[name] = [None if g is None else shapely.to_wkt(g, rounding_precision=6)
                              for g in geoms]
            else:
                cols[name] = [None if v is None else bytes(v).hex() for v in raw]
        elif pa.types.is_timestamp(col.type) or pa.types.is_date(col.type):
            cols[name] = [None if v is None else v.isoformat() for v in col.to_pylist()]
        elif pa.types.is_floating(col.type):
            cols[name] = [None if v is None or v != v else v for v in col.to_pylist()]
        else:
            cols[name] = col.to_pylist()
    names = table.column_names
    return [dict(zip(names, vals, strict=True)) for vals in zip(*cols.values(), strict=True)] \
        if names else []


def datastore_search(api: Call, params: dict) -> dict:
    rid = _id_param(params, "resource_id", "id")
    dataset_id = rid.split(".", 1)[0]
    limit = _int(params, "limit", DATASTORE_DEFAULT, 0, DATASTORE_MAX)
    offset = _int(params, "offset", 0, 0, 10**9)
    include_total = _bool(params, "include_total", True)
    filters = _json_param(params, "filters", {}) or {}
    if not isinstance(filters, dict):
        raise invalid("filters", "filters is a JSON object of column: value (or [values])")
    q = _json_param(params, "q", "") or ""
    if not isinstance(q, (str, dict)) or (isinstance(q, str) and len(q) > 200):
        raise invalid("q", "q is a text of at most 200 characters, or an object column: text")
    fields = _json_param(params, "fields", None)
    if isinstance(fields, str):
        fields = [f.strip() for f in fields.split(",") if f.strip()]
    sort = params.get("sort") or ""
    if not isinstance(sort, str):
        raise invalid("sort", "sort is a text such as \"year desc, district\"")
    release = _release(api, dataset_id)
    d = release.decision
    key = ("datastore_search", api.cache.dataset_generation(dataset_id), dataset_id,
           d.application_id, d.fields, _params_key(params))

    def build():
        return _datastore_rows(api, release, rid, dataset_id, limit, offset, include_total,
                               filters, q, fields, sort)

    out = api.cache.answer(key, build) if limit <= ANSWER_ROWS else build()
    api.log_use(d, "datastore", len(out["records"]))
    return out


def _datastore_rows(api: Call, release: access.Release, rid: str, dataset_id: str, limit: int,
                    offset: int, include_total: bool, filters: dict, q, fields, sort: str
                    ) -> dict:
    row_count = int(_row(api, dataset_id)["row_count"])
    d = release.decision

    def build():
        parts = list(access.chunks(api.store, release))
        table = pa.concat_tables(parts, promote_options="default") if parts else pa.table({})
        return table, release.report

    if row_count <= CACHE_ROWS:
        table, report = api.cache.get((dataset_id, d.application_id, d.fields), build)
        sources = [table]
    else:                                   # too large to keep: stream it, a year at a time
        report = release.report
        sources = access.chunks(api.store, release)
    columns = None
    order: list[tuple[str, str]] = []
    wanted = offset + limit
    picked: list[pa.Table] = []
    total = 0
    for table in sources:
        if columns is None:
            columns = table.column_names
            for name in list(filters) + (list(q) if isinstance(q, dict) else []) \
                    + list(fields or []):
                if name not in columns:
                    raise invalid("fields" if name in (fields or []) else "filters",
                                  f"no column {str(name)[:60]!r} in {dataset_id}; columns are "
                                  f"{', '.join(columns)}")
            for part in sort.split(","):
                words = part.split()
                if not words:
                    continue
                if words[0] not in columns or len(words) > 2 or (
                        len(words) == 2 and words[1].lower() not in ("asc", "desc")):
                    raise invalid("sort", f"sort by columns of {dataset_id} with asc or desc, "
                                  f"not {part.strip()[:60]!r}")
                order.append((words[0], "descending" if len(words) == 2
                              and words[1].lower() == "desc" else "ascending"))
        mask = _filter_mask(table, filters, q)
        if mask is not None:
            table = table.filter(mask)
        total += table.num_rows
        if order:
            table = table.sort_by(order)
        if not order and sum(t.num_rows for t in picked) >= wanted:
            if not include_total:
                break
            continue
        picked.append(table.slice(0, wanted) if order else table)
        if order and len(picked) > 1:      # keep only the best `wanted` so far: flat memory
            picked = [pa.concat_tables(picked, promote_options="default").sort_by(order)
                      .slice(0, wanted)]
    result_table = (pa.concat_tables(picked, promote_options="default") if picked
                    else pa.table({c: [] for c in columns or []}))
    page = result_table.slice(offset, limit)
    if fields:
        page = page.select(fields)
    records = _records(page)
    for i, rec in enumerate(records):
        rec["_id"] = offset + i + 1
    schema = page.schema
    out = {"resource_id": rid, "fields": [{"id": "_id", "type": "int"}] + [
        {"id": f.name, "type": _arrow_type_name(f.type)} for f in schema],
        "records": records, "limit": limit, "offset": offset,
        "_links": {"start": f"/api/3/action/datastore_search?resource_id={rid}",
                   "next": f"/api/3/action/datastore_search?resource_id={rid}"
                           f"&offset={offset + limit}"},
        "disclosure_control": report.lines()}
    if include_total:
        out["total"] = total
        out["total_was_estimated"] = False
    if filters:
        out["filters"] = filters
    if q:
        out["q"] = q
    if sort:
        out["sort"] = sort
    return out


ACTIONS: dict[str, Callable[[Call, dict], object]] = {
    "status_show": status_show, "package_list": package_list,
    "package_search": package_search, "package_show": package_show,
    "organization_list": organization_list, "organization_show": organization_show,
    "group_list": group_list, "tag_list": tag_list, "resource_show": resource_show,
    "datastore_search": datastore_search,
}


#: Actions whose result is made of the catalog alone (open metadata, the same for every
#: caller): identical requests share one result until the catalog is renewed.
CATALOG_ACTIONS = frozenset({"package_list", "package_search", "package_show",
                             "organization_list", "organization_show", "group_list",
                             "tag_list", "resource_show"})


def _params_key(params: dict) -> str:
    return json.dumps(params, sort_keys=True, default=str)


def held(api: Call, name: str, params: dict):
    """The result of an identical earlier request when it can be given without the store,
    else None (then :func:`call` runs). Only for a catalog action or a ``datastore_search``
    of a public dataset, with the catalog held and current: the decision then needs no read,
    and is made and logged for this request exactly as :func:`call` would."""
    try:
        if name in CATALOG_ACTIONS:
            current = api.cache.held_catalog()
            if current is None or not isinstance(params, dict):
                return None
            return api.cache.peek((name, current[0], api.base_url, _params_key(params)))
        if name != "datastore_search" or not isinstance(params, dict):
            return None
        current = api.cache.held_catalog()
        if current is None:
            return None
        dataset_id = _id_param(params, "resource_id", "id").split(".", 1)[0]
        row = current[1].get(dataset_id)
        if row is None or row["access_level"] != "public":
            return None
        d = access.decide(api.store, dataset_id, api.actor, "api", row=row)
        if not d.allowed:
            return None          # refusals are logged at once, by call()
        out = api.cache.peek(("datastore_search", api.cache.dataset_generation(dataset_id),
                              dataset_id, d.application_id, d.fields, _params_key(params)))
        if out is not None:
            api.log_use(d, "datastore", len(out["records"]))
        return out
    except CityBrainError:
        return None


def call(api: Call, name: str, params: dict) -> object:
    """Run action ``name``; :class:`ActionError` for an unknown action or bad parameters."""
    fn = ACTIONS.get(name)
    if fn is None:
        raise ActionError("Bad Request", f"Action name not known: {name[:60]}; actions are "
                          f"{', '.join(ACTIONS)}", status=400)
    if not isinstance(params, dict):
        raise ActionError("Bad Request", "the request body must be a JSON object", status=400)
    if name in CATALOG_ACTIONS:
        key = (name, api.cache.catalog_stamp(api.store), api.base_url, _params_key(params))
        return api.cache.answer(key, lambda: fn(api, params))
    return fn(api, params)


def now_text() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S")
