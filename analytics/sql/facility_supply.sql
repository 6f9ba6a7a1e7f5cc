-- Facility supply against the residents it serves. Parameters are bound ($name).
-- A facility is open in year Y when opened_year <= Y and (closed_year IS NULL or closed_year > Y).

-- name: open_by_district
-- Facilities open in $year and their capacity, by district and type.
SELECT f.district_adcode,
       d.name,
       f.type,
       count(*)                AS facilities,
       sum(f.capacity)         AS capacity,
       avg(f.occupancy_rate)   AS mean_occupancy
FROM facilities f
JOIN districts d ON d.adcode = f.district_adcode
WHERE f.opened_year <= $year AND (f.closed_year IS NULL OR f.closed_year > $year)
GROUP BY f.district_adcode, d.name, f.type
ORDER BY f.type, f.district_adcode;

-- name: supply_ratio
-- Capacity of one $type open in $year per resident of the $groups it serves, by district.
WITH cap AS (
    SELECT district_adcode, count(*) AS facilities, sum(capacity) AS capacity
    FROM facilities
    WHERE type = $type AND opened_year <= $year AND (closed_year IS NULL OR closed_year > $year)
    GROUP BY district_adcode
), served AS (
    SELECT district_adcode, sum(persons) AS residents
    FROM population_cells
    WHERE year = $year AND list_contains($groups, age_group)
    GROUP BY district_adcode
)
SELECT s.district_adcode,
       d.name,
       coalesce(c.facilities, 0)                           AS facilities,
       coalesce(c.capacity, 0)                             AS capacity,
       s.residents,
       coalesce(c.capacity, 0) / nullif(s.residents, 0)    AS per_resident
FROM served s
JOIN districts d ON d.adcode = s.district_adcode
LEFT JOIN cap c ON c.district_adcode = s.district_adcode
ORDER BY s.district_adcode;

-- name: open_count
-- How many facilities of $type are open in $year ($district NULL: the whole store).
SELECT count(*) AS facilities, coalesce(sum(capacity), 0) AS capacity
FROM facilities
WHERE type = $type AND opened_year <= $year AND (closed_year IS NULL OR closed_year > $year)
  AND ($district IS NULL OR district_adcode = $district);
