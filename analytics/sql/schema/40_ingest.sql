-- Department tables loaded by ingest (one per dataset contract in data/contracts/).
-- Each load writes its rows under a new version number in <table>_versions, and moves the
-- dataset's pointer in ingest_current in the same transaction. Readers query the view
-- <table>, which shows the current version only (replace datasets) or every version up to
-- the current one (append datasets): a reader sees the old version or the new one, never
-- a mixture, and a replaced version stays available until it is pruned.

CREATE TABLE ingest_current (
    dataset_id  VARCHAR PRIMARY KEY,
    version     INTEGER NOT NULL,
    load_mode   VARCHAR NOT NULL,     -- replace | append
    event_id    VARCHAR NOT NULL      -- the ingest_log event that made this version current
);

-- Completeness of each load, column by column (share of rows with a value).
CREATE TABLE ingest_quality (
    event_id    VARCHAR NOT NULL,
    dataset_id  VARCHAR NOT NULL,
    column_name VARCHAR NOT NULL,
    rows        BIGINT  NOT NULL,
    non_null    BIGINT  NOT NULL,
    PRIMARY KEY (event_id, column_name)
);

-- Consistency findings of each load (reported, not refused): a grid that disagrees with the
-- district table, a register that halves a district's capacity, facilities in empty cells.
CREATE TABLE ingest_findings (
    event_id         VARCHAR NOT NULL,
    dataset_id       VARCHAR NOT NULL,
    finding          VARCHAR NOT NULL,  -- grid_vs_districts | capacity_halved | facility_in_empty_cell
    layer            VARCHAR NOT NULL,
    type             VARCHAR,
    district_adcode  INTEGER,
    year             SMALLINT,
    value            DOUBLE,
    message          VARCHAR NOT NULL
);

-- The department tables themselves (<table>_versions and the view <table>) are rendered
-- from their contracts: see analytics.pooling.contracts.Contract.ddl.
