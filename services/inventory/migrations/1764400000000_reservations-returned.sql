-- Up Migration
-- A committed reservation whose order was cancelled before shipping: its stock is back on the shelf.
ALTER TABLE reservations DROP CONSTRAINT reservations_status_check;
ALTER TABLE reservations ADD CONSTRAINT reservations_status_check
  CHECK (status IN ('active', 'committed', 'released', 'expired', 'returned', 'failed'));
