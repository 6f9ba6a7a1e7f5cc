"""Apache Spark behind the same named queries: local mode, or a cluster via Spark Connect.

The analyses are the named queries of ``analytics/sql/`` (DuckDB's dialect), transpiled to
Spark SQL with ``sqlglot`` and run with Spark's own parameter binding (``$name`` becomes
``:name`` and the values go in ``args``; nothing is formatted into the text). The lake's
tables are registered as temporary views over its Parquet files, so the SQL names the same
tables on both engines.

PySpark is imported only when a Spark engine is asked for: nothing else starts a JVM.
"""

from __future__ import annotations

import socket
from functools import cache
from urllib.parse import urlparse

import pandas as pd
import pyarrow as pa

from analytics.engines.lake import Lake, LakeError
from analytics.errors import CityBrainError
from analytics.store import named_query

LOCAL = "local[2]"
#: Local mode on one machine: no UI, few shuffle partitions (tables are per city), loopback.
LOCAL_CONF = {
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.shuffle.partitions": "8",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    "spark.sql.session.timeZone": "UTC",
    "spark.driver.bindAddress": "127.0.0.1",
    "spark.driver.host": "127.0.0.1",
    "spark.driver.memory": "2g",
    "spark.sql.ansi.enabled": "false",
}


class SparkUnavailable(CityBrainError):
    """Spark could not be started or reached; the message says what to do."""


@cache
def spark_sql(name: str) -> str:
    """The named query ``family.name`` in Spark SQL (transpiled once, then cached)."""
    import sqlglot

    return sqlglot.transpile(named_query(name), read="duckdb", write="spark")[0]


def _check_reachable(url: str, timeout: float = 3.0) -> None:
    parsed = urlparse(url)
    if parsed.scheme != "sc" or not parsed.hostname:
        raise SparkUnavailable(f"--spark {url!r} is not a Spark Connect URL: give "
                               "sc://HOST:PORT (the Connect server's port, 15002 by default)")
    port = parsed.port or 15002
    try:
        with socket.create_connection((parsed.hostname, port), timeout=timeout):
            pass
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise SparkUnavailable(
            f"Spark Connect at {url} does not answer ({reason}): start the cluster's Connect "
            "server (sbin/start-connect-server.sh) or check the host and port; leave out "
            "--spark to run Spark in local mode") from None


def session(url: str | None = None, conf: dict[str, str] | None = None):
    """A SparkSession: ``local[2]`` when ``url`` is None, else Spark Connect at ``url``."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise SparkUnavailable("PySpark is not installed: `pip install -r requirements.txt`"
                               ) from None
    if url and url.startswith("sc://"):
        _check_reachable(url)
        return SparkSession.builder.remote(url).getOrCreate()
    if url and not url.startswith("local"):
        _check_reachable(url)  # says what a valid URL looks like
    builder = SparkSession.builder.master(url or LOCAL).appName("citybrain")
    for key, value in {**LOCAL_CONF, **(conf or {})}.items():
        builder = builder.config(key, value)
    try:
        spark = builder.getOrCreate()
    except Exception as exc:  # the JVM did not start: no Java runtime, usually
        raise SparkUnavailable(f"Spark did not start ({str(exc).splitlines()[0]}): it needs a "
                               "Java 17 runtime (Debian: apt-get install "
                               "openjdk-17-jre-headless)") from None
    spark.sparkContext.setLogLevel("ERROR")
    return spark


class SparkEngine:
    """The lake on Spark, answering the same named queries as :class:`~analytics.store.Store`.

    ``query``/``scalar``/``arrow``/``meta``/``tables``/``columns`` mirror the store's read
    methods, so the analyses that take a store run here unchanged.
    """

    name = "spark"

    def __init__(self, lake: Lake, spark):
        self.lake = lake
        self.spark = spark
        self.path = None
        for table in lake.tables():
            files = [str(f) for f in lake.files(table)]
            (spark.read.option("basePath", str(lake.table_dir(table))).parquet(*files)
             .createOrReplaceTempView(table))

    @classmethod
    def open(cls, lake: Lake | str, url: str | None = None,
             conf: dict[str, str] | None = None) -> SparkEngine:
        lake = lake if isinstance(lake, Lake) else Lake.open(lake)
        return cls(lake, session(url, conf))

    def _frame(self, name: str, params: dict):
        args = {k: (list(v) if isinstance(v, tuple) else v) for k, v in params.items()}
        return self.spark.sql(spark_sql(name), args=args or None)

    def query(self, name: str, **params) -> pd.DataFrame:
        return self._frame(name, params).toPandas()

    def scalar(self, name: str, **params):
        rows = self._frame(name, params).take(1)
        return None if not rows else rows[0][0]

    def arrow(self, name: str, **params) -> pa.Table:
        return self._frame(name, params).toArrow()

    def meta(self) -> dict[str, str]:
        return self.lake.meta()

    def tables(self) -> list[str]:
        return self.lake.tables()

    def columns(self, table: str) -> pd.DataFrame:
        fields = self.spark.table(table).schema.fields
        return pd.DataFrame({"column": [f.name for f in fields],
                             "type": [f.dataType.simpleString() for f in fields]})

    def close(self) -> None:
        """Drops the views; the session lives on for the process (starting one costs seconds)."""
        for table in self.lake.tables():
            self.spark.catalog.dropTempView(table)

    def __enter__(self) -> SparkEngine:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


__all__ = ["SparkEngine", "SparkUnavailable", "LakeError", "session", "spark_sql"]
