-- Quarter-hour rollups ('q'): an hour in a zone whose offset is not whole hours (India +05:30,
-- Nepal +05:45) starts on a UTC quarter hour, so it is read from four quarter rows instead of
-- sixty minute rows, and minute rows can be dropped after a while (the retention of
-- CC_ANALYTICS_MINUTE_RETENTION_DAYS) without losing any hour of any zone.
ALTER TABLE call_rollups DROP CONSTRAINT call_rollups_grain_check;
ALTER TABLE call_rollups ADD CONSTRAINT call_rollups_grain_check
    CHECK (grain IN ('m', 'q', 'h', 'd'));
ALTER TABLE agent_rollups DROP CONSTRAINT agent_rollups_grain_check;
ALTER TABLE agent_rollups ADD CONSTRAINT agent_rollups_grain_check
    CHECK (grain IN ('m', 'q', 'h', 'd'));

-- What was rolled up before this migration: each quarter is the sum of its minutes.
INSERT INTO call_rollups (org_id, dim, dim_id, grain, bucket, calls, inbound, outbound,
    completed, failed, no_answer, busy, canceled, answered, handled, queued, queued_answered,
    within_sl, abandoned, duration_sum, completed_duration_sum, talk_sum, hold_sum, wrap_sum,
    answered_wait_sum)
SELECT org_id, dim, dim_id, 'q', date_bin('15 minutes', bucket, 'epoch'), sum(calls),
    sum(inbound), sum(outbound), sum(completed), sum(failed), sum(no_answer), sum(busy),
    sum(canceled), sum(answered), sum(handled), sum(queued), sum(queued_answered),
    sum(within_sl), sum(abandoned), sum(duration_sum), sum(completed_duration_sum),
    sum(talk_sum), sum(hold_sum), sum(wrap_sum), sum(answered_wait_sum)
FROM call_rollups WHERE grain = 'm'
GROUP BY org_id, dim, dim_id, date_bin('15 minutes', bucket, 'epoch');

INSERT INTO agent_rollups (org_id, user_id, grain, bucket, available_s, busy_s, wrap_up_s,
    break_s, training_s, offline_s)
SELECT org_id, user_id, 'q', date_bin('15 minutes', bucket, 'epoch'), sum(available_s),
    sum(busy_s), sum(wrap_up_s), sum(break_s), sum(training_s), sum(offline_s)
FROM agent_rollups WHERE grain = 'm'
GROUP BY org_id, user_id, date_bin('15 minutes', bucket, 'epoch');
