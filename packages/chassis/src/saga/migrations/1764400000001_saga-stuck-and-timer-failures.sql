-- Up Migration
-- A saga retrying a step at or after its pivot beyond the step's timeout is `stuck` (still moving
-- by itself, but a person should know). A saga whose timer keeps failing (its transition throws)
-- is counted here and its timer pushed back, so it holds no other saga's timeout.
ALTER TABLE saga_instances DROP CONSTRAINT saga_instances_status_check;
ALTER TABLE saga_instances ADD CONSTRAINT saga_instances_status_check
  CHECK (status IN ('running', 'stuck', 'compensating', 'completed', 'compensated', 'failed'));
ALTER TABLE saga_instances
  ADD COLUMN timer_failures integer NOT NULL DEFAULT 0,
  ADD COLUMN timer_error text;
DROP INDEX saga_instances_open;
CREATE INDEX saga_instances_open ON saga_instances (saga_type, status)
  WHERE status IN ('running', 'stuck', 'compensating', 'failed');
CREATE INDEX saga_instances_timer_failing ON saga_instances (saga_type) WHERE timer_failures > 0;
