"""Department file -> validated, atomic load into the shared store: the pipeline's face.

The pipeline is small steps, each its own module:

- :mod:`~analytics.pooling.read`: a file in any supported format as batches of raw rows;
- :mod:`~analytics.pooling.clean`: raw rows -> the store's columns, every problem recorded;
- :mod:`~analytics.pooling.plan`: :func:`validate` returns a :class:`Plan` (the report, the
  file's SHA-256 and the cleaned rows);
- :mod:`~analytics.pooling.load`: :func:`load_plan` writes a plan as the next version in one
  transaction (re-checking only the SHA-256); :func:`load` is validate + load_plan;
  :func:`rollback` makes the previous version current again;
- :mod:`~analytics.pooling.quality`: the data-quality page's read models and the
  consistency checks;
- :mod:`~analytics.pooling.uploads`: example files and uploaded files awaiting a load.
"""

from analytics.pooling.clean import (
    BOUNDARY_TOLERANCE_DEG,
    DATUM_HEADERS,
    MAX_PROBLEMS,
    PROBLEM_COLUMNS,
    CityFrame,
    _norm,
    city_frame,
    map_header,
    short_name,
)
from analytics.pooling.errors import IngestError, IngestRejected
from analytics.pooling.load import (
    KEEP_VERSIONS,
    LOADER_ROLES,
    check_may_load,
    load,
    load_plan,
    may_load,
    rollback,
)
from analytics.pooling.plan import KEEP_IN_MEMORY_BYTES, Plan, Report, problems_csv, validate
from analytics.pooling.quality import (
    FINDING_COLUMNS,
    column_completeness,
    consistency,
    findings,
    history,
    quality,
)
from analytics.pooling.read import (
    BATCH_ROWS,
    BLOCK_BYTES,
    ENCODINGS,
    FORMATS,
    MAX_LINE_BYTES,
    Source,
    detect_encoding,
    file_format,
    open_source,
    sha256,
)
from analytics.pooling.uploads import EXAMPLES_DIR, example_path, read_upload, upload_dir

__all__ = ["BATCH_ROWS", "BLOCK_BYTES", "BOUNDARY_TOLERANCE_DEG", "DATUM_HEADERS", "ENCODINGS",
           "EXAMPLES_DIR", "FINDING_COLUMNS", "FORMATS", "KEEP_IN_MEMORY_BYTES", "KEEP_VERSIONS", "LOADER_ROLES",
           "MAX_LINE_BYTES", "MAX_PROBLEMS", "PROBLEM_COLUMNS", "CityFrame", "IngestError",
           "IngestRejected", "Plan", "Report", "Source", "_norm", "check_may_load", "city_frame",
           "column_completeness", "consistency", "detect_encoding", "example_path",
           "file_format", "findings", "history", "load", "load_plan", "map_header", "may_load",
           "open_source", "problems_csv", "quality", "read_upload", "rollback", "sha256",
           "short_name", "upload_dir", "validate"]
