-- The analyses that grow with the data, written once in DuckDB's dialect and run on DuckDB
-- (a store, or a lake through views) or on Spark (transpiled to Spark SQL with sqlglot; see
-- analytics/engines). Plain SQL only: no extension functions, H3 ids as BIGINT, catchments
-- from the catchment_pairs table. Parameters are bound ($name), never formatted in;
-- $city NULL means every city the engine holds.

-- name: population_by_group
-- Residents by city, district, year, service age group and sex ($year NULL: every year).
SELECT city_adcode, district_adcode, year, age_group, sex, sum(persons) AS persons
FROM population_cells
WHERE ($year IS NULL OR year = $year)
  AND ($city IS NULL OR city_adcode = $city)
GROUP BY city_adcode, district_adcode, year, age_group, sex
ORDER BY city_adcode, district_adcode, year, age_group, sex;

-- name: coverage_by_district
-- Coverage and the two-step floating catchment (2SFCA, Luo & Wang 2003) of one facility
-- type for one group and year, summed by district. A cell is covered when an open facility
-- of the type is within $radius metres; step 1: each facility's supply over the residents in
-- its reach; step 2: each cell sums the ratios of the facilities it reaches. Unmet demand:
-- residents times the share of the standard's need ($need per resident of the group, or
-- $need_all per resident of any age turned into per resident of $need_groups, as for
-- nurseries) not met; where the type has no ratio, the uncovered residents.
WITH demand AS (
    SELECT city_adcode, cell, district_adcode, sum(persons) AS persons
    FROM population_cells
    WHERE year = $year AND list_contains($groups, age_group)
      AND ($city IS NULL OR city_adcode = $city)
    GROUP BY city_adcode, cell, district_adcode
    HAVING sum(persons) > 0
), need AS (
    SELECT city_adcode,
           CASE WHEN $need_all IS NULL THEN CAST($need AS DOUBLE)
                ELSE $need_all * sum(persons)
                     / nullif(sum(CASE WHEN list_contains($need_groups, age_group)
                                       THEN persons ELSE 0 END), 0) END AS need
    FROM population_cells
    WHERE year = $year AND ($city IS NULL OR city_adcode = $city)
    GROUP BY city_adcode
), fac AS (
    SELECT city_adcode, facility_id,
           CASE WHEN capacity_unit = 'none' OR capacity <= 0 THEN 1.0
                ELSE CAST(capacity AS DOUBLE) END AS supply
    FROM facilities
    WHERE type = $type AND opened_year <= $year
      AND (closed_year IS NULL OR closed_year > $year)
      AND ($city IS NULL OR city_adcode = $city)
), reach AS (
    SELECT p.city_adcode, p.cell, p.facility_id, d.persons, f.supply
    FROM catchment_pairs p
    JOIN demand d ON d.city_adcode = p.city_adcode AND d.cell = p.cell
    JOIN fac f ON f.city_adcode = p.city_adcode AND f.facility_id = p.facility_id
    WHERE p.type = $type AND p.distance_m <= $radius
), ratio AS (
    SELECT city_adcode, facility_id, max(supply) / sum(persons) AS ratio
    FROM reach
    GROUP BY city_adcode, facility_id
), cell_access AS (
    SELECT r.city_adcode, r.cell, count(*) AS facilities_in_reach, sum(q.ratio) AS access
    FROM reach r
    JOIN ratio q ON q.city_adcode = r.city_adcode AND q.facility_id = r.facility_id
    GROUP BY r.city_adcode, r.cell
), cells AS (
    SELECT d.city_adcode, d.district_adcode, d.persons,
           coalesce(a.facilities_in_reach, 0) AS facilities_in_reach,
           coalesce(a.access, 0.0) AS access, n.need
    FROM demand d
    LEFT JOIN cell_access a ON a.city_adcode = d.city_adcode AND a.cell = d.cell
    JOIN need n ON n.city_adcode = d.city_adcode
)
SELECT city_adcode,
       district_adcode AS adcode,
       sum(persons) AS persons,
       sum(CASE WHEN facilities_in_reach > 0 THEN persons ELSE 0 END) AS covered,
       sum(persons * access) AS weighted,
       sum(CASE WHEN need IS NULL OR need = 0
                THEN CASE WHEN facilities_in_reach > 0 THEN 0.0 ELSE CAST(persons AS DOUBLE) END
                ELSE persons * greatest(0.0, least(1.0, 1.0 - access / need)) END) AS unmet
FROM cells
GROUP BY city_adcode, district_adcode
ORDER BY city_adcode, district_adcode;

-- name: open_supply_by_district
-- Facilities of one type open in $year and their supply (capacity; one unit per facility
-- where capacity is not counted), by district.
SELECT city_adcode, district_adcode AS adcode, count(*) AS facilities,
       sum(CASE WHEN capacity_unit = 'none' OR capacity <= 0 THEN 1.0
                ELSE CAST(capacity AS DOUBLE) END) AS supply
FROM facilities
WHERE type = $type AND opened_year <= $year
  AND (closed_year IS NULL OR closed_year > $year)
  AND ($city IS NULL OR city_adcode = $city)
GROUP BY city_adcode, district_adcode
ORDER BY city_adcode, district_adcode;

-- name: pairs_reach
-- The longest catchment the lake prepared for a type (a --radius beyond it needs new pairs).
SELECT max(distance_m) AS reach, count(*) AS pairs
FROM catchment_pairs
WHERE type = $type;

-- name: cities
-- The cities the engine holds, with their districts.
SELECT city_adcode, count(*) AS districts
FROM districts
GROUP BY city_adcode
ORDER BY city_adcode;

-- name: district_names
-- Every district with its city (names for tables).
SELECT city_adcode, adcode, name, name_en
FROM districts
ORDER BY adcode;

-- name: population_cells_year
-- The published grid table for one city and year (the controlled export's chunk).
SELECT city_adcode, year, cell, district_adcode, age_group, sex, persons
FROM population_cells
WHERE city_adcode = $city AND year = $year
ORDER BY year, cell, age_group, sex;

-- name: population_districts_year
-- The published district table for one city and year (the controlled export's chunk).
SELECT city_adcode, year, district_adcode, age, sex, persons
FROM population_districts
WHERE city_adcode = $city AND year = $year
ORDER BY year, district_adcode, age, sex;

-- name: table_years
-- The years of the population tables, by city.
SELECT DISTINCT city_adcode, year
FROM population_districts
ORDER BY city_adcode, year;
