-- A session's expiry is the earlier of its idle and absolute expiries,
-- which the reads compare themselves. The indexed column only tells the
-- purge where to look: no session is purged before it, and activity does
-- not move it, so that recording activity changes no index entry. The
-- purge deletes what has expired and moves the rest forward.
ALTER TABLE sessions RENAME COLUMN expires_at TO purge_after;
DROP INDEX sessions_expires;
CREATE INDEX sessions_purge ON sessions (purge_after);
