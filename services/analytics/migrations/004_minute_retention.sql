-- The housekeeping drops minute rollups older than CC_ANALYTICS_MINUTE_RETENTION_DAYS
-- (rollup.c); these find them without scanning every grain. Bucket and grain never change
-- after a row is written, so updates of the counters stay HOT.
CREATE INDEX call_rollups_minutes ON call_rollups (bucket) WHERE grain = 'm';
CREATE INDEX agent_rollups_minutes ON agent_rollups (bucket) WHERE grain = 'm';
