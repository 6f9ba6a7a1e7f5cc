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

-- Registered elderly care homes (Civil Affairs Bureau, replace); contract civil_affairs_care_homes.yaml
CREATE TABLE dept_care_homes_versions (
    city_adcode      INTEGER NOT NULL,
    home_id          VARCHAR NOT NULL,
    name             VARCHAR NOT NULL,
    district_adcode  INTEGER NOT NULL,
    lon              DOUBLE NOT NULL,
    lat              DOUBLE NOT NULL,
    beds             BIGINT NOT NULL,
    residents        BIGINT,
    operator         VARCHAR NOT NULL,
    opened_year      BIGINT NOT NULL,
    version          INTEGER NOT NULL
);

CREATE VIEW dept_care_homes AS
SELECT city_adcode, home_id, name, district_adcode, lon, lat, beds, residents, operator, opened_year, version
FROM dept_care_homes_versions
WHERE version = (SELECT version FROM ingest_current WHERE dataset_id = 'civil_affairs_care_homes');

-- Schools and kindergartens (Education Bureau, replace); contract education_schools.yaml
CREATE TABLE dept_schools_versions (
    city_adcode      INTEGER NOT NULL,
    school_id        VARCHAR NOT NULL,
    name             VARCHAR NOT NULL,
    stage            VARCHAR NOT NULL,
    district_adcode  INTEGER NOT NULL,
    lon              DOUBLE NOT NULL,
    lat              DOUBLE NOT NULL,
    places           BIGINT NOT NULL,
    enrolled         BIGINT NOT NULL,
    school_year      BIGINT NOT NULL,
    version          INTEGER NOT NULL
);

CREATE VIEW dept_schools AS
SELECT city_adcode, school_id, name, stage, district_adcode, lon, lat, places, enrolled, school_year, version
FROM dept_schools_versions
WHERE version = (SELECT version FROM ingest_current WHERE dataset_id = 'education_schools');

-- Daily air quality at monitoring stations (Ecology and Environment Bureau, append); contract environment_air_quality.yaml
CREATE TABLE dept_air_quality_versions (
    city_adcode   INTEGER NOT NULL,
    station_id    VARCHAR NOT NULL,
    station_name  VARCHAR NOT NULL,
    date          DATE NOT NULL,
    lon           DOUBLE NOT NULL,
    lat           DOUBLE NOT NULL,
    pm25          DOUBLE NOT NULL,
    pm10          DOUBLE,
    aqi           BIGINT NOT NULL,
    version       INTEGER NOT NULL
);

CREATE VIEW dept_air_quality AS
SELECT city_adcode, station_id, station_name, date, lon, lat, pm25, pm10, aqi, version
FROM dept_air_quality_versions
WHERE version <= (SELECT version FROM ingest_current WHERE dataset_id = 'environment_air_quality');

-- Community health service centres (Health Commission, replace); contract health_community_centres.yaml
CREATE TABLE dept_health_centres_versions (
    city_adcode      INTEGER NOT NULL,
    centre_id        VARCHAR NOT NULL,
    name             VARCHAR NOT NULL,
    district_adcode  INTEGER NOT NULL,
    lon              DOUBLE NOT NULL,
    lat              DOUBLE NOT NULL,
    gps              BIGINT NOT NULL,
    beds             BIGINT NOT NULL,
    visits           BIGINT NOT NULL,
    version          INTEGER NOT NULL
);

CREATE VIEW dept_health_centres AS
SELECT city_adcode, centre_id, name, district_adcode, lon, lat, gps, beds, visits, version
FROM dept_health_centres_versions
WHERE version = (SELECT version FROM ingest_current WHERE dataset_id = 'health_community_centres');

-- Registered residents by district, age and sex (Public Security Bureau, append); contract public_security_residents.yaml
CREATE TABLE dept_registered_residents_versions (
    city_adcode      INTEGER NOT NULL,
    as_of            DATE NOT NULL,
    district_adcode  INTEGER NOT NULL,
    age              BIGINT NOT NULL,
    sex              VARCHAR NOT NULL,
    persons          BIGINT NOT NULL,
    version          INTEGER NOT NULL
);

CREATE VIEW dept_registered_residents AS
SELECT city_adcode, as_of, district_adcode, age, sex, persons, version
FROM dept_registered_residents_versions
WHERE version <= (SELECT version FROM ingest_current WHERE dataset_id = 'public_security_residents');

-- Bus stops (Transport Bureau, replace); contract transport_bus_stops.yaml
CREATE TABLE dept_bus_stops_versions (
    city_adcode      INTEGER NOT NULL,
    stop_id          VARCHAR NOT NULL,
    name             VARCHAR NOT NULL,
    district_adcode  INTEGER NOT NULL,
    lon              DOUBLE NOT NULL,
    lat              DOUBLE NOT NULL,
    routes           BIGINT NOT NULL,
    version          INTEGER NOT NULL
);

CREATE VIEW dept_bus_stops AS
SELECT city_adcode, stop_id, name, district_adcode, lon, lat, routes, version
FROM dept_bus_stops_versions
WHERE version = (SELECT version FROM ingest_current WHERE dataset_id = 'transport_bus_stops');
