-- A queue id is only unique within its organization as far as analytics can trust: another
-- organization's event naming the same id must not take the row over (its own queue would then
-- be unknown to its own KPIs).
ALTER TABLE queues DROP CONSTRAINT queues_pkey;
ALTER TABLE queues ADD PRIMARY KEY (org_id, id);
DROP INDEX queues_org;
