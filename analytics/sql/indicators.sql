-- Headline indicators: the counts every KPI is a ratio of, by year and district.
-- Parameters are bound ($name), never formatted in.

-- name: district_base
-- Residents by year and district in the age bands the KPIs use.
SELECT year,
       district_adcode                                         AS adcode,
       sum(persons)                                            AS population,
       sum(persons) FILTER (WHERE age <= 14)                   AS age_0_14,
       sum(persons) FILTER (WHERE age BETWEEN 15 AND 64)       AS age_15_64,
       sum(persons) FILTER (WHERE age >= 60)                   AS age_60plus,
       sum(persons) FILTER (WHERE age >= 65)                   AS age_65plus,
       sum(persons) FILTER (WHERE age >= 80)                   AS age_80plus,
       sum(persons) FILTER (WHERE age BETWEEN 3 AND 5)         AS age_3_5,
       sum(persons) FILTER (WHERE age BETWEEN 6 AND 11)        AS age_6_11
FROM population_districts
GROUP BY year, district_adcode
ORDER BY year, district_adcode;

-- name: capacity_by_year
-- Capacity (beds or places) open at the end of each population year, by district and
-- facility type: opened in or before the year, and not closed by the year.
SELECT y.year,
       f.district_adcode  AS adcode,
       f.type,
       sum(f.capacity)    AS capacity,
       count(*)           AS facilities
FROM (SELECT DISTINCT year FROM population_districts) AS y
JOIN facilities AS f
  ON f.opened_year <= y.year AND (f.closed_year IS NULL OR f.closed_year > y.year)
GROUP BY y.year, f.district_adcode, f.type
ORDER BY y.year, f.district_adcode, f.type;

-- name: facility_types
-- Facility types the store holds at all (a type with no rows has no capacity figures).
SELECT DISTINCT type FROM facilities ORDER BY type;

-- name: districts
-- The city's districts (names for tables and maps), by adcode.
SELECT adcode, name, name_en, area_km2
FROM districts
ORDER BY adcode;

-- name: district_shapes
-- District outlines (WKB, WGS-84) for maps.
SELECT adcode, name, name_en, geometry
FROM districts
ORDER BY adcode;

-- name: stored_values
-- The KPIs kept for one generation of the data (see schema/60_derived.sql), in the order
-- they were computed.
SELECT indicator, year, district, value
FROM kpi_values
WHERE generation = $generation
ORDER BY position;

-- name: clear_stored
-- Drop the kept KPIs (before those of a new generation are written).
DELETE FROM kpi_values;
