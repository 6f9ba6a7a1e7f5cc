-- Ingest: versions, lineage, catalog upsert and the data-quality figures.

-- name: districts
SELECT adcode, name, name_en, geometry FROM districts ORDER BY adcode;

-- name: current_version
SELECT version FROM ingest_current WHERE dataset_id = $dataset_id;

-- name: max_version
SELECT max(version) FROM ingest_log WHERE dataset_id = $dataset_id AND status = 'loaded';

-- name: set_current
INSERT INTO ingest_current (dataset_id, version, load_mode, event_id)
VALUES ($dataset_id, $version, $load_mode, $event_id)
ON CONFLICT (dataset_id) DO UPDATE SET version = excluded.version,
    load_mode = excluded.load_mode, event_id = excluded.event_id;

-- name: log_event
INSERT INTO ingest_log (event_id, dataset_id, logged_at, actor, file_name, file_sha256, rows_in,
                        rows_out, version, status, message)
VALUES ($event_id, $dataset_id, $logged_at, $actor, $file_name, $file_sha256, $rows_in, $rows_out,
        $version, $status, $message);

-- name: catalog_row
SELECT row_count, temporal_start, temporal_end FROM datasets WHERE dataset_id = $dataset_id;

-- name: catalog_rows
SELECT dataset_id, row_count FROM datasets;

-- name: upsert_dataset
INSERT INTO datasets (city_adcode, dataset_id, title, title_en, description, publisher,
                      publisher_en, theme, keywords, temporal_start, temporal_end, spatial,
                      update_frequency, access_level, licence, modified, negative_list,
                      negative_reason, source_table, row_count, synthetic, columns_json)
VALUES ($city_adcode, $dataset_id, $title, $title_en, $description, $publisher, $publisher_en,
        $theme, $keywords, $temporal_start, $temporal_end, $spatial, $update_frequency,
        $access_level, $licence, $modified, $negative_list, $negative_reason, $source_table,
        $row_count, $synthetic, $columns_json)
ON CONFLICT (dataset_id) DO UPDATE SET
    city_adcode = excluded.city_adcode, title = excluded.title, title_en = excluded.title_en,
    description = excluded.description, publisher = excluded.publisher,
    publisher_en = excluded.publisher_en, theme = excluded.theme, keywords = excluded.keywords,
    temporal_start = excluded.temporal_start, temporal_end = excluded.temporal_end,
    spatial = excluded.spatial, update_frequency = excluded.update_frequency,
    access_level = excluded.access_level, licence = excluded.licence,
    modified = excluded.modified, negative_list = excluded.negative_list,
    negative_reason = excluded.negative_reason, source_table = excluded.source_table,
    row_count = excluded.row_count, synthetic = excluded.synthetic,
    columns_json = excluded.columns_json;

-- name: history
SELECT logged_at, actor, file_name, file_sha256, rows_in, rows_out, version, status, message, event_id
FROM ingest_log WHERE dataset_id = $dataset_id ORDER BY logged_at DESC;

-- name: last_events
SELECT dataset_id, logged_at, status, message
FROM (SELECT dataset_id, logged_at, status, message,
             row_number() OVER (PARTITION BY dataset_id ORDER BY logged_at DESC) AS n
      FROM ingest_log) AS e
WHERE n = 1;

-- name: last_loaded
SELECT l.dataset_id, l.logged_at, l.version, l.rows_out, l.event_id,
       sum(q.non_null) / nullif(sum(q.rows), 0) AS completeness
FROM (SELECT dataset_id, logged_at, version, rows_out, event_id,
             row_number() OVER (PARTITION BY dataset_id ORDER BY logged_at DESC) AS n
      FROM ingest_log WHERE status = 'loaded') AS l
LEFT JOIN ingest_quality AS q ON q.event_id = l.event_id
WHERE l.n = 1
GROUP BY l.dataset_id, l.logged_at, l.version, l.rows_out, l.event_id;

-- name: event_dataset
SELECT dataset_id FROM ingest_log WHERE event_id = $event_id;

-- name: quality_of_event
SELECT column_name, rows, non_null, non_null / nullif(rows, 0) AS completeness
FROM ingest_quality WHERE event_id = $event_id ORDER BY column_name;

-- name: drop_current
DELETE FROM ingest_current WHERE dataset_id = $dataset_id;

-- name: set_row_count
UPDATE datasets SET row_count = $row_count, modified = current_date WHERE dataset_id = $dataset_id;

-- name: current_versions
SELECT dataset_id, version FROM ingest_current;

-- name: findings
-- The consistency findings of every load of a dataset, with the version each load gave.
SELECT l.version, l.logged_at, f.finding, f.layer, f.type, f.district_adcode, f.year, f.value,
       f.message
FROM ingest_findings AS f
JOIN ingest_log AS l ON l.event_id = f.event_id
WHERE f.dataset_id = $dataset_id
ORDER BY l.logged_at DESC, f.finding, f.district_adcode, f.type, f.year;

-- name: findings_counts
SELECT event_id, count(*) AS findings FROM ingest_findings GROUP BY event_id;

-- name: set_layer_dataset_count
UPDATE datasets SET row_count = $row_count, temporal_start = $temporal_start,
    temporal_end = $temporal_end, modified = current_date
WHERE dataset_id = $dataset_id;
