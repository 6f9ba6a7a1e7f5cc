-- Layers: what feeds each analytic layer, per district (and type), and the rows behind it.

-- name: sources_facilities
SELECT 'facilities' AS layer, type, district_adcode, source, count(*) AS rows,
       sum(capacity) AS capacity
FROM facilities
WHERE $year IS NULL OR (opened_year <= $year AND (closed_year IS NULL OR closed_year > $year))
GROUP BY type, district_adcode, source
ORDER BY type, district_adcode, source;

-- name: sources_assets
SELECT 'assets' AS layer, asset_type AS type, district_adcode, source, count(*) AS rows,
       NULL AS capacity
FROM assets
GROUP BY asset_type, district_adcode, source
ORDER BY asset_type, district_adcode, source;

-- name: sources_yearly
-- The layers held by year (population by cell and by district, vital events): one year,
-- by default each table's latest.
WITH yearly AS (
    SELECT 'population_cells' AS layer, district_adcode, source FROM population_cells
    WHERE year = coalesce($year, (SELECT max(year) FROM population_cells))
    UNION ALL
    SELECT 'population_districts', district_adcode, source FROM population_districts
    WHERE year = coalesce($year, (SELECT max(year) FROM population_districts))
    UNION ALL
    SELECT 'vital_events', district_adcode, source FROM vital_events
    WHERE year = coalesce($year, (SELECT max(year) FROM vital_events))
)
SELECT layer, '' AS type, district_adcode, source, count(*) AS rows, NULL AS capacity
FROM yearly
GROUP BY layer, district_adcode, source
ORDER BY layer, district_adcode, source;

-- name: loads
SELECT dataset_id, version, logged_at, actor, rows_out
FROM ingest_log WHERE status = 'loaded';

-- name: facilities_list
SELECT facility_id, name, type, district_adcode, lon, lat, capacity, opened_year, closed_year,
       source
FROM facilities
WHERE type = $type
  AND ($district IS NULL OR district_adcode = $district)
  AND ($year IS NULL OR (opened_year <= $year AND (closed_year IS NULL OR closed_year > $year)))
ORDER BY district_adcode, facility_id;

-- name: layer_rows
SELECT 'population_cells' AS layer, count(*) AS rows FROM population_cells
UNION ALL SELECT 'population_districts', count(*) FROM population_districts
UNION ALL SELECT 'vital_events', count(*) FROM vital_events
UNION ALL SELECT 'facilities', count(*) FROM facilities
UNION ALL SELECT 'assets', count(*) FROM assets;

-- name: facility_types_present
SELECT DISTINCT type FROM facilities;

-- name: district_totals
SELECT year, district_adcode, sum(persons) AS table_persons
FROM population_districts GROUP BY year, district_adcode;

-- name: open_capacity
SELECT type, district_adcode, sum(capacity) AS capacity
FROM facilities WHERE closed_year IS NULL GROUP BY type, district_adcode;

-- name: lived_cells
SELECT DISTINCT cell FROM population_cells
WHERE persons > 0 AND year = (SELECT max(year) FROM population_cells);

-- name: lived_among
-- Which of the cells $cells have residents in the grid's latest year, and whether any cell
-- has: the facilities' check without reading the whole grid out.
WITH lived AS (
    SELECT DISTINCT cell FROM population_cells
    WHERE persons > 0 AND year = (SELECT max(year) FROM population_cells)
), probe AS (
    SELECT DISTINCT unnest($cells::UBIGINT[]) AS cell
)
SELECT probe.cell, probe.cell IN (SELECT cell FROM lived) AS lived,
       (SELECT count(*) FROM lived) > 0 AS grid_has_residents
FROM probe;

-- name: open_capacity_of_others
SELECT type, district_adcode, sum(capacity) AS capacity
FROM dept_layer_facilities
WHERE closed_year IS NULL AND NOT starts_with(source, $prefix)
GROUP BY type, district_adcode;

-- name: grid_totals
SELECT year, district_adcode, sum(persons) AS table_persons
FROM population_cells GROUP BY year, district_adcode;

-- name: district_names
SELECT adcode AS district_adcode, name, name_en FROM districts ORDER BY adcode;

-- name: years_population_districts
-- Per year and district: what feeds residents by district (a chart over years says it).
SELECT year, district_adcode, source FROM population_districts
GROUP BY year, district_adcode, source ORDER BY year, district_adcode, source;

-- name: years_vital_events
SELECT year, district_adcode, source FROM vital_events
GROUP BY year, district_adcode, source ORDER BY year, district_adcode, source;
