"""The one door to DuckDB.

Everything the product reads or writes goes through :class:`Store`: one connection, a
cursor per call, named queries kept in ``analytics/sql/*.sql`` and bound parameters only.
No other module imports ``duckdb``; that keeps the door open for another engine (Spark,
say) to stand behind the same methods when a province outgrows one machine.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import threading
from collections.abc import Iterator, Mapping, Sequence
from functools import cache
from pathlib import Path

import duckdb
import pandas as pd

from analytics.errors import CityBrainError
from analytics.layers.schema import LAYER_NAMES, contract_statements, layer_statements

#: Bumped whenever a table or column changes; a store of another version must be rebuilt.
SCHEMA_VERSION = 5

SQL_DIR = Path(__file__).parent / "sql"
SCHEMA_DIR = SQL_DIR / "schema"
DEFAULT_STORE = Path("data/city.duckdb")
log = logging.getLogger(__name__)

_IDENT = re.compile(r"^[a-z_][a-z0-9_]*$")
_NAME_MARK = re.compile(r"^--\s*name:\s*([a-z0-9_]+)\s*$", re.MULTILINE)


class StoreError(CityBrainError):
    """A store that cannot be used, with a message that says what to do about it."""


def rebuild_hint(path: Path | str) -> str:
    return f"rebuild it with `make rebuild` or `python -m analytics build --out {path}`"


@cache
def _query_family(family: str) -> dict[str, str]:
    """Parse ``sql/<family>.sql`` into ``{name: statement}`` split on ``-- name: x`` lines."""
    path = SQL_DIR / f"{family}.sql"
    if not path.exists():
        raise KeyError(f"no query family {family!r} (expected {path})")
    text = path.read_text(encoding="utf-8")
    marks = list(_NAME_MARK.finditer(text))
    queries: dict[str, str] = {}
    for i, m in enumerate(marks):
        end = marks[i + 1].start() if i + 1 < len(marks) else len(text)
        queries[m.group(1)] = text[m.end() : end].strip().rstrip(";")
    return queries


def named_query(name: str) -> str:
    """The SQL text of ``family.name``."""
    family, _, query = name.partition(".")
    queries = _query_family(family)
    if query not in queries:
        raise KeyError(f"no query {query!r} in sql/{family}.sql (has: {', '.join(queries)})")
    return queries[query]


def _schema_statements() -> list[str]:
    """Every CREATE statement: ``sql/schema/*.sql`` in file-name order, then the department
    tables rendered from their contracts, then the layer views over both."""
    statements = []
    for path in sorted(SCHEMA_DIR.glob("*.sql")):
        text = "\n".join(line.split("--", 1)[0] for line in
                         path.read_text(encoding="utf-8").splitlines())
        statements.extend(s.strip() for s in text.split(";") if s.strip())
    return statements + contract_statements() + layer_statements()


def schema_tables() -> list[str]:
    """Names of the tables the schema defines, in creation order."""
    names = []
    for stmt in _schema_statements():
        m = re.match(r"CREATE TABLE\s+(?:IF NOT EXISTS\s+)?([a-z_][a-z0-9_]*)", stmt, re.I)
        if m:
            names.append(m.group(1))
    return names


#: A layer's name is a view (department data over synthetic); writes go to its synthetic table.
_WRITE_TARGET = {name: f"synthetic_{name}" for name in LAYER_NAMES}

#: Tables the raw rows of which leave only through the access function (record-level and
#: confidential data): :meth:`Store.table` refuses them. Filled by the dataset registry.
RESTRICTED_TABLES: set[str] = set()

#: Store files (and DuckDB's write-ahead log beside them) are readable by their owner only.
FILE_MODE = 0o600


def restrict(*tables: str) -> None:
    """Register tables whose rows only the access function may read."""
    RESTRICTED_TABLES.update(tables)


def protect_file(path: Path | str | None) -> None:
    """Make a store file (and its write-ahead log) readable and writable by its owner only."""
    if path is None:
        return
    for p in (Path(path), Path(f"{path}.wal")):
        with contextlib.suppress(FileNotFoundError, PermissionError):
            if p.stat().st_mode & 0o777 != FILE_MODE:
                os.chmod(p, FILE_MODE)


class RestrictedTable(CityBrainError):
    """A raw read of a table whose rows leave only through the access function."""


def _check_ident(name: str) -> str:
    if not _IDENT.match(name):
        raise ValueError(f"not a plain identifier: {name!r}")
    return name


class Store:
    """A city store in one DuckDB file (or in memory, for tests).

    Use :meth:`open` for an existing store (checks it is readable and of this schema
    version) and :meth:`create` for a new one. Reads return pandas DataFrames.
    """

    def __init__(self, con: duckdb.DuckDBPyConnection, path: Path | None,
                 read_only: bool = False):
        self._con = con
        self.path = path
        #: Opened read-only (a notebook's or the CLI's view): nothing may be written.
        self.read_only = read_only
        self._lock = threading.RLock()
        self._listeners: list = []
        # Inside Jupyter DuckDB refuses this setting unless ipywidgets is present (duckdb#7590).
        with contextlib.suppress(duckdb.InvalidInputException):
            con.execute("SET enable_progress_bar = false")

    # -- opening -----------------------------------------------------------------------
    @classmethod
    def create(cls, path: Path | str | None = None) -> Store:
        """A new, empty store with the current schema (``None`` means in memory)."""
        if path is not None:
            path = Path(path)
            if path.exists():
                raise StoreError(f"{path} already exists; Store.create makes new stores only")
        con = duckdb.connect(str(path) if path else ":memory:")
        protect_file(path)  # owner-only before any row is written
        store = cls(con, path)
        with store.transaction() as cur:
            for stmt in _schema_statements():
                cur.execute(stmt)
            cur.execute(
                "INSERT INTO meta (key, value) VALUES ('schema_version', ?)",
                [str(SCHEMA_VERSION)],
            )
        return store

    @classmethod
    def open(cls, path: Path | str = DEFAULT_STORE, *, read_only: bool = False) -> Store:
        """Open an existing store, or raise :class:`StoreError` saying how to fix it."""
        path = Path(path)
        if not path.exists():
            raise StoreError(f"no store at {path}: build it with `make store` "
                             f"or `python -m analytics build --out {path}`", code="store_missing",
                             path=str(path))
        if path.is_dir():
            raise StoreError(f"{path} is a directory, not a store file", code="store_directory",
                             path=str(path))
        try:
            con = duckdb.connect(str(path), read_only=read_only)
        except duckdb.IOException as exc:
            msg = str(exc)
            if "lock" in msg.lower():
                raise StoreError(f"{path} is in use by another process (is the app running?): "
                                 f"stop it, or work on a copy. DuckDB said: {msg.splitlines()[0]}",
                                 code="store_locked", path=str(path)) from None
            raise StoreError(f"{path} is not a readable store (corrupt or truncated?): "
                             f"{rebuild_hint(path)}. DuckDB said: {msg.splitlines()[0]}",
                             code="store_unreadable", path=str(path)) from None
        except duckdb.ConnectionException as exc:
            raise StoreError(f"{path} is already open in this process with another read_only "
                             f"setting; open it the same way everywhere ({exc})") from None
        except duckdb.Error as exc:
            raise StoreError(f"{path} is not a readable store (corrupt or truncated?): "
                             f"{rebuild_hint(path)}. DuckDB said: {str(exc).splitlines()[0]}",
                             code="store_unreadable", path=str(path)) from None
        if not read_only:
            protect_file(path)
        store = cls(con, path, read_only=read_only)
        try:
            version = store.meta().get("schema_version")
        except duckdb.Error:
            store.close()
            raise StoreError(f"{path} is a DuckDB file but not a city store: "
                             f"{rebuild_hint(path)}", code="store_not_city", path=str(path)
                             ) from None
        if version != str(SCHEMA_VERSION):
            store.close()
            raise StoreError(f"{path} has schema version {version}, this code needs "
                             f"{SCHEMA_VERSION}: {rebuild_hint(path)}", code="store_schema",
                             path=str(path), version=version, needs=SCHEMA_VERSION)
        return store

    def close(self) -> None:
        with contextlib.suppress(duckdb.Error):
            self._con.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- reading -----------------------------------------------------------------------
    @contextlib.contextmanager
    def cursor(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A cursor of its own for one call (DuckDB cursors are not shared across threads)."""
        cur = self._con.cursor()
        try:
            yield cur
        finally:
            cur.close()

    def query(self, name: str, **params) -> pd.DataFrame:
        """Run the named query ``family.name`` from ``sql/family.sql`` with bound parameters.

        Parameters are referenced in the SQL as ``$name``.
        """
        sql = named_query(name)
        with self.cursor() as cur:
            return cur.execute(sql, params or None).df()

    def scalar(self, name: str, cur=None, **params):
        """The single value a named query returns (or ``None``); inside ``cur``'s transaction
        if given (to read what the transaction has written)."""
        if cur is not None:
            row = cur.execute(named_query(name), params or None).fetchone()
            return None if row is None else row[0]
        with self.cursor() as own:
            row = own.execute(named_query(name), params or None).fetchone()
        return None if row is None else row[0]

    def table(self, name: str, columns: Sequence[str] | None = None) -> pd.DataFrame:
        """A whole schema table (small tables only: districts, facilities, datasets…)."""
        _check_ident(name)
        if name in RESTRICTED_TABLES:
            raise RestrictedTable(f"{name} holds record-level or confidential data: read it "
                                  "through analytics.opendata.access (decided, controlled and "
                                  "logged), never as a raw table", code="restricted_table",
                                  table=name)
        if name not in self.tables():
            raise KeyError(f"no table {name!r} in this store")
        cols = ", ".join(_check_ident(c) for c in columns) if columns else "*"
        with self.cursor() as cur:
            return cur.execute(f"SELECT {cols} FROM {name}").df()  # noqa: S608 (identifiers checked)

    def arrow(self, name: str, **params):
        """Like :meth:`query` but returns a pyarrow Table (no pandas copy), for exports."""
        with self.cursor() as cur:
            return cur.sql(named_query(name), params=params or None).to_arrow_table()

    def tables(self) -> list[str]:
        with self.cursor() as cur:
            rows = cur.execute(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = 'main' ORDER BY table_name"
            ).fetchall()
        return [r[0] for r in rows]

    def views(self) -> list[str]:
        """The names :meth:`tables` lists that are views (layers, current versions)."""
        with self.cursor() as cur:
            rows = cur.execute(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = 'main' AND table_type = 'VIEW' ORDER BY table_name"
            ).fetchall()
        return [r[0] for r in rows]

    def row_counts(self) -> pd.DataFrame:
        """``table, rows`` for every table in the store."""
        counts = []
        with self.cursor() as cur:
            for name in self.tables():
                n = cur.execute(f"SELECT count(*) FROM {_check_ident(name)}").fetchone()[0]  # noqa: S608
                counts.append((name, n))
        return pd.DataFrame(counts, columns=["table", "rows"])

    def columns(self, table: str) -> pd.DataFrame:
        """``column, type`` of one table, in order."""
        with self.cursor() as cur:
            return cur.execute(
                "SELECT column_name AS column, data_type AS type FROM information_schema.columns "
                "WHERE table_name = ? ORDER BY ordinal_position",
                [table],
            ).df()

    def meta(self) -> dict[str, str]:
        with self.cursor() as cur:
            return dict(cur.execute("SELECT key, value FROM meta").fetchall())

    def vintage(self) -> str:
        """What the data is as of: the build (its id, else its time) and the latest load.

        Changes whenever the synthetic layers are rebuilt, a department's file is loaded or a
        dataset is rolled back, and only then, so it keys every cache of derived frames.

        >>> s = Store.create()
        >>> s.set_meta({"build_id": "b1"})
        >>> s.vintage()
        'b1|0'
        >>> s.close()
        """
        with self.cursor() as cur:  # one statement: every page run asks, several times
            build, loads, last = cur.execute(
                "SELECT (SELECT coalesce(max(value) FILTER (WHERE key = 'build_id'), "
                "max(value) FILTER (WHERE key = 'built_at'), '') FROM meta), "
                "count(*), max(logged_at) FROM ingest_log WHERE status <> 'rejected'"
            ).fetchone()
        return f"{build}|{loads}" + ("" if last is None else f"|{last:%Y-%m-%dT%H:%M:%S.%f}")

    # -- who hears of a change ---------------------------------------------------------
    def on_change(self, listener) -> None:
        """Call ``listener(dataset_id)`` after each committed load or rollback of a dataset
        in this store, whoever made it (the API, a page, a command in the same process): the
        server keeps its caches, indicators and sensor pipeline in step this way.

        >>> s = Store.create()
        >>> heard = []
        >>> s.on_change(heard.append)
        >>> s.announce_change("education_schools")
        >>> heard
        ['education_schools']
        >>> s.close()
        """
        self._listeners.append(listener)

    def off_change(self, listener) -> None:
        """Stop calling ``listener`` (one added with :meth:`on_change`)."""
        with contextlib.suppress(ValueError):
            self._listeners.remove(listener)

    def announce_change(self, dataset_id: str) -> None:
        """Tell the listeners that ``dataset_id`` changed (after the commit). A listener that
        fails is logged and the others still hear: the data is committed either way."""
        for listener in list(self._listeners):
            try:
                listener(dataset_id)
            except Exception:  # noqa: BLE001 - the load stands; the log says what failed
                log.warning("a listener of %s failed on the change of %s", self.path,
                            dataset_id, exc_info=True)

    # -- writing -----------------------------------------------------------------------
    @contextlib.contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """All or nothing: everything done with the yielded cursor commits together."""
        with self._lock, self.cursor() as cur:
            cur.execute("BEGIN TRANSACTION")
            try:
                yield cur
            except BaseException:
                cur.execute("ROLLBACK")
                raise
            cur.execute("COMMIT")

    def set_meta(self, values: Mapping[str, object], cur=None) -> None:
        rows = [(k, str(v)) for k, v in values.items()]
        with contextlib.ExitStack() as stack:
            if cur is None:
                cur = stack.enter_context(self.transaction())
            cur.executemany(
                "INSERT INTO meta (key, value) VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                rows,
            )

    def write(self, table: str, frame, *, replace: bool = False, cur=None,
              order_by: Sequence[str] = ()) -> int:
        """Insert a DataFrame (or Arrow table) into a schema table, matching columns by name.

        With ``replace`` the table is emptied first; ``order_by`` stores rows in key order
        (smaller files and faster scans: DuckDB skips row groups by their min/max). Pass
        ``cur`` to join an open :meth:`transaction`; otherwise the write is its own.
        """
        _check_ident(table)
        if table in _WRITE_TARGET:  # a layer: its synthetic rows (``source`` is the view's own)
            table = _WRITE_TARGET[table]
            names = frame.column_names if hasattr(frame, "column_names") else frame.columns
            if "source" in names:
                frame = frame.drop(columns=["source"]) if hasattr(frame, "columns") and \
                    not hasattr(frame, "column_names") else frame.drop_columns(["source"])
        names = frame.column_names if hasattr(frame, "column_names") else frame.columns
        cols = [_check_ident(str(c)) for c in names]
        col_list = ", ".join(cols)
        with contextlib.ExitStack() as stack:
            if cur is None:
                cur = stack.enter_context(self.transaction())
            if replace:
                cur.execute(f"DELETE FROM {table}")  # noqa: S608 (identifier checked)
            cur.register("_incoming", frame)
            try:
                order = (" ORDER BY " + ", ".join(_check_ident(c) for c in order_by)
                         if order_by else "")
                cur.execute(f"INSERT INTO {table} ({col_list}) "  # noqa: S608 (identifiers checked)
                            f"SELECT {col_list} FROM _incoming{order}")
            finally:
                with contextlib.suppress(duckdb.Error):  # an aborted transaction refuses it
                    cur.unregister("_incoming")
        return len(frame)

    def execute(self, name: str, cur=None, **params) -> None:
        """Run a named statement that changes data (inside ``cur``'s transaction if given)."""
        sql = named_query(name)
        if cur is not None:
            cur.execute(sql, params or None)
            return
        with self.transaction() as own:
            own.execute(sql, params or None)

    def carry_over(self, old: Path | str, tables: Sequence[str], *,
                   datasets_of: Sequence[str] = ()) -> dict[str, int]:
        """Copy whole tables (by column name) from another store file of this schema into
        this one, in one transaction; and the ``datasets`` rows whose ``source_table`` is in
        ``datasets_of``. Returns rows copied per table. The other file is attached read-only."""
        quoted = "'" + str(old).replace("'", "''") + "'"
        copied: dict[str, int] = {}
        with self._lock, self.cursor() as cur:
            cur.execute(f"ATTACH {quoted} AS carried (READ_ONLY)")  # noqa: S608 (a quoted path)
            try:
                theirs = {r[0] for r in cur.execute(
                    "SELECT table_name FROM information_schema.tables WHERE table_catalog = "
                    "'carried' AND table_type = 'BASE TABLE'").fetchall()}
                cur.execute("BEGIN TRANSACTION")
                try:
                    for table in tables:
                        _check_ident(table)
                        if table not in theirs:
                            continue
                        cur.execute(f"DELETE FROM {table}")  # noqa: S608 (identifier checked)
                        cur.execute(f"INSERT INTO {table} BY NAME "  # noqa: S608
                                    f"SELECT * FROM carried.{table}")
                        copied[table] = cur.execute(
                            f"SELECT count(*) FROM {table}").fetchone()[0]  # noqa: S608
                    if datasets_of and "datasets" in theirs:
                        keep = list(datasets_of)
                        cur.execute("DELETE FROM datasets WHERE dataset_id IN (SELECT dataset_id "
                                    "FROM carried.datasets WHERE list_contains(?, source_table))",
                                    [keep])
                        cur.execute("INSERT INTO datasets BY NAME SELECT * FROM carried.datasets "
                                    "WHERE list_contains(?, source_table)", [keep])
                except BaseException:
                    cur.execute("ROLLBACK")
                    raise
                cur.execute("COMMIT")
            finally:
                cur.execute("DETACH carried")
        return copied

    def checkpoint(self) -> None:
        with self.cursor() as cur:
            cur.execute("CHECKPOINT")
        protect_file(self.path)

    def ensure_tables(self) -> list[str]:
        """Create the schema tables this store lacks (tables added without changing any
        existing one, such as ``api_tokens``); returns their names. Existing data is untouched."""
        have = set(self.tables())
        made = []
        with self.transaction() as cur:
            for stmt in _schema_statements():
                m = re.match(r"CREATE TABLE\s+(?:IF NOT EXISTS\s+)?([a-z_][a-z0-9_]*)", stmt, re.I)
                if m and m.group(1) not in have:
                    cur.execute(stmt)
                    made.append(m.group(1))
        return made

    def publish_snapshot(self, target: Path | str | None = None) -> Path:
        """Copy this store, as of one consistent moment, to a read-only snapshot file.

        Other processes (notebooks, the read-only CLI) cannot open a file a server holds
        read-write; they open the snapshot instead. The copy runs in its own transaction, so
        writers carry on while it is made, and replaces the previous snapshot in one rename.
        Secrets (the masking key, session and API-token hashes) are left out of the copy.
        """
        if self.path is None:
            raise StoreError("an in-memory store has no snapshot")
        target = Path(target) if target is not None else snapshot_path(self.path)
        tmp = target.with_name(target.name + ".tmp")
        tmp.unlink(missing_ok=True)
        quoted = "'" + str(tmp).replace("'", "''") + "'"
        with self.cursor() as cur:
            source = cur.execute("SELECT current_database()").fetchone()[0]
            cur.execute(f"ATTACH {quoted} AS _snapshot")  # noqa: S608 (a path we chose, quoted)
            try:
                cur.execute(f"COPY FROM DATABASE {_check_ident(source)} TO _snapshot")
                for table in SNAPSHOT_WITHOUT:
                    if table in self.tables():
                        cur.execute(f"DELETE FROM _snapshot.{table}")  # noqa: S608
            finally:
                cur.execute("DETACH _snapshot")
        os.replace(tmp, target)
        return target

    # -- exporting ---------------------------------------------------------------------
    def copy_to_parquet(self, name: str, target: Path | str, partition_by: Sequence[str] = (),
                        **params) -> None:
        """Write the rows of a named query as Parquet (hive-partitioned by ``partition_by``,
        each partition's files named ``part-*``): the lake export's writer, with bound
        parameters and no pandas copy."""
        with self.cursor() as cur:
            rel = cur.sql(named_query(name), params=params or None)
            # H3 ids are UBIGINT in the store; engines without unsigned 64-bit integers
            # (Spark) read them as BIGINT, which holds every H3 index (the top bit is 0).
            exprs = [f"CAST({_check_ident(c)} AS BIGINT) AS {c}" if str(t) == "UBIGINT"
                     else _check_ident(c) for c, t in zip(rel.columns, rel.types, strict=True)]
            rel = rel.project(", ".join(exprs))
            rel.to_parquet(str(target), compression="zstd",
                           partition_by=[_check_ident(c) for c in partition_by] or None,
                           overwrite=bool(partition_by) or None,
                           filename_pattern="part-{i}" if partition_by else None)

    @classmethod
    def over_parquet(cls, tables: Mapping[str, Sequence[Path]], meta: Mapping[str, str],
                     hive_types: Mapping[str, str] | None = None
                     ) -> Store:
        """A read-only store in memory whose tables are views over Parquet files (a lake).

        ``tables`` maps a table name to its hive-partitioned files; partition columns come back from the directory names with ``hive_types``.
        """
        con = duckdb.connect(":memory:")
        store = cls(con, None, read_only=True)
        with store.cursor() as cur:
            cur.execute("CREATE TABLE meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL)")
            cur.executemany("INSERT INTO meta VALUES (?, ?)", [(k, str(v)) for k, v in meta.items()])
            for name, files in tables.items():
                _check_ident(name)
                if not files:
                    continue
                paths = ", ".join("'" + str(f).replace("'", "''") + "'" for f in files)
                types = ", ".join(f"'{_check_ident(k)}': '{v}'"
                                  for k, v in (hive_types or {}).items()
                                  if re.fullmatch(r"[A-Z]+", v) and f"/{k}=" in str(files[0]))
                # a view cannot bind parameters: the file names are quoted literals
                cur.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet([{paths}], "  # noqa: S608
                            f"hive_partitioning = true, union_by_name = true"
                            + (f", hive_types = {{{types}}}" if types else "") + ")")
        return store

    def export_parquet(self, table: str, directory: Path | str,
                       partition_by: Sequence[str] = ()) -> Path:
        """Write a table as Parquet (optionally hive-partitioned, e.g. by city and year)."""
        _check_ident(table)
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        target = directory / (table if partition_by else f"{table}.parquet")
        options = "FORMAT parquet"
        if partition_by:
            options += ", PARTITION_BY (" + ", ".join(_check_ident(c) for c in partition_by) + ")"
            options += ", OVERWRITE_OR_IGNORE true"
        with self.cursor() as cur:
            # COPY cannot bind a parameter for its target; the path is quoted, not user SQL.
            quoted = "'" + str(target).replace("'", "''") + "'"
            cur.execute(f"COPY {table} TO {quoted} ({options})")  # noqa: S608
        return target


#: Tables whose rows stay out of a published snapshot (secrets and live credentials).
SNAPSHOT_WITHOUT = ("privacy_keys", "sessions", "api_tokens", "login_attempts")


def snapshot_path(path: Path | str) -> Path:
    """Where the server publishes the read-only snapshot of the store at ``path``."""
    path = Path(path)
    return path.with_name(path.stem + ".snapshot" + path.suffix)


def open_for_reading(path: Path | str = DEFAULT_STORE) -> Store:
    """A read-only store for a process that is not the server (notebooks, the CLI).

    The file itself when nobody holds it; while the server holds it read-write, the
    snapshot the server published after its last load (same schema, same data as of then).
    """
    try:
        return Store.open(path, read_only=True)
    except StoreError as exc:
        snap = snapshot_path(path)
        if "in use by another process" not in str(exc) or not snap.exists():
            raise
        return Store.open(snap, read_only=True)


def store_path_from_env() -> Path:
    """The store the app serves: ``$CITYBRAIN_STORE`` or ``data/city.duckdb``."""
    return Path(os.environ.get("CITYBRAIN_STORE", DEFAULT_STORE))
