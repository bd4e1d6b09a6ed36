-- Up Migration
-- Every mail notification sent, one row per Message-ID (derived from the event and the recipient).
-- The row is written in the transaction that consumes the event, after the SMTP server accepted
-- the mail: a crash in between sends the mail again on redelivery (same Message-ID, sends + 1).
CREATE TABLE notifications (
  message_id text PRIMARY KEY,
  event_id text NOT NULL,
  kind text NOT NULL,
  customer_id text NOT NULL,
  order_id text,
  recipient text NOT NULL,
  subject text NOT NULL,
  sends integer NOT NULL DEFAULT 1,
  sent_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX notifications_by_customer ON notifications (customer_id, sent_at DESC);
