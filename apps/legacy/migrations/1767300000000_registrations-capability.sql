-- Up Migration
-- Registrations move too (docs/strangler-fig.md, phase 3): once the services own `registrations`,
-- the monolith signs nobody up (identity does); the customers it registered before are the services'
-- already (change data capture). Nothing of the services' has to come back here to move them back.
INSERT INTO capabilities (name, owner) VALUES ('registrations', 'monolith') ON CONFLICT (name) DO NOTHING;
