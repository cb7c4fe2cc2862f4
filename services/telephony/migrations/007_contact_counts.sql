-- How many contacts each campaign has in each status, so the contact list's `total` is a sum of
-- a few rows instead of a count over a campaign of 100,000 contacts on every request. Kept by
-- statement-level triggers over the changed rows, so an import's batch of 1,000 rows costs one
-- upsert rather than 1,000. Each statement picks one of 4 shards at random, so the dialer's
-- concurrent status changes in one campaign rarely wait on the same counter row.
CREATE TABLE contact_counts (
    org_id       uuid NOT NULL,
    campaign_id  uuid NOT NULL,
    status       text NOT NULL,
    shard        smallint NOT NULL,
    n            bigint NOT NULL,
    PRIMARY KEY (org_id, campaign_id, status, shard)
);

INSERT INTO contact_counts (org_id, campaign_id, status, shard, n)
SELECT org_id, campaign_id, status, 0, count(*) FROM contacts GROUP BY org_id, campaign_id, status;

-- Net changes only (an update that leaves status and campaign alone changes no counter), applied
-- in key order so two transactions never take the same rows in opposite orders. SET search_path
-- FROM CURRENT: the functions find contact_counts whoever changes contacts.
CREATE FUNCTION contacts_count_insert() RETURNS trigger LANGUAGE plpgsql
SET search_path FROM CURRENT AS $$
DECLARE
    sh smallint := floor(random() * 4)::smallint;
BEGIN
    INSERT INTO contact_counts AS c (org_id, campaign_id, status, shard, n)
    SELECT org_id, campaign_id, status, sh, count(*) FROM new_rows
    GROUP BY org_id, campaign_id, status
    ORDER BY org_id, campaign_id, status
    ON CONFLICT (org_id, campaign_id, status, shard) DO UPDATE SET n = c.n + EXCLUDED.n;
    RETURN NULL;
END
$$;

CREATE FUNCTION contacts_count_update() RETURNS trigger LANGUAGE plpgsql
SET search_path FROM CURRENT AS $$
DECLARE
    sh smallint := floor(random() * 4)::smallint;
BEGIN
    INSERT INTO contact_counts AS c (org_id, campaign_id, status, shard, n)
    SELECT org_id, campaign_id, status, sh, sum(d) FROM (
        SELECT org_id, campaign_id, status, -1 AS d FROM old_rows
        UNION ALL SELECT org_id, campaign_id, status, 1 FROM new_rows
    ) v
    GROUP BY org_id, campaign_id, status HAVING sum(d) <> 0
    ORDER BY org_id, campaign_id, status
    ON CONFLICT (org_id, campaign_id, status, shard) DO UPDATE SET n = c.n + EXCLUDED.n;
    RETURN NULL;
END
$$;

CREATE FUNCTION contacts_count_delete() RETURNS trigger LANGUAGE plpgsql
SET search_path FROM CURRENT AS $$
DECLARE
    sh smallint := floor(random() * 4)::smallint;
BEGIN
    INSERT INTO contact_counts AS c (org_id, campaign_id, status, shard, n)
    SELECT org_id, campaign_id, status, sh, -count(*) FROM old_rows
    GROUP BY org_id, campaign_id, status
    ORDER BY org_id, campaign_id, status
    ON CONFLICT (org_id, campaign_id, status, shard) DO UPDATE SET n = c.n + EXCLUDED.n;
    RETURN NULL;
END
$$;

CREATE TRIGGER contacts_count_insert AFTER INSERT ON contacts
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION contacts_count_insert();
CREATE TRIGGER contacts_count_update AFTER UPDATE ON contacts
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION contacts_count_update();
CREATE TRIGGER contacts_count_delete AFTER DELETE ON contacts
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION contacts_count_delete();
