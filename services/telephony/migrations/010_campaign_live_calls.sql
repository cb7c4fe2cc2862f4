-- The dialer counts a campaign's calls still in flight on every round; a call soft-deleted
-- while live still rings, so it counts too.
CREATE INDEX calls_campaign_live ON calls (campaign_id) WHERE ended_at IS NULL;
