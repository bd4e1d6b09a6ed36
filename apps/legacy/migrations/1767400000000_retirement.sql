-- Up Migration
-- The monolith's retirement (docs/strangler-fig.md, phase N): one row once every capability moved to
-- the services and every order it took finished. From then it gives nothing back (its capabilities
-- stay the services'), and the platform stops it and drops its replication slot. Not captured: the
-- services learn of it from the operator's command, which asks them before the monolith.
CREATE TABLE retirement (
  only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
  retired_at timestamptz NOT NULL DEFAULT now()
);
