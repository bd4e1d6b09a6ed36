-- Up Migration
-- Who holds a claim: a member restarted under the same instance id releases what its predecessor
-- held at once instead of waiting out the visibility timeout. The claim's fencing token is
-- `attempts`, which every claim increments: acknowledging, retrying or renewing names it, so a
-- member whose claim lapsed cannot end or extend its successor's.
ALTER TABLE bus_deliveries ADD COLUMN claimed_by text;
