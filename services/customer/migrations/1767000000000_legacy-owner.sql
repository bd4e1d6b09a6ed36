-- Up Migration
-- Who writes the profiles taken over from the monolith (the strangler's phase 3): `monolith` while it
-- does (the service follows its changes), `moving` from the moment it gave them up (its move seen in
-- the log) until this service has applied every change it made before, then `services`; `returning`
-- from the moment the services hand them back until the monolith's taking them back is seen in the
-- log. `lsn` is the commit position of the monolith's last move seen: a replayed one changes nothing,
-- and once it took customers back, a change of its from before that is an echo of the services'.
CREATE TABLE legacy_capabilities (
  name text PRIMARY KEY,
  owner text NOT NULL CHECK (owner IN ('monolith', 'moving', 'services', 'returning')),
  lsn pg_lsn
);

INSERT INTO legacy_capabilities (name, owner) VALUES ('customers', 'monolith');
