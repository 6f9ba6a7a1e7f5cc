-- The lake export: one city's rows of a table, without the city column (it is the
-- partition directory). Table names reach SQL only through query_table($table), and only
-- names from analytics.engines.lake.LAKE_TABLES (never from a user).

-- name: rows_city
SELECT * EXCLUDE (city_adcode) FROM query_table($table) WHERE city_adcode = $city;

-- name: meta_rows
SELECT key, value FROM meta ORDER BY key;

-- name: cities
SELECT DISTINCT city_adcode FROM districts ORDER BY city_adcode;
