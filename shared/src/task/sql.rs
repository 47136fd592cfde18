//! Every statement the task state machine runs, in one place.

/// Claim a key: insert it as running, or take it over when it is pending or
/// its lease has expired, bumping the fencing token. When the key cannot be
/// claimed, the second branch returns the row as it stands so the caller
/// can tell why (completed, dead, busy, other payload) in the same round
/// trip. An empty result means a concurrent insert is not yet visible to this
/// statement's snapshot; the caller asks again.
///
/// `$1` function, `$2` key, `$3` payload hash, `$4` payload, `$5` lease in
/// seconds.
pub(crate) const CLAIM: &str = "\
WITH claimed AS (
    INSERT INTO tasks AS t (function, key, payload_hash, payload, status,
                            attempts, fencing_token, lease_expires_at)
    VALUES ($1, $2, $3, $4, 'running', 1, 1, now() + make_interval(secs => $5))
    ON CONFLICT (function, key) DO UPDATE
       SET status = 'running',
           attempts = t.attempts + 1,
           fencing_token = t.fencing_token + 1,
           lease_expires_at = excluded.lease_expires_at,
           updated_at = now()
     WHERE t.payload_hash = excluded.payload_hash
       AND (t.status = 'pending'
            OR (t.status = 'running' AND t.lease_expires_at <= now()))
    RETURNING t.status, t.fencing_token, t.attempts, true AS same_payload,
              t.result, t.last_error, 0::float8 AS lease_left
)
SELECT true AS claimed, * FROM claimed
UNION ALL
SELECT false, status, fencing_token, attempts, payload_hash = $3, result, last_error,
       greatest(extract(epoch FROM lease_expires_at - now()), 0)::float8
  FROM tasks
 WHERE function = $1 AND key = $2
   AND NOT EXISTS (SELECT 1 FROM claimed)";

/// Mark a claimed task completed with its result, only under the claim's
/// fencing token. `$1` function, `$2` key, `$3` token, `$4` result.
pub(crate) const COMPLETE: &str = "\
UPDATE tasks
   SET status = 'completed', result = $4, lease_expires_at = NULL,
       last_error = NULL, completed_at = now(), updated_at = now()
 WHERE function = $1 AND key = $2 AND fencing_token = $3 AND status = 'running'";

/// Hand a claimed task back (retryable failure, shutdown): pending, so the
/// next delivery claims it at once. `$1` function, `$2` key, `$3` token,
/// `$4` last error (null keeps the previous one).
pub(crate) const RELEASE: &str = "\
UPDATE tasks
   SET status = 'pending', lease_expires_at = NULL,
       last_error = coalesce($4, last_error), updated_at = now()
 WHERE function = $1 AND key = $2 AND fencing_token = $3 AND status = 'running'";

/// Extend a claim's lease. `$1` function, `$2` key, `$3` token, `$4` lease
/// in seconds.
pub(crate) const HEARTBEAT: &str = "\
UPDATE tasks
   SET lease_expires_at = now() + make_interval(secs => $4), updated_at = now()
 WHERE function = $1 AND key = $2 AND fencing_token = $3 AND status = 'running'";

/// Mark a claimed task dead. `$1` function, `$2` key, `$3` token, `$4` error.
pub(crate) const MARK_DEAD: &str = "\
UPDATE tasks
   SET status = 'dead', lease_expires_at = NULL, last_error = $4, updated_at = now()
 WHERE function = $1 AND key = $2 AND fencing_token = $3 AND status = 'running'
RETURNING attempts";

/// Record a dead letter. `$1` function, `$2` key, `$3` payload, `$4` raw body,
/// `$5` reason, `$6` error kind, `$7` attempts, `$8` last error, `$9`
/// delivery metadata, `$10` trace id.
pub(crate) const INSERT_DEAD_LETTER: &str = "\
INSERT INTO dead_letters (function, key, payload, raw_body, reason, error_kind,
                          attempts, last_error, delivery, trace_id)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
RETURNING id";

/// Read one task. `$1` function, `$2` key.
pub(crate) const GET: &str = "\
SELECT status::text, attempts, fencing_token, last_error, result,
       lease_expires_at IS NOT NULL AND lease_expires_at > now() AS leased
  FROM tasks
 WHERE function = $1 AND key = $2";
