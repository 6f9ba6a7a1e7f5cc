-- Open data and data sharing: staff accounts, sessions, sign-in attempts, applications for
-- on-application datasets, the per-store masking key, and the synthetic record-level
-- registry of elderly residents receiving care subsidies.

-- Staff (and registered external requesters, role 'public'). Passwords are argon2id hashes
-- with their own salt; no account exists until an administrator is created from the CLI.
CREATE TABLE users (
    username       VARCHAR   PRIMARY KEY,
    display_name   VARCHAR   NOT NULL,
    role           VARCHAR   NOT NULL,   -- one of analytics.identity.ROLES
    password_hash  VARCHAR,              -- NULL for accounts that sign in through the identity provider only
    department     VARCHAR,              -- a data steward's department (a contract's owner); NULL: all
    created_at     TIMESTAMP NOT NULL,
    created_by     VARCHAR   NOT NULL,
    disabled       BOOLEAN   NOT NULL
);

-- Signed-in sessions. Only a SHA-256 of the session token is kept, so a copy of the store
-- does not hand out live sessions.
CREATE TABLE sessions (
    token_sha256   VARCHAR   PRIMARY KEY,
    username       VARCHAR   NOT NULL,
    created_at     TIMESTAMP NOT NULL,
    last_seen      TIMESTAMP NOT NULL,
    expires_at     TIMESTAMP NOT NULL,
    revoked        BOOLEAN   NOT NULL
);

-- Every sign-in attempt, for throttling and audit.
CREATE TABLE login_attempts (
    username   VARCHAR   NOT NULL,
    attempted_at TIMESTAMP NOT NULL,
    success    BOOLEAN   NOT NULL,
    reason     VARCHAR   NOT NULL
);

-- Applications for on-application datasets: who, why, which fields, for how long.
CREATE TABLE applications (
    application_id  VARCHAR   PRIMARY KEY,
    dataset_id      VARCHAR   NOT NULL,
    requester       VARCHAR   NOT NULL,
    purpose         VARCHAR   NOT NULL,
    fields_json     VARCHAR   NOT NULL,   -- ["col", ...] requested columns
    period_days     INTEGER   NOT NULL,   -- how long the approval should last
    requested_at    TIMESTAMP NOT NULL,
    status          VARCHAR   NOT NULL,   -- pending | approved | rejected | withdrawn
    steward         VARCHAR,
    decided_at      TIMESTAMP,
    expires_at      TIMESTAMP,
    decision_note   VARCHAR
);

-- Why each use was served or refused (download_log holds the event; this its reason).
CREATE TABLE access_decisions (
    event_id        VARCHAR PRIMARY KEY,
    reason          VARCHAR NOT NULL,
    application_id  VARCHAR,
    purpose         VARCHAR
);

-- The secret key for masking personal fields (keyed HMAC). Never catalogued or exported.
CREATE TABLE privacy_keys (
    name        VARCHAR   PRIMARY KEY,
    secret_hex  VARCHAR   NOT NULL,
    created_at  TIMESTAMP NOT NULL
);

-- SYNTHETIC record-level registry of elderly residents receiving care subsidies: invented
-- people drawn from the synthetic population of the cells. Confidential; approved extracts
-- are masked and checked for k-anonymity.
CREATE TABLE care_subsidy_registry (
    city_adcode      INTEGER  NOT NULL,
    record_id        VARCHAR  PRIMARY KEY,
    name             VARCHAR  NOT NULL,
    id_number        VARCHAR  NOT NULL,   -- 18-character PRC resident ID (GB 11643-1999), invented
    phone            VARCHAR  NOT NULL,   -- 11-digit mobile number, invented
    sex              VARCHAR  NOT NULL,   -- M | F
    birth_date       DATE     NOT NULL,
    age              SMALLINT NOT NULL,   -- age in the registry year
    age_group        VARCHAR  NOT NULL,   -- the cell grain's service age group
    district_adcode  INTEGER  NOT NULL,
    cell             UBIGINT  NOT NULL,
    address          VARCHAR  NOT NULL,   -- invented street address
    subsidy_type     VARCHAR  NOT NULL,
    monthly_yuan     INTEGER  NOT NULL,
    since_year       SMALLINT NOT NULL,
    registry_year    SMALLINT NOT NULL
);
