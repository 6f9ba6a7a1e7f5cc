-- Population trends: pyramids, age groups over time, vital events.

-- name: single_age
-- One area's single-year-of-age pyramid for one year (the city when $district is NULL).
SELECT age, sex, sum(persons) AS persons
FROM population_districts
WHERE year = $year AND ($district IS NULL OR district_adcode = $district)
GROUP BY age, sex
ORDER BY age, sex;

-- name: vital_by_district
-- Births, deaths and net migration by year and district.
SELECT year, district_adcode AS adcode, births, deaths, net_migration
FROM vital_events
ORDER BY year, district_adcode;
