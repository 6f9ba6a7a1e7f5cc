-- The city store's core tables. Every table carries the city adcode; geometry is WKB
-- (WGS-84) in a BLOB because spatial extensions cannot be assumed on every machine.

CREATE TABLE meta (
    key   VARCHAR PRIMARY KEY,
    value VARCHAR NOT NULL
);

-- One row per district (区/县/县级市) of the city; the boundary is WGS-84 after the
-- GCJ-02 conversion of the source polygons.
CREATE TABLE districts (
    city_adcode   INTEGER NOT NULL,
    adcode        INTEGER PRIMARY KEY,
    name          VARCHAR NOT NULL,      -- official Chinese name, e.g. 西湖区
    name_en       VARCHAR NOT NULL,      -- pinyin form, e.g. Xihu District
    kind          VARCHAR NOT NULL,      -- district | county | county-level city
    area_km2      DOUBLE  NOT NULL,
    core_lon      DOUBLE  NOT NULL,      -- where the district's population concentrates
    core_lat      DOUBLE  NOT NULL,
    centroid_lon  DOUBLE  NOT NULL,
    centroid_lat  DOUBLE  NOT NULL,
    geometry      BLOB    NOT NULL       -- WKB MultiPolygon, WGS-84
);

-- H3 resolution-9 cells where people live; each cell lies in exactly one district.
CREATE TABLE cells (
    city_adcode      INTEGER NOT NULL,
    cell             UBIGINT PRIMARY KEY,  -- H3 index as an integer
    h3               VARCHAR NOT NULL,     -- the same index as a hex string (for maps)
    district_adcode  INTEGER NOT NULL,
    lon              DOUBLE  NOT NULL,     -- cell centre, WGS-84
    lat              DOUBLE  NOT NULL,
    urbanity         DOUBLE  NOT NULL      -- 0 (rural) .. 1 (urban core): the density model's index
);

-- Layers: the analyses read population_cells, population_districts, vital_events and
-- facilities (and assets), views that put department data where it exists over these
-- synthetic_* tables (see analytics.layers). Writes to a layer's name go to its synthetic table.

-- Residents by cell, service age group and sex. Synthetic below district level; the sums
-- over cells equal population_districts summed over the ages of each group.
CREATE TABLE synthetic_population_cells (
    city_adcode      INTEGER  NOT NULL,
    year             SMALLINT NOT NULL,
    cell             UBIGINT  NOT NULL,
    district_adcode  INTEGER  NOT NULL,
    age_group        VARCHAR  NOT NULL,  -- 0-2 3-5 6-11 12-14 15-17 18-59 60-64 65-69 70-74 75-79 80+
    sex              VARCHAR  NOT NULL,  -- M | F
    persons          INTEGER  NOT NULL
);

-- Residents by district, single year of age (100 = 100 and over) and sex: what the
-- cohort-component model runs on.
CREATE TABLE synthetic_population_districts (
    city_adcode      INTEGER  NOT NULL,
    year             SMALLINT NOT NULL,
    district_adcode  INTEGER  NOT NULL,
    age              SMALLINT NOT NULL,
    sex              VARCHAR  NOT NULL,
    persons          INTEGER  NOT NULL,
    PRIMARY KEY (year, district_adcode, age, sex)
);

-- Vital events by district and year (births in the year; deaths by sex), from the same
-- cohort-component process that produced the population.
CREATE TABLE synthetic_vital_events (
    city_adcode      INTEGER  NOT NULL,
    year             SMALLINT NOT NULL,
    district_adcode  INTEGER  NOT NULL,
    births           INTEGER  NOT NULL,
    deaths           INTEGER  NOT NULL,
    net_migration    INTEGER  NOT NULL,
    PRIMARY KEY (year, district_adcode)
);

-- Facilities that serve the elderly and the children (and health), 2010-2025.
CREATE TABLE synthetic_facilities (
    city_adcode      INTEGER  NOT NULL,
    facility_id      VARCHAR  PRIMARY KEY,
    type             VARCHAR  NOT NULL,  -- see analytics.facilities.FACILITY_TYPES
    name             VARCHAR  NOT NULL,
    district_adcode  INTEGER  NOT NULL,
    cell             UBIGINT  NOT NULL,
    lon              DOUBLE   NOT NULL,
    lat              DOUBLE   NOT NULL,
    capacity         INTEGER  NOT NULL,  -- beds or places (0 where capacity is not counted)
    capacity_unit    VARCHAR  NOT NULL,  -- beds | places | none
    opened_year      SMALLINT NOT NULL,
    closed_year      SMALLINT,           -- NULL while open
    occupancy_rate   DOUBLE,             -- share of capacity in use in the latest year, where known
    owner_department VARCHAR  NOT NULL
);

-- The catalog: every dataset in the store, as the dataset of a department (DCAT-AP core).
CREATE TABLE datasets (
    city_adcode        INTEGER  NOT NULL,
    dataset_id         VARCHAR  PRIMARY KEY,
    title              VARCHAR  NOT NULL,
    title_en           VARCHAR  NOT NULL,
    description        VARCHAR  NOT NULL,
    publisher          VARCHAR  NOT NULL,   -- owner department (Chinese name)
    publisher_en       VARCHAR  NOT NULL,
    theme              VARCHAR  NOT NULL,   -- open-data domain
    keywords           VARCHAR  NOT NULL,   -- comma-separated
    temporal_start     SMALLINT,
    temporal_end       SMALLINT,
    spatial            VARCHAR  NOT NULL,   -- e.g. 杭州市 (330100)
    update_frequency   VARCHAR  NOT NULL,   -- daily | monthly | quarterly | annual | irregular
    access_level       VARCHAR  NOT NULL,   -- public | on_application | confidential
    licence            VARCHAR  NOT NULL,
    modified           DATE     NOT NULL,
    negative_list      BOOLEAN  NOT NULL,   -- on the red line: never opened
    negative_reason    VARCHAR,
    source_table       VARCHAR,             -- the store table that holds the data
    row_count          BIGINT   NOT NULL,
    synthetic          BOOLEAN  NOT NULL,
    columns_json       VARCHAR  NOT NULL    -- [{"name","type","unit","description"}, ...]
);

CREATE TABLE ingest_log (
    event_id     VARCHAR   PRIMARY KEY,
    dataset_id   VARCHAR   NOT NULL,
    logged_at    TIMESTAMP NOT NULL,
    actor        VARCHAR   NOT NULL,
    file_name    VARCHAR   NOT NULL,
    file_sha256  VARCHAR   NOT NULL,
    rows_in      BIGINT    NOT NULL,
    rows_out     BIGINT    NOT NULL,
    version      INTEGER   NOT NULL,
    status       VARCHAR   NOT NULL,   -- loaded | rejected
    message      VARCHAR
);

CREATE TABLE download_log (
    event_id    VARCHAR   PRIMARY KEY,
    dataset_id  VARCHAR   NOT NULL,
    logged_at   TIMESTAMP NOT NULL,
    actor       VARCHAR   NOT NULL,   -- user name, or 'public'
    channel     VARCHAR   NOT NULL,   -- page | download | cli | api
    format      VARCHAR   NOT NULL,
    rows        BIGINT    NOT NULL,
    outcome     VARCHAR   NOT NULL    -- served | refused
);
