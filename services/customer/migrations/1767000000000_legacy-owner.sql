-- Up Migration
-- Who writes the profiles taken over from the monolith (the strangler's phase 3): `monolith` while it
-- does (the service follows its changes), `moving` from the moment it gave them up (its move seen in
-- the log) until this service has applied every change it made before, then `services`. `lsn` is the
-- commit position of the monolith's last move seen, so a replayed one changes nothing.
CREATE TABLE legacy_capabilities (
  name text PRIMARY KEY,
  owner text NOT NULL CHECK (owner IN ('monolith', 'moving', 'services')),
  lsn pg_lsn
);

INSERT INTO legacy_capabilities (name, owner) VALUES ('customers', 'monolith');
