-- Queries of the HTTP server: API tokens.

-- name: insert_token
INSERT INTO api_tokens (token_id, token_sha256, username, label, scope, created_at, expires_at,
                        revoked, last_used)
VALUES ($token_id, $token_sha256, $username, $label, $scope, $at, $expires_at, false, NULL);

-- name: token
-- A member of the public signed in through the identity provider has no account row: role public.
SELECT t.token_id, t.username, t.scope, t.expires_at, t.revoked,
       coalesce(u.role, 'public') AS role, u.department, coalesce(u.disabled, false) AS disabled
FROM api_tokens t LEFT JOIN users u USING (username)
WHERE t.token_sha256 = $token_sha256;

-- name: tokens_of
SELECT token_id, label, scope, created_at, expires_at, revoked, last_used
FROM api_tokens WHERE username = $username ORDER BY created_at DESC;

-- name: token_owner
SELECT username FROM api_tokens WHERE token_id = $token_id;

-- name: revoke_token
UPDATE api_tokens SET revoked = true WHERE token_id = $token_id;

-- name: touch_token
UPDATE api_tokens SET last_used = $at WHERE token_id = $token_id;

-- name: alert
-- One alert with its handling (the answer to a dispatch system that moved it on).
SELECT alert_id, asset_id, network, district_adcode, kind, detector, state, reading_ts,
       raised_at, value, occurrences, acknowledged_at, acknowledged_by, resolved_at,
       resolved_by
FROM alerts WHERE alert_id = $alert_id;

-- name: alerts_since
-- Alerts committed after a moment (a gateway or a dispatch system polls with its last seen).
SELECT alert_id, asset_id, network, district_adcode, kind, detector, state, reading_ts,
       raised_at, latency_ms, value, occurrences, flapping
FROM alerts WHERE raised_at > $since ORDER BY raised_at, alert_id LIMIT 10000;
