-- A session's expiry is the earlier of its idle and absolute expiries,
-- which the reads compare themselves. The indexed column only tells the
-- purge where to look: no session is purged before it, and activity does
-- not move it, so that recording activity changes no indexed column and
-- PostgreSQL can update the row in place (a heap-only tuple, no new index
-- entries), for which the pages keep room. The purge deletes what has
-- expired and moves the rest forward.
ALTER TABLE sessions RENAME COLUMN expires_at TO purge_after;
ALTER INDEX sessions_expires RENAME TO sessions_purge;
ALTER TABLE sessions SET (fillfactor = 80);
