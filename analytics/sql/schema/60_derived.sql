-- Results derived from the data and kept beside it, so that a server starting cold has
-- little to compute before its first visitor: every headline indicator (KPI) for every
-- year, for the city and each district. Each row names the generation of the data it was
-- computed from (the store's vintage: its build and its latest load); a reader takes the
-- rows of the current generation only, and computes them again where there are none. The
-- build writes them, and the server again after each department load.
CREATE TABLE kpi_values (
    generation  VARCHAR NOT NULL,
    position    INTEGER NOT NULL,   -- the row's place in the computed series
    indicator   VARCHAR NOT NULL,
    year        INTEGER NOT NULL,
    district    INTEGER,            -- a district's adcode; NULL for the whole city
    value       DOUBLE
);
