-- Infrastructure sensors: assets, readings, alerts. Parameters are bound ($name).

-- name: assets
SELECT asset_id, city_adcode, asset_type, owner_department, install_year, district_adcode, cell, lon, lat,
       depth_cm
FROM assets
ORDER BY asset_id;

-- name: last_ts
-- Each asset's newest accepted reading time, to resume ingest where it stopped.
SELECT asset_id, max(ts) AS ts
FROM sensor_readings
GROUP BY asset_id;

-- name: existing_readings
-- Readings already stored for these assets in a time span (to spot late duplicates).
SELECT asset_id, ts
FROM sensor_readings
WHERE list_contains($assets, asset_id) AND ts BETWEEN $t0 AND $t1;

-- name: unresolved_for
SELECT alert_id, asset_id, kind, cleared_at, flaps
FROM alerts
WHERE state <> 'resolved' AND list_contains($assets, asset_id);

-- name: unresolved_networks
SELECT alert_id, network, district_adcode, kind
FROM alerts
WHERE state <> 'resolved' AND asset_id IS NULL;

-- name: network_levels_since
-- The network watch's stored series since $since, oldest first.
SELECT district_adcode, network, slot_ts, fill
FROM network_levels
WHERE slot_ts >= $since
ORDER BY slot_ts, district_adcode, network;

-- name: latest_fills
-- Each cover's newest on-time reading measured since $since: its last known state.
SELECT asset_id, max(ts) AS ts, arg_max(water_level_cm, ts) AS water_level_cm
FROM sensor_readings
WHERE ts >= $since AND NOT late
GROUP BY asset_id;

-- name: network_levels_for
-- One network of one district: its stored series since $since, oldest first.
SELECT slot_ts, fill, covers, score
FROM network_levels
WHERE district_adcode = $district AND network = $network AND slot_ts >= $since
ORDER BY slot_ts;

-- name: network_alert_times
SELECT alert_id, reading_ts, state FROM alerts
WHERE asset_id IS NULL AND district_adcode = $district AND network = $network
ORDER BY reading_ts;

-- name: bump_alert
-- The condition came back (or repeated) while the alert is unresolved: count it, no new alert.
UPDATE alerts
SET occurrences = occurrences + 1,
    flaps = flaps + $flap,
    flapping = flapping OR flaps + $flap >= $flap_limit,
    cleared_at = NULL
WHERE alert_id = $alert_id;

-- name: clear_alert
UPDATE alerts
SET cleared_at = $ts
WHERE asset_id = $asset_id AND kind = $kind AND state <> 'resolved';

-- name: alert_state
SELECT state FROM alerts WHERE alert_id = $alert_id;

-- name: acknowledge
UPDATE alerts
SET state = 'acknowledged', acknowledged_at = $at, acknowledged_by = $by
WHERE alert_id = $alert_id AND state = 'open';

-- name: resolve
UPDATE alerts
SET state = 'resolved', resolved_at = $at, resolved_by = $by
WHERE alert_id = $alert_id AND state = 'acknowledged';

-- name: kpis
-- Headline figures. Offline: no reading for $offline_s seconds before $now.
WITH latest AS (SELECT asset_id, max(ts) AS ts FROM sensor_readings GROUP BY asset_id),
     clock AS (SELECT max(ts) AS now FROM sensor_readings)
SELECT
    (SELECT count(*) FROM assets)                                           AS assets,
    (SELECT count(*) FROM latest)                                           AS reporting,
    (SELECT count(*) FROM latest
      WHERE latest.ts < $now::TIMESTAMP - to_seconds($offline_s))           AS offline,
    (SELECT count(*) FROM alerts WHERE state = 'open')                      AS open_alerts,
    -- where they are: covers of the map (as its legend counts them), whole networks, and
    -- covers no longer in the register (a department's new register left them out)
    (SELECT count(DISTINCT al.asset_id) FROM alerts al JOIN assets a USING (asset_id)
      WHERE al.state = 'open')                                              AS open_covers,
    (SELECT count(*) FROM alerts WHERE state = 'open' AND asset_id IS NULL) AS open_networks,
    (SELECT count(*) FROM alerts al WHERE al.state = 'open' AND al.asset_id IS NOT NULL
      AND al.asset_id NOT IN (SELECT asset_id FROM assets))                AS open_unlisted,
    (SELECT count(*) FROM alerts WHERE state = 'acknowledged')              AS acknowledged_alerts,
    (SELECT count(*) FROM alerts WHERE state = 'resolved')                  AS resolved_alerts,
    (SELECT avg(epoch(acknowledged_at) - epoch(raised_at)) FROM alerts
      WHERE acknowledged_at IS NOT NULL)                                    AS mtta_s,
    (SELECT quantile_cont(latency_ms, 0.99) FROM alerts WHERE latency_ms >= 0) AS latency_p99_ms,
    (SELECT count(*) FROM sensor_readings)                                  AS readings,
    (SELECT count(*) FROM sensor_rejects)                                   AS rejects,
    (SELECT now FROM clock)                                                 AS clock;

-- name: asset_status
-- One row per asset for the map: the worst unresolved alert, or offline / ok / no data.
-- Offline: no reading for $offline_s seconds before $now.
WITH latest AS (SELECT asset_id, max(ts) AS ts FROM sensor_readings GROUP BY asset_id),
     pending AS (
        SELECT asset_id,
               max(CASE WHEN state = 'open' THEN 2 ELSE 1 END) AS level,
               string_agg(kind, ',' ORDER BY kind)             AS kinds
        FROM alerts WHERE state <> 'resolved' AND asset_id IS NOT NULL GROUP BY asset_id)
SELECT a.asset_id, a.asset_type, a.owner_department, a.district_adcode, a.lon, a.lat,
       l.ts AS last_ts, p.kinds,
       CASE WHEN p.level = 2 THEN 'alert'
            WHEN p.level = 1 THEN 'acknowledged'
            WHEN l.ts IS NULL THEN 'no_data'
            WHEN l.ts < $now::TIMESTAMP - to_seconds($offline_s) THEN 'offline'
            ELSE 'ok' END AS status
FROM assets a
LEFT JOIN latest l USING (asset_id)
LEFT JOIN pending p USING (asset_id)
ORDER BY a.asset_id;

-- name: alert_feed
-- Unresolved alerts first (open before acknowledged), newest first, then recent resolved.
SELECT al.alert_id, al.asset_id, al.network AS asset_type, al.district_adcode, al.kind,
       al.detector, al.state, al.reading_ts, al.raised_at, al.latency_ms, al.value,
       al.occurrences, al.flaps, al.flapping, al.cleared_at, al.acknowledged_at,
       al.acknowledged_by, al.resolved_at, al.resolved_by
FROM alerts al
ORDER BY CASE al.state WHEN 'open' THEN 0 WHEN 'acknowledged' THEN 1 ELSE 2 END,
         al.raised_at DESC
LIMIT $limit;

-- name: asset_series
-- An asset's most recent readings, oldest first.
SELECT * FROM (
    SELECT ts, tilt_deg, displacement_mm, water_level_cm, battery_v, signal_dbm, late
    FROM sensor_readings
    WHERE asset_id = $asset_id
    ORDER BY ts DESC
    LIMIT $limit)
ORDER BY ts;

-- name: asset_alerts
SELECT alert_id, kind, detector, state, reading_ts, raised_at, value, occurrences, flaps,
       cleared_at, acknowledged_at, resolved_at
FROM alerts
WHERE asset_id = $asset_id
ORDER BY reading_ts;

-- name: asset_faults
SELECT fault_id, kind, start_ts, end_ts
FROM sensor_faults
WHERE asset_id = $asset_id
ORDER BY start_ts;

-- name: asset
SELECT * FROM assets WHERE asset_id = $asset_id;

-- name: reject_counts
SELECT reason, count(*) AS readings
FROM sensor_rejects
GROUP BY reason
ORDER BY reason;

-- name: alerts_for_scoring
SELECT asset_id, network, district_adcode, kind, reading_ts FROM alerts;

-- name: faults
SELECT asset_id, network, district_adcode, kind, start_ts, end_ts FROM sensor_faults;

-- name: reading_count
SELECT count(*) FROM sensor_readings;

-- name: newest_reading
SELECT max(ts) FROM sensor_readings;
