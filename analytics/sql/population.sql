-- Population queries. Parameters are bound ($name), never formatted in.

-- name: years
SELECT DISTINCT year FROM population_districts ORDER BY year;

-- name: district_age_bands
-- Residents by district in the broad census bands, for one year.
SELECT d.adcode,
       d.name,
       d.name_en,
       sum(p.persons)                                   AS population,
       sum(p.persons) FILTER (WHERE p.age <= 14)        AS age_0_14,
       sum(p.persons) FILTER (WHERE p.age BETWEEN 15 AND 59) AS age_15_59,
       sum(p.persons) FILTER (WHERE p.age >= 60)        AS age_60plus,
       sum(p.persons) FILTER (WHERE p.age >= 65)        AS age_65plus
FROM population_districts p
JOIN districts d ON d.adcode = p.district_adcode
WHERE p.year = $year
GROUP BY d.adcode, d.name, d.name_en
ORDER BY d.adcode;

-- name: single_age
-- One area's single-year pyramid (all districts when $district is NULL).
SELECT age, sex, sum(persons) AS persons
FROM population_districts
WHERE year = $year AND ($district IS NULL OR district_adcode = $district)
GROUP BY age, sex
ORDER BY age, sex;

-- name: group_by_cell
-- One year's residents of the given service age groups, per cell.
SELECT cell, district_adcode, sum(persons) AS persons
FROM population_cells
WHERE year = $year AND list_contains($groups, age_group)
GROUP BY cell, district_adcode
ORDER BY cell;

-- name: district_trend
-- Residents by district and year (all years), with the same broad bands.
SELECT year,
       district_adcode AS adcode,
       sum(persons)                                 AS population,
       sum(persons) FILTER (WHERE age <= 14)        AS age_0_14,
       sum(persons) FILTER (WHERE age >= 60)        AS age_60plus,
       sum(persons) FILTER (WHERE age >= 65)        AS age_65plus
FROM population_districts
GROUP BY year, district_adcode
ORDER BY year, district_adcode;
