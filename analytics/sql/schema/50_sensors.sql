-- City infrastructure sensors: instrumented manhole covers, their telemetry, the alerts
-- raised on it, and the ground truth of faults the simulator injected (for scoring).

-- One instrumented manhole cover. Synthetic: placed in proportion to where people live.
CREATE TABLE synthetic_assets (
    city_adcode       INTEGER  NOT NULL,
    asset_id          VARCHAR  PRIMARY KEY,   -- e.g. MH-330106-00042
    asset_type        VARCHAR  NOT NULL,      -- network: sewer | storm | water | power | telecom | gas
    owner_department  VARCHAR  NOT NULL,
    install_year      SMALLINT NOT NULL,
    district_adcode   INTEGER  NOT NULL,
    cell              UBIGINT  NOT NULL,      -- H3 res-9 cell it stands in
    lon               DOUBLE   NOT NULL,      -- WGS-84
    lat               DOUBLE   NOT NULL,
    depth_cm          SMALLINT NOT NULL       -- cover to chamber floor: the scale of water_level_cm
);

-- Accepted readings, one row per report (every channel at once). arrived_at is when the
-- platform received it. Late rows arrived after a newer reading of the same asset.
CREATE TABLE sensor_readings (
    asset_id          VARCHAR   NOT NULL,
    ts                TIMESTAMP NOT NULL,     -- when the sensor measured (device clock, UTC)
    arrived_at        TIMESTAMP NOT NULL,
    tilt_deg          DOUBLE    NOT NULL,
    displacement_mm   DOUBLE    NOT NULL,
    water_level_cm    DOUBLE    NOT NULL,     -- water height above the chamber floor
    battery_v         DOUBLE    NOT NULL,
    signal_dbm        DOUBLE    NOT NULL,
    late              BOOLEAN   NOT NULL
);

-- Readings refused at the door, kept with the reason so none is lost silently.
CREATE TABLE sensor_rejects (
    arrived_at  TIMESTAMP NOT NULL,
    asset_id    VARCHAR,
    ts          VARCHAR,
    reason      VARCHAR   NOT NULL,   -- unknown_asset | bad_timestamp | non_numeric | out_of_range | future | duplicate | malformed | too_large | bad_topic | flood
    detail      VARCHAR   NOT NULL
);

-- One alert per asset (or per network of a district) and kind while unresolved (repeats
-- are counted, not re-raised).
CREATE TABLE alerts (
    alert_id          VARCHAR   PRIMARY KEY,
    asset_id          VARCHAR,             -- the cover; NULL for an alert on a whole network
    network           VARCHAR   NOT NULL,  -- the cover's network (asset type), or the network alerted
    district_adcode   INTEGER   NOT NULL,  -- the cover's district, or the network's
    kind              VARCHAR   NOT NULL,  -- lifted | tilted | overflow | drift | dead_battery | stuck | network_level
    detector          VARCHAR   NOT NULL,  -- rule | score | series
    state             VARCHAR   NOT NULL,  -- open | acknowledged | resolved
    reading_ts        TIMESTAMP NOT NULL,  -- measurement time of the reading that raised it
                                           -- (network_level: start of the 5-minute slot)
    reading_arrived   TIMESTAMP NOT NULL,  -- when that reading arrived (network_level: the
                                           -- reading that closed the slot)
    raised_at         TIMESTAMP NOT NULL,  -- when the alert was committed
    latency_ms        DOUBLE    NOT NULL,  -- raised_at - reading_arrived
    value             DOUBLE    NOT NULL,  -- the reading's value on the alert's channel
                                           -- (network_level: the slot's median fill, share of depth)
    occurrences       INTEGER   NOT NULL,  -- raises folded into this alert
    flaps             INTEGER   NOT NULL,  -- times the condition cleared and came back
    flapping          BOOLEAN   NOT NULL,  -- flapped often: repeats are suppressed
    cleared_at        TIMESTAMP,           -- condition last seen gone (reading time)
    acknowledged_at   TIMESTAMP,
    acknowledged_by   VARCHAR,
    resolved_at       TIMESTAMP,
    resolved_by       VARCHAR
);

-- Ground truth: faults the simulator injected (start inclusive, end exclusive).
CREATE TABLE sensor_faults (
    fault_id   VARCHAR   PRIMARY KEY,
    asset_id   VARCHAR,              -- NULL for a surge of a whole network (network_level)
    network    VARCHAR   NOT NULL,   -- the asset's network, or the network that surged
    district_adcode INTEGER NOT NULL,
    kind       VARCHAR   NOT NULL,
    start_ts   TIMESTAMP NOT NULL,
    end_ts     TIMESTAMP NOT NULL
);

-- The network watch's series: each network of each district (covers of one type in one
-- district), its level at each 5-minute slot (the median fill, water level over chamber
-- depth, of its covers' last known readings within the hour) and the detector's likelihood
-- of it. A slot in which too few covers were heard from has no row.
CREATE TABLE network_levels (
    district_adcode   INTEGER   NOT NULL,
    network           VARCHAR   NOT NULL,
    slot_ts           TIMESTAMP NOT NULL,  -- start of the slot
    fill              DOUBLE    NOT NULL,  -- share of chamber depth
    covers            INTEGER   NOT NULL,  -- covers the median is over
    score             DOUBLE    NOT NULL   -- likelihood in [0, 1] (0 while it first learns)
);
