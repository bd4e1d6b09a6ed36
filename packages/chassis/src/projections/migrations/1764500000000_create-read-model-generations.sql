-- Up Migration
-- The copies of a read model: each generation is a schema of its own, built from the start of the
-- event log. One is live (the views in public point at it); a new one is building during a rebuild;
-- the one it replaced stays on standby.
CREATE TABLE read_model_generations (
  generation integer PRIMARY KEY,
  schema_name text NOT NULL UNIQUE,
  status text NOT NULL CHECK (status IN ('building', 'live', 'standby', 'dropped')),
  checkpoint text,
  events_applied bigint NOT NULL DEFAULT 0,
  rejected bigint NOT NULL DEFAULT 0,
  started_at timestamptz NOT NULL DEFAULT now(),
  applied_at timestamptz,
  switched_at timestamptz,
  -- Set when a building generation replaces the live one: both at the same position, compared.
  compared_rows bigint,
  differences bigint
);
-- At most one live and one building generation.
CREATE UNIQUE INDEX read_model_generations_one_live ON read_model_generations (status) WHERE status IN ('live', 'building');

-- Events a read model could not read (unknown type, no upcaster, invalid data): kept with the reason.
CREATE TABLE read_model_rejects (
  generation integer NOT NULL,
  position text NOT NULL,
  event_id text,
  event_type text,
  reason text NOT NULL,
  envelope jsonb,
  rejected_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (generation, position)
);
