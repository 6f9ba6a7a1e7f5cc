-- Forecast queries. Parameters are bound ($name), never formatted in.

-- name: years
SELECT DISTINCT year FROM population_districts ORDER BY year;

-- name: history
-- Single-year population of every district up to (and including) the base year: the only
-- data a forecast from that base year may see.
SELECT year, district_adcode, age, sex, persons
FROM population_districts
WHERE year <= $base_year
ORDER BY year, district_adcode, sex, age;

-- name: registered_events
-- Births and deaths a department reports (the vital-events layer where it is not synthetic),
-- up to the base year: the cohort model's fertility reads the births in place of those
-- implied by the infants of the population, and scales each district's life table to the
-- deaths.
SELECT year, district_adcode, births, deaths, source
FROM vital_events
WHERE year <= $base_year AND source <> 'synthetic'
  AND (births IS NOT NULL OR deaths IS NOT NULL)
ORDER BY year, district_adcode;

-- name: districts
-- The districts that have population, with their names where the districts table has them.
SELECT p.district_adcode AS adcode,
       min(p.city_adcode) AS city_adcode,
       min(p.year) AS first_year,
       max(p.year) AS last_year,
       count(DISTINCT p.year) AS n_years,
       any_value(d.name) AS name,
       any_value(d.name_en) AS name_en
FROM population_districts p
LEFT JOIN districts d ON d.adcode = p.district_adcode
GROUP BY p.district_adcode
ORDER BY p.district_adcode;

-- name: capacity_by_year
-- Capacity by facility type, district and opening/closing year, to roll up per year in Python.
SELECT type, district_adcode, opened_year, closed_year, sum(capacity) AS capacity,
       count(*) AS facilities
FROM facilities
WHERE capacity_unit <> 'none'
GROUP BY type, district_adcode, opened_year, closed_year
ORDER BY type, district_adcode, opened_year;
