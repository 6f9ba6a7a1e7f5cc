-- Planning queries: residents of a service group by cell, facilities open in a year,
-- district outlines. Parameters are bound ($name), never formatted in.

-- name: group_cells
-- One year's residents of the given cell age groups, per populated cell, with the cell's
-- centre and hex string (for maps). $district NULL means the whole city. Summed before
-- the join: the join then touches one row per cell, not one per age group and sex.
WITH p AS (
    SELECT cell, sum(persons) AS persons, count(*) FILTER (WHERE persons > 0) AS parts
    FROM population_cells
    WHERE year = $year
      AND list_contains($groups, age_group)
      AND ($district IS NULL OR district_adcode = $district)
    GROUP BY cell
)
SELECT c.cell, c.h3, c.district_adcode, c.lon, c.lat, p.persons, p.parts
FROM p
JOIN cells c ON c.cell = p.cell
ORDER BY c.cell;

-- name: group_total
-- Residents of the given cell age groups in one year (city, or one district).
SELECT coalesce(sum(persons), 0) AS persons
FROM population_cells
WHERE year = $year
  AND list_contains($groups, age_group)
  AND ($district IS NULL OR district_adcode = $district);

-- name: facilities_open
-- Facilities of one type open in a year: opened by then and not closed before it ends.
-- $district NULL means the whole city.
SELECT facility_id, type, name, district_adcode, cell, lon, lat, capacity, capacity_unit,
       opened_year, closed_year, occupancy_rate, owner_department
FROM facilities
WHERE type = $type
  AND opened_year <= $year
  AND (closed_year IS NULL OR closed_year > $year)
  AND ($district IS NULL OR district_adcode = $district)
ORDER BY facility_id;

-- name: facility_type_counts
-- How many facilities of each type exist at all (any year), to tell "no facilities of this
-- type in the store" apart from "none open in this year".
SELECT type, count(*) AS facilities, min(opened_year) AS first_opened
FROM facilities
GROUP BY type
ORDER BY type;

-- name: districts
-- The city's districts with their outline (WKB, WGS-84).
SELECT adcode, name, name_en, area_km2, centroid_lon, centroid_lat, geometry
FROM districts
ORDER BY adcode;

-- name: district_names
SELECT adcode, name, name_en
FROM districts
ORDER BY adcode;

-- name: cells_extent
-- The bounding box of the populated grid (to reject candidate sites outside the city).
SELECT min(lon) AS min_lon, max(lon) AS max_lon, min(lat) AS min_lat, max(lat) AS max_lat,
       count(*) AS cells
FROM cells;

-- name: capacity_by_district
-- Open capacity and facility count by district and type in a year.
SELECT district_adcode, type, count(*) AS facilities, sum(capacity) AS capacity
FROM facilities
WHERE opened_year <= $year
  AND (closed_year IS NULL OR closed_year > $year)
GROUP BY district_adcode, type
ORDER BY district_adcode, type;

-- name: groups_by_district
-- Residents by district and cell age group in a year (the demand side of supply tables).
SELECT district_adcode, age_group, sum(persons) AS persons
FROM population_cells
WHERE year = $year
GROUP BY district_adcode, age_group
ORDER BY district_adcode, age_group;

-- name: landmarks
-- Every named facility open in a year (any year when $year is NULL), with its position:
-- the landmarks places are described by.
SELECT facility_id, type, name, district_adcode, lon, lat
FROM facilities
WHERE name IS NOT NULL AND name <> ''
  AND ($year IS NULL OR (opened_year <= $year AND (closed_year IS NULL OR closed_year > $year)))
ORDER BY facility_id;

-- name: cell_points
-- Every populated cell's centre and district (to name a point by the nearest cell).
SELECT cell, district_adcode, lon, lat
FROM cells
ORDER BY cell;
