"""The dataset catalog: search with facets, metadata quality, DCAT-AP and data.json.

Reads the ``datasets`` table (written by the build's catalog stage, refreshed by
:func:`refresh`). Search runs over the few dozen catalog rows in memory; what a visitor
types never reaches SQL, and strings that look like injection attempts are refused and
logged anyway, so probing shows up in the usage log.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass
from datetime import date

import pandas as pd

from analytics.errors import CityBrainError
from analytics.geo import english_name
from analytics.opendata import access
from analytics.opendata.registry import (
    DATASETS,
    DOMAINS,
    FREQUENCIES,
    SPECS,
    catalog_rows,
    contract_tables,
    description_en,
    frame_years,
    negative_reason_en,
    spec,
    undescribed_tables,
)
from analytics.pooling.load import AFTER_CHANGE
from analytics.store import Store

TABULAR_FORMATS = ("csv", "parquet", "xlsx")
SPATIAL_FORMATS = ("geojson", "geoparquet")
FORMATS = TABULAR_FORMATS + SPATIAL_FORMATS

#: Days within which a dataset of each update frequency counts as current.
FREQUENCY_DAYS = {"daily": 2, "monthly": 35, "quarterly": 100, "annual": 400, "irregular": 730}
#: EU vocabularies DCAT-AP uses for frequency and access rights.
EU_FREQUENCY = {"daily": "DAILY", "monthly": "MONTHLY", "quarterly": "QUARTERLY",
                "annual": "ANNUAL", "irregular": "IRREG"}
EU_ACCESS = {"public": "PUBLIC", "on_application": "RESTRICTED", "confidential": "NON_PUBLIC"}
POD_ACCESS = {"public": "public", "on_application": "restricted public",
              "confidential": "non-public"}
MEDIA_TYPES = {"csv": "text/csv", "parquet": "application/vnd.apache.parquet",
               "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
               "geojson": "application/geo+json", "geoparquet": "application/vnd.apache.parquet"}
DCAT_AP_MANDATORY = {
    "catalog": ("dct:title", "dct:description", "dct:publisher", "dcat:dataset"),
    "dataset": ("dct:title", "dct:description"),
    "distribution": ("dcat:accessURL",),
    "agent": ("foaf:name",),
}
DEFAULT_BASE_URL = "http://localhost:8501"

#: What a search may contain: letters (any script), digits, spaces and a little punctuation.
_SEARCH_OK = re.compile(r"^[\w\s\-.,+/()·、，。（）]*$")
_SEARCH_MAX = 80


class SearchRefused(CityBrainError):
    """A search string that is not a search (too long, or SQL/HTML-like)."""


def datasets(store: Store) -> pd.DataFrame:
    """The catalog with each dataset's download formats and download count."""
    frame = store.query("open_data.datasets")
    usage = store.query("open_data.usage_counts")
    frame = frame.merge(usage[["dataset_id", "downloads"]], on="dataset_id", how="left")
    frame["downloads"] = frame["downloads"].fillna(0).astype(int)
    frame["formats"] = [",".join(formats(r)) for r in frame.itertuples()]
    # English texts the store does not hold: from the registry and the contracts
    frame["description_en"] = [description_en(d) for d in frame["dataset_id"]]
    frame["negative_reason_en"] = [negative_reason_en(r) for r in frame["negative_reason"]]
    return frame


def formats(row) -> tuple[str, ...]:
    """Download formats a dataset offers (none for the negative list or on-application-only)."""
    if row.access_level == "confidential" or row.source_table is None \
            or pd.isna(row.source_table):
        return ()
    s = spec(row.dataset_id)
    if s is not None and s.spatial_kind:
        return FORMATS
    return TABULAR_FORMATS


def columns_of(row) -> pd.DataFrame:
    """A dataset's columns: ``name, type, unit, description, description_en``; a missing
    unit or description is an empty string (never ``None``), and a column described in
    one language only carries that description in both."""
    out = pd.DataFrame(json.loads(row["columns_json"]),
                       columns=["name", "type", "unit", "description", "description_en"])
    out = out.astype(object).where(out.notna(), "").astype(str)
    out["description_en"] = out["description_en"].where(out["description_en"] != "",
                                                        out["description"])
    out["description"] = out["description"].where(out["description"] != "",
                                                  out["description_en"])
    return out


# -- search -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SearchResult:
    hits: pd.DataFrame
    facets: dict[str, pd.Series]   # facet -> value counts over the hits


FACETS = ("theme", "publisher", "access_level", "formats", "update_frequency")


def check_search_text(text: str) -> str:
    """The search text trimmed, or :class:`SearchRefused` with the reason."""
    text = (text or "").strip()
    if len(text) > _SEARCH_MAX:
        raise SearchRefused(f"search text is {len(text)} characters; use at most {_SEARCH_MAX}",
                            code="search_too_long", length=len(text), limit=_SEARCH_MAX)
    bad = "--" in text or "/*" in text or not _SEARCH_OK.match(text)
    if bad:
        raise SearchRefused("search text may hold only words, numbers, spaces and - . , + / ( ); "
                            "quotes, semicolons, comment marks and angle brackets are refused",
                            code="search_characters")
    return text


_HAY = ("title", "title_en", "description", "keywords", "publisher", "publisher_en", "dataset_id")


def search(catalog: pd.DataFrame, text: str = "", **selected: list[str]) -> SearchResult:
    """Datasets matching every word of ``text`` and every selected facet value.

    ``selected`` maps a facet (``theme``, ``publisher``, ``access_level``, ``formats``,
    ``update_frequency``) to the values kept; an empty list keeps all. Ranked by how many
    words hit the title, then by downloads. A catalog has tens to a few thousand rows, so a
    plain loop over them beats building pandas masks.
    """
    text = check_search_text(text)
    for facet in selected:
        if facet not in FACETS:
            raise CityBrainError(f"unknown facet {facet!r}; facets are {', '.join(FACETS)}",
                             code="unknown_facet", facet=facet, choices=", ".join(FACETS))
    words = text.lower().split()
    wanted = {f: set(v) for f, v in selected.items() if v}
    columns = {c: catalog[c].tolist() for c in (*_HAY, *FACETS, "downloads")}
    scored = []
    for i in range(len(catalog)):
        hay = " ".join(str(columns[c][i]) for c in _HAY).lower()
        if not all(w in hay for w in words):
            continue
        ok = True
        for facet, values in wanted.items():
            value = columns[facet][i]
            if facet == "formats":
                ok = bool(set(value.split(",")) & values)
            else:
                ok = value in values
            if not ok:
                break
        if not ok:
            continue
        title = f"{columns['title'][i]} {columns['title_en'][i]}".lower()
        scored.append((-sum(w in title for w in words), -int(columns["downloads"][i]),
                       columns["dataset_id"][i], i))
    scored.sort()
    idx = [i for *_, i in scored]
    hits = catalog.iloc[idx].reset_index(drop=True)
    facets = {}
    for facet in FACETS:
        counts: Counter = Counter()
        for i in idx:
            value = columns[facet][i]
            counts.update([v for v in value.split(",") if v] if facet == "formats" else [value])
        facets[facet] = pd.Series(dict(counts.most_common()), dtype="int64")
    return SearchResult(hits, facets)


def facet_counts(catalog: pd.DataFrame, text: str = "",
                 **selected: list[str]) -> dict[str, pd.Series]:
    """What each facet's choices would find: counts over the datasets that match the search
    text and the *other* facets' selections (disjunctive faceting, as CKAN and Solr do), so
    a search narrows every facet and choosing a value in one facet keeps its siblings
    selectable. A selected value with no match keeps a count of 0 so it stays visible."""
    out = {}
    for facet in FACETS:
        others = {f: v for f, v in selected.items() if f != facet}
        counts = search(catalog, text, **others).facets[facet]
        for value in selected.get(facet) or []:
            if value not in counts.index:
                counts = pd.concat([counts, pd.Series({value: 0}, dtype="int64")])
        out[facet] = counts
    return out


# -- metadata quality ---------------------------------------------------------------------------
_CORE_FIELDS = ("title", "title_en", "description", "publisher", "theme", "keywords", "spatial",
                "update_frequency", "access_level", "licence", "modified")


def quality(row, today: date | None = None) -> dict[str, float]:
    """Metadata quality, 0-100: completeness 40, freshness 30, open format 15, open licence 15.

    After the weighting of the EU Data Portal's metadata-quality assessment (MQA), reduced to
    what a catalog row can show: core fields (half of completeness) and column descriptions
    (the other half; a dataset with no columns has none) filled in; modified within the
    stated update frequency; machine-readable open formats; an open licence. A dataset with
    no records is neither current nor downloadable in any format: it scores no freshness and
    no open format, whatever its metadata says.
    """
    today = today or date.today()
    filled = [bool(str(row[f]).strip()) and not pd.isna(row[f]) for f in _CORE_FIELDS]
    filled.append(not pd.isna(row["temporal_start"]) or row["source_table"] is None
                  or pd.isna(row["source_table"]))
    cols = json.loads(row["columns_json"])
    described = (sum(1 for c in cols if str(c.get("description") or "").strip()
                     or str(c.get("description_en") or "").strip()) / len(cols)
                 if cols else 0.0)
    completeness = 0.5 * sum(filled) / len(filled) + 0.5 * described
    empty = pd.isna(row["row_count"]) or int(row["row_count"]) == 0
    modified = pd.Timestamp(row["modified"]).date()
    age = (today - modified).days
    allowed = FREQUENCY_DAYS.get(row["update_frequency"], 365)
    freshness = 1.0 if age <= allowed else max(0.0, 1.0 - (age - allowed) / (4 * allowed))
    if empty:
        freshness = 0.0
    has_table = not (row["source_table"] is None or pd.isna(row["source_table"]))
    open_format = 1.0 if row["access_level"] != "confidential" and has_table and not empty \
        else 0.0
    open_licence = 1.0 if row["licence"].startswith("CC") else (
        0.5 if row["access_level"] == "on_application" else 0.0)
    parts = {"completeness": 40 * completeness, "freshness": 30 * freshness,
             "open_format": 15 * open_format, "open_licence": 15 * open_licence}
    parts = {k: round(v, 1) for k, v in parts.items()}
    parts["score"] = round(sum(parts.values()), 1)
    return parts


def with_quality(catalog: pd.DataFrame, today: date | None = None) -> pd.DataFrame:
    """The catalog with a ``quality`` column (the metadata quality score, 0-100)."""
    out = catalog.copy()
    out["quality"] = [quality(r, today)["score"] for _, r in catalog.iterrows()]
    return out


def negative_list(catalog: pd.DataFrame) -> pd.DataFrame:
    """The negative list: every confidential entry and its reason (visible to all)."""
    neg = catalog[catalog["negative_list"]]
    cols = ["dataset_id", "title", "title_en", "publisher", "publisher_en", "negative_reason"]
    if "negative_reason_en" in neg.columns:
        cols.append("negative_reason_en")
    return neg[cols].sort_values(["publisher", "dataset_id"]).reset_index(drop=True)


def most_downloaded(catalog: pd.DataFrame, n: int = 10) -> pd.DataFrame:
    top = catalog[catalog["downloads"] > 0].sort_values(["downloads", "dataset_id"],
                                                        ascending=[False, True]).head(n)
    return top[["dataset_id", "title", "title_en", "publisher", "downloads"]].reset_index(drop=True)


def log_refused_search(store: Store, actor, text: str, reason: str, channel: str = "page") -> None:
    """Probing the search box is logged like any refused request."""
    access.log(store, access.Decision("(search)", actor, channel, False,
                                      f"search refused: {reason}; text: {text[:120]!r}"),
               "search", 0)


# -- machine-readable catalog ----------------------------------------------------------------
def _public_rows(catalog: pd.DataFrame) -> pd.DataFrame:
    """Every entry is listed (the negative list too: its existence and reason are public)."""
    return catalog.sort_values("dataset_id")


def _english(city: str) -> str:
    return english_name(city) if city else "City"


def dcat_jsonld(catalog: pd.DataFrame, meta: dict[str, str], base_url: str = DEFAULT_BASE_URL
                ) -> dict:
    """The catalog as DCAT-AP 3 JSON-LD (every mandatory and the recommended core fields)."""
    base = base_url.rstrip("/")
    city = meta.get("city_name") or ""
    data = []
    for _, r in _public_rows(catalog).iterrows():
        ds_url = f"{base}/catalog?dataset={r['dataset_id']}"
        entry = {
            "@id": ds_url,
            "@type": "dcat:Dataset",
            "dct:identifier": r["dataset_id"],
            "dct:title": [{"@value": r["title"], "@language": "zh"},
                          {"@value": r["title_en"], "@language": "en"}],
            "dct:description": [{"@value": r["description"], "@language": "zh"}]
            + ([{"@value": SPECS[r["dataset_id"]].description_en, "@language": "en"}]
               if r["dataset_id"] in SPECS else []),
            "dct:publisher": {"@type": "foaf:Agent", "foaf:name": [
                {"@value": r["publisher"], "@language": "zh"},
                {"@value": r["publisher_en"], "@language": "en"}]},
            "dcat:contactPoint": {"@type": "vcard:Organization", "vcard:fn": r["publisher"]},
            "dcat:theme": {"@id": "http://publications.europa.eu/resource/authority/data-theme/"
                                  + DOMAINS.get(r["theme"], ("", "", "SOCI"))[2]},
            "dcat:keyword": [k.strip() for k in r["keywords"].split(",") if k.strip()],
            "dct:spatial": {"@type": "dct:Location", "rdfs:label": r["spatial"]},
            "dct:accrualPeriodicity": {"@id": "http://publications.europa.eu/resource/authority/"
                                              "frequency/" + EU_FREQUENCY[r["update_frequency"]]},
            "dct:accessRights": {"@id": "http://publications.europa.eu/resource/authority/"
                                        "access-right/" + EU_ACCESS[r["access_level"]]},
            "dct:modified": {"@value": str(pd.Timestamp(r["modified"]).date()),
                             "@type": "xsd:date"},
            "dcat:landingPage": {"@id": ds_url},
        }
        if not pd.isna(r["temporal_start"]):
            entry["dct:temporal"] = {"@type": "dct:PeriodOfTime",
                                     "dcat:startDate": f"{int(r['temporal_start'])}-01-01",
                                     "dcat:endDate": f"{int(r['temporal_end'])}-12-31"}
        if r["negative_list"]:
            entry["adms:status"] = "negative list"
            entry["rdfs:comment"] = r["negative_reason"]
        dists = []
        for fmt in formats(r):
            dists.append({
                "@type": "dcat:Distribution",
                "dcat:accessURL": {"@id": ds_url},
                "dcat:downloadURL": {"@id": f"{base}/api/download/{r['dataset_id']}.{fmt}"},
                "dct:format": fmt.upper(),
                "dcat:mediaType": MEDIA_TYPES[fmt],
                "dct:license": {"@id": "https://creativecommons.org/licenses/by/4.0/"}
                if r["licence"].startswith("CC") else {"rdfs:label": r["licence"]},
            })
        if dists:
            entry["dcat:distribution"] = dists
        data.append(entry)
    return {
        "@context": {
            "dcat": "http://www.w3.org/ns/dcat#", "dct": "http://purl.org/dc/terms/",
            "foaf": "http://xmlns.com/foaf/0.1/", "vcard": "http://www.w3.org/2006/vcard/ns#",
            "xsd": "http://www.w3.org/2001/XMLSchema#", "adms": "http://www.w3.org/ns/adms#",
            "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
        },
        "@id": f"{base}/catalog",
        "@type": "dcat:Catalog",
        "dct:title": [{"@value": f"{city}公共数据开放目录", "@language": "zh"},
                      {"@value": f"{_english(city)} open data catalog", "@language": "en"}],
        "dct:description": [{"@value": f"{city}各部门汇聚数据的开放目录：无条件开放、有条件（申请）开放与负面清单。",
                             "@language": "zh"}],
        "dct:publisher": {"@type": "foaf:Agent", "foaf:name": f"{city}数据资源管理局"},
        "dct:modified": {"@value": str(catalog["modified"].max())[:10], "@type": "xsd:date"}
        if len(catalog) else None,
        "dcat:dataset": data,
    }


def data_json(catalog: pd.DataFrame, meta: dict[str, str], base_url: str = DEFAULT_BASE_URL
              ) -> dict:
    """The catalog as a Project Open Data v1.1 ``data.json`` listing."""
    base = base_url.rstrip("/")
    out = []
    for _, r in _public_rows(catalog).iterrows():
        ds_url = f"{base}/catalog?dataset={r['dataset_id']}"
        item = {
            "@type": "dcat:Dataset", "identifier": r["dataset_id"], "title": r["title"],
            "description": r["description"],
            "keyword": [k.strip() for k in r["keywords"].split(",") if k.strip()],
            "modified": str(pd.Timestamp(r["modified"]).date()),
            "publisher": {"@type": "org:Organization", "name": r["publisher"]},
            "contactPoint": {"@type": "vcard:Contact", "fn": r["publisher"],
                             "hasEmail": "mailto:opendata@example.org"},
            "accessLevel": POD_ACCESS[r["access_level"]],
            "license": "https://creativecommons.org/licenses/by/4.0/"
            if r["licence"].startswith("CC") else r["licence"],
            "spatial": r["spatial"], "theme": [DOMAINS.get(r["theme"], ("", r["theme"], ""))[1]],
            "accrualPeriodicity": {"daily": "R/P1D", "monthly": "R/P1M", "quarterly": "R/P3M",
                                   "annual": "R/P1Y", "irregular": "irregular"}[r["update_frequency"]],
            "landingPage": ds_url,
        }
        if not pd.isna(r["temporal_start"]):
            item["temporal"] = f"{int(r['temporal_start'])}-01-01/{int(r['temporal_end'])}-12-31"
        if r["negative_list"]:
            item["rights"] = r["negative_reason"]
        dists = [{"@type": "dcat:Distribution",
                  "downloadURL": f"{base}/api/download/{r['dataset_id']}.{f}",
                  "mediaType": MEDIA_TYPES[f], "format": f.upper()} for f in formats(r)]
        if dists:
            item["distribution"] = dists
        out.append(item)
    return {"conformsTo": "https://project-open-data.cio.gov/v1.1/schema",
            "@type": "dcat:Catalog", "dataset": out}


# -- keeping the catalog in step with the store ----------------------------------------------
def refresh(store: Store) -> pd.DataFrame:
    """Rewrite the ``datasets`` table from the store's actual tables (counts, columns, years)."""
    tables = store.tables()
    table_columns = {t: list(store.columns(t).itertuples(index=False, name=None)) for t in tables}
    meta = store.meta()

    def count(s):
        if s.aggregate:
            return len(access.source_frame(store, s))
        if s.type_filter:
            return int(store.scalar("open_data.count_types", table=s.table, types=list(s.type_filter)))
        return int(store.scalar("open_data.count_all", table=s.table))

    def years(s):
        cols = dict(table_columns[s.table])
        if "year" in cols and not s.type_filter:
            ys = store.query("open_data.table_years", table=s.table)["year"]
            return (int(ys.min()), int(ys.max())) if len(ys) else (None, None)
        if "registry_year" in cols:
            return frame_years(store.query("open_data.rows_all", table=s.table))
        return None, None

    old = store.query("open_data.datasets")
    last_year = int(meta.get("last_year", date.today().year))
    modified = pd.Timestamp(old["modified"].max()).date() if len(old) else date(last_year, 12, 31)
    rows = catalog_rows(table_columns, count, years, int(meta.get("city_adcode", 0)),
                        meta.get("city_name", ""), modified,
                        lambda table: int(store.scalar("open_data.count_all", table=table)))
    # Rows ingest keeps up to date (counts, years, modified) stay as ingest wrote them.
    kept = old[old["dataset_id"].isin(set(rows["dataset_id"]))
               & old["source_table"].isin(set(contract_tables()))]
    rows = pd.concat([rows[~rows["dataset_id"].isin(set(kept["dataset_id"]))],
                      kept[rows.columns]], ignore_index=True)
    with store.transaction() as cur:
        store.execute("open_data.delete_datasets", cur=cur)
        store.write("datasets", rows, cur=cur)
    return rows


def recount_layer(store: Store, contract, cur) -> None:
    """Renew the row count and years of the catalog entries that publish ``contract``'s layer
    view (run by every load and rollback, inside its transaction: see
    ``analytics.pooling.load.AFTER_CHANGE``).

    Parameters
    ----------
    store : Store
        The city store.
    contract : Contract
        The department dataset just loaded or rolled back.
    cur : duckdb.DuckDBPyConnection
        The load's transaction.
    """
    layer = (contract.layer or {}).get("name")
    for s in DATASETS:
        if layer is None or s.table != layer or s.aggregate:
            continue
        if s.type_filter:
            rows = store.scalar("open_data.count_types", cur=cur, table=s.table,
                                types=list(s.type_filter))
        else:
            rows = store.scalar("open_data.count_all", cur=cur, table=s.table)
        start = end = None
        if "year" in set(store.columns(s.table)["column"]) and not s.type_filter:
            start = store.scalar("open_data.first_year", cur=cur, table=s.table)
            end = store.scalar("open_data.last_year", cur=cur, table=s.table)
        store.execute("ingest.set_layer_dataset_count", cur=cur, dataset_id=s.dataset_id,
                      row_count=int(rows or 0), temporal_start=start, temporal_end=end)


AFTER_CHANGE.append(recount_layer)


def check_catalog(store: Store) -> list[str]:
    """Problems with the catalog: undescribed tables, missing or stale rows (empty if none)."""
    problems = [f"table {t} is in the store but described by no dataset: add an entry to "
                "DATASETS in analytics/opendata/registry.py (or to SYSTEM_TABLES, or a contract)"
                for t in undescribed_tables(store.tables())]
    listed = set(store.query("open_data.datasets")["dataset_id"])
    for s in DATASETS:
        if (s.table is None or s.table in store.tables()) and s.dataset_id not in listed:
            problems.append(f"dataset {s.dataset_id} is described but not in the datasets table: "
                            "run `python -m analytics catalog refresh`")
    return problems


__all__ = ["datasets", "search", "quality", "dcat_jsonld", "data_json", "refresh",
           "check_catalog", "FREQUENCIES", "SearchRefused"]
