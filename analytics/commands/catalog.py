"""``python -m analytics catalog``: list, search and publish the dataset catalog."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from analytics.errors import CityBrainError
from analytics.opendata import catalog
from analytics.server.client import running
from analytics.store import Store, open_for_reading


def register(sub) -> None:
    p = sub.add_parser("catalog", help="the dataset catalog: list, search, DCAT-AP, data.json",
                       description="The catalog of every dataset in the store, by department "
                       "and domain, with access levels and the negative list.")
    p.add_argument("action", choices=["list", "search", "jsonld", "datajson", "refresh", "check"],
                   help="list | search TEXT | jsonld (DCAT-AP) | datajson (Project Open Data) | "
                   "refresh (recount from the tables) | check (undescribed tables)")
    p.add_argument("text", nargs="?", default="", help="search text (for search)")
    p.add_argument("--theme", action="append", default=[], help="keep this domain (repeatable)")
    p.add_argument("--access", action="append", default=[],
                   choices=["public", "on_application", "confidential"], help="keep this access level")
    p.add_argument("--base-url", default=catalog.DEFAULT_BASE_URL,
                   help="the app's public address, for links in jsonld/datajson")
    p.add_argument("--out", type=Path, help="write jsonld/datajson here instead of standard output")
    p.add_argument("--store", type=Path, default=Path("data/city.duckdb"), help="store file")
    p.set_defaults(func=run)


def _search_through(server, args) -> int:
    """``catalog search`` while the server owns the store: its package_search (which logs a
    refused search as the server does for every caller)."""
    fq = " ".join([f"groups:{t}" for t in args.theme] + [f"access_level:{a}" for a in args.access])
    hits = []
    while True:
        result = server.action("package_search", q=args.text, fq=fq, rows=1000, start=len(hits),
                               sort="score desc")
        hits += result["results"]
        if len(hits) >= result["count"] or not result["results"]:
            break
    if not hits:
        print("no dataset matches")
        return 0
    import pandas as pd

    frame = pd.DataFrame([{"dataset_id": h["id"], "title": h["title"],
                           "publisher": h["organization"]["title"],
                           "theme": h["groups"][0]["name"], "access_level": h["access_level"],
                           "row_count": h["row_count"], "downloads": h["downloads"]}
                          for h in hits])
    print(frame.to_string(index=False))
    return 0


def run(args) -> int:
    read_only = args.action in ("list", "jsonld", "datajson", "check", "search")
    server = running(args.store)
    if server is not None and args.action == "search":
        return _search_through(server, args)
    if server is not None and not read_only:
        raise CityBrainError(f"the server at {server.url} owns {args.store}; it refreshes the "
                             "catalog at every load. Stop it to refresh by hand.")
    opener = open_for_reading if read_only else Store.open
    with opener(args.store) as store:
        if args.action == "refresh":
            rows = catalog.refresh(store)
            print(f"{len(rows)} datasets catalogued")
            return 0
        if args.action == "check":
            problems = catalog.check_catalog(store)
            for p in problems:
                print(p)
            if problems:
                raise CityBrainError(f"{len(problems)} catalog problem(s), listed above")
            print("catalog complete: every table is described")
            return 0
        frame = catalog.datasets(store)
        meta = store.meta()
    if args.action in ("jsonld", "datajson"):
        doc = catalog.dcat_jsonld(frame, meta, args.base_url) if args.action == "jsonld" \
            else catalog.data_json(frame, meta, args.base_url)
        text = json.dumps(doc, ensure_ascii=False, indent=2, default=str)
        if args.out:
            args.out.write_text(text + "\n", encoding="utf-8")
            print(f"{args.out}: {len(doc.get('dcat:dataset', doc.get('dataset', [])))} datasets")
        else:
            sys.stdout.write(text + "\n")
        return 0
    text = args.text if args.action == "search" else ""
    result = catalog.search(frame, text, theme=args.theme, access_level=args.access)
    cols = ["dataset_id", "title", "publisher", "theme", "access_level", "row_count", "downloads"]
    print(result.hits[cols].to_string(index=False) if len(result.hits) else "no dataset matches")
    return 0
