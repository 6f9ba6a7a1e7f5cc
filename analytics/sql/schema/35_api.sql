-- API tokens: programs (a department's system, a gateway, a researcher's script) call the
-- API with a token sent as `Authorization: <token>`. Only a SHA-256 of the token is kept;
-- the token acts as its account (role and department read from `users` at each use, so a
-- disabled account's tokens stop working) and expires.
CREATE TABLE api_tokens (
    token_id      VARCHAR   PRIMARY KEY,   -- short public id, shown in lists and logs
    token_sha256  VARCHAR   NOT NULL UNIQUE,
    username      VARCHAR   NOT NULL,
    label         VARCHAR   NOT NULL,
    scope         VARCHAR   NOT NULL,      -- all | telemetry (a gateway: sensor readings only)
    created_at    TIMESTAMP NOT NULL,
    expires_at    TIMESTAMP NOT NULL,
    revoked       BOOLEAN   NOT NULL,
    last_used     TIMESTAMP
);
