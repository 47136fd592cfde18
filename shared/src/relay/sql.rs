//! Every statement the relay runs, in one place.
//!
//! A claim is a lease, not an open transaction: it moves the rows'
//! `next_attempt_at` past the lease and counts the attempt, in one
//! statement, so no transaction stays open while the relay waits on the
//! network. Other relays skip the rows until the lease runs out; a relay that
//! dies mid-send leaves them to be sent again then (at-least-once).

/// Claim up to `$2` due rows with an id above `$1` (the drain's cursor, so
/// one drain never visits a row twice), leasing them for `$3` seconds.
/// `SKIP LOCKED` lets concurrent claims pass each other instead of queueing;
/// a row another claim leased in the meantime is re-checked after its lock
/// and no longer due.
pub(crate) const CLAIM: &str = "\
UPDATE outbox AS o
   SET attempts = o.attempts + 1,
       next_attempt_at = now() + make_interval(secs => $3)
 WHERE o.id IN (
        SELECT id
          FROM outbox
         WHERE sent_at IS NULL AND next_attempt_at <= now() AND id > $1
         ORDER BY id
         LIMIT $2
           FOR UPDATE SKIP LOCKED)
RETURNING o.id, o.kind, o.target, o.dedup_key, o.payload, o.attributes, o.attempts";

/// Mark rows `$1` (an id array) sent. A row is sent once, whoever sent it.
pub(crate) const MARK_SENT: &str = "\
UPDATE outbox
   SET sent_at = now()
 WHERE id = ANY($1) AND sent_at IS NULL";

/// Record a failed send of row `$1`, claimed as attempt `$2`: the error `$3`,
/// and the next try in `$4` seconds. The attempt check keeps a relay whose
/// lease ran out from pushing back a newer claim's retry.
pub(crate) const MARK_FAILED: &str = "\
UPDATE outbox
   SET last_error = $3,
       next_attempt_at = now() + make_interval(secs => $4)
 WHERE id = $1 AND attempts = $2 AND sent_at IS NULL";
