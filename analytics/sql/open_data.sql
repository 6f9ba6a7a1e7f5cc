-- Open data: the catalog, reads for exports, usage log, accounts, applications, keys.
-- Parameters are bound ($name), never formatted in. Table names reach SQL only through
-- query_table($table), and only names taken from the catalog (never from a user).

-- name: datasets
SELECT * FROM datasets ORDER BY theme, dataset_id;

-- name: dataset
SELECT * FROM datasets WHERE dataset_id = $dataset_id;

-- name: datasets_in
SELECT * FROM datasets WHERE list_contains($ids, dataset_id);

-- name: rows_all
SELECT * FROM query_table($table);

-- name: rows_types
SELECT * FROM query_table($table) WHERE list_contains($types, type);

-- name: rows_year
SELECT * FROM query_table($table) WHERE year = $year;

-- name: rows_head
SELECT * FROM query_table($table) LIMIT $n;

-- name: rows_types_head
SELECT * FROM query_table($table) WHERE list_contains($types, type) LIMIT $n;

-- name: table_years
SELECT DISTINCT year FROM query_table($table) ORDER BY year;

-- name: count_all
SELECT count(*) FROM query_table($table);

-- name: count_types
SELECT count(*) FROM query_table($table) WHERE list_contains($types, type);

-- name: delete_datasets
DELETE FROM datasets;

-- name: log_use
INSERT INTO download_log (event_id, dataset_id, logged_at, actor, channel, format, rows, outcome)
VALUES ($event_id, $dataset_id, $at, $actor, $channel, $format, $rows, $outcome);

-- name: log_decision
INSERT INTO access_decisions (event_id, reason, application_id, purpose)
VALUES ($event_id, $reason, $application_id, $purpose);

-- name: usage_counts
-- Served downloads per dataset (previews on the page are not downloads).
SELECT dataset_id, count(*) AS downloads, max(logged_at) AS last_download
FROM download_log
WHERE outcome = 'served' AND channel <> 'page'
GROUP BY dataset_id
ORDER BY downloads DESC, dataset_id;

-- name: usage_log
SELECT l.event_id, l.dataset_id, l.logged_at, l.actor, l.channel, l.format, l.rows, l.outcome,
       d.reason, d.application_id
FROM download_log l LEFT JOIN access_decisions d ON d.event_id = l.event_id
ORDER BY l.logged_at DESC
LIMIT $n;

-- name: usage_of_actor
SELECT l.event_id, l.dataset_id, l.logged_at, l.channel, l.format, l.rows, l.outcome, d.reason
FROM download_log l LEFT JOIN access_decisions d ON d.event_id = l.event_id
WHERE l.actor = $actor
ORDER BY l.logged_at DESC
LIMIT $n;

-- name: secret
SELECT secret_hex FROM privacy_keys WHERE name = $key_name;

-- name: delete_secret
DELETE FROM privacy_keys WHERE name = $key_name;

-- name: insert_secret
INSERT INTO privacy_keys (name, secret_hex, created_at) VALUES ($key_name, $secret_hex, $at)
ON CONFLICT (name) DO NOTHING;

-- name: user
SELECT * FROM users WHERE username = $username;

-- name: users
SELECT username, display_name, role, department, created_at, created_by, disabled,
       password_hash IS NOT NULL AS has_password
FROM users ORDER BY username;

-- name: count_admins
SELECT count(*) FROM users WHERE role = 'administrator' AND NOT disabled;

-- name: insert_user
INSERT INTO users (username, display_name, role, password_hash, department, created_at,
                   created_by, disabled)
VALUES ($username, $display_name, $role, $password_hash, $department, $at, $created_by, false);

-- name: set_password
UPDATE users SET password_hash = $password_hash WHERE username = $username;

-- name: set_disabled
UPDATE users SET disabled = $disabled WHERE username = $username;

-- name: log_attempt
INSERT INTO login_attempts (username, attempted_at, success, reason) VALUES ($username, $at, $success, $reason);

-- name: recent_failures
-- Failed attempts since the last success, within the throttling window.
SELECT count(*) AS failures, max(attempted_at) AS last_failure
FROM login_attempts
WHERE username = $username AND NOT success AND attempted_at >= $since
  AND attempted_at > coalesce((SELECT max(attempted_at) FROM login_attempts
                     WHERE username = $username AND success), TIMESTAMP '1970-01-01');

-- name: insert_session
INSERT INTO sessions (token_sha256, username, created_at, last_seen, expires_at, revoked)
VALUES ($token_sha256, $username, $at, $at, $expires_at, false);

-- name: session
SELECT s.*, u.role, u.department, u.display_name, u.disabled
FROM sessions s JOIN users u ON u.username = s.username
WHERE s.token_sha256 = $token_sha256;

-- name: touch_session
UPDATE sessions SET last_seen = $at WHERE token_sha256 = $token_sha256;

-- name: revoke_session
UPDATE sessions SET revoked = true WHERE token_sha256 = $token_sha256;

-- name: revoke_user_sessions
-- Every session of one account (password change, disable, role change).
UPDATE sessions SET revoked = true WHERE username = $username AND NOT revoked;

-- name: settle_attempt
-- The outcome of an attempt reserved (counted as a failure) before its password was checked.
UPDATE login_attempts SET success = $success, reason = $reason
WHERE username = $username AND reason = $pending;

-- name: set_role
UPDATE users SET role = $role, department = $department WHERE username = $username;

-- name: insert_application
INSERT INTO applications (application_id, dataset_id, requester, purpose, fields_json,
                          period_days, requested_at, status)
VALUES ($application_id, $dataset_id, $requester, $purpose, $fields_json, $period_days, $at,
        'pending');

-- name: application
SELECT * FROM applications WHERE application_id = $application_id;

-- name: applications_of
SELECT * FROM applications WHERE requester = $requester ORDER BY requested_at DESC;

-- name: applications_all
SELECT * FROM applications ORDER BY status = 'pending' DESC, requested_at DESC;

-- name: decide_application
UPDATE applications
SET status = $status, steward = $steward, decided_at = $at, expires_at = $expires_at,
    decision_note = $note
WHERE application_id = $application_id AND status = 'pending';

-- name: withdraw_application
UPDATE applications SET status = 'withdrawn', decided_at = $at
WHERE application_id = $application_id AND status IN ('pending', 'approved');

-- name: first_year
SELECT min(year) FROM query_table($table);

-- name: last_year
SELECT max(year) FROM query_table($table);
