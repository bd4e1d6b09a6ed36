-- Up Migration
-- Messages every group has acknowledged are removed once older than the retention window.
CREATE INDEX bus_messages_published_at ON bus_messages (published_at);
CREATE INDEX bus_deliveries_position ON bus_deliveries (position);
