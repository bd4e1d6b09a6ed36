-- Up Migration
-- Who writes each capability the strangler moves (docs/strangler-fig.md, phase 3): the monolith until
-- it moves, then the services. A write of the capability takes this row FOR SHARE, so the UPDATE that
-- moves it waits for every write in flight and each later one sees it moved. Captured like any table:
-- the services learn of the move from the log, after every write the monolith made before it.
CREATE TABLE capabilities (
  name text PRIMARY KEY,
  owner text NOT NULL CHECK (owner IN ('monolith', 'services')),
  changed_at timestamptz NOT NULL DEFAULT now()
);

INSERT INTO capabilities (name, owner) VALUES ('customers', 'monolith');
