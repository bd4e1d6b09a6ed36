-- Up Migration
-- Every mail the sink accepted, as received: a mail is stored before the SMTP transaction is
-- acknowledged (250), so a mail the sender was told is delivered is never lost, and a mail sent
-- twice (the sender died between sending and recording it) is stored twice, recognisable by its
-- Message-ID.
CREATE TABLE mails (
  id bigserial PRIMARY KEY,
  message_id text,
  mail_from text NOT NULL,
  rcpt_to text[] NOT NULL,
  subject text NOT NULL DEFAULT '',
  text_body text NOT NULL DEFAULT '',
  html_body text NOT NULL DEFAULT '',
  headers jsonb NOT NULL DEFAULT '{}',
  size integer NOT NULL,
  received_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX mails_by_recipient ON mails USING gin (rcpt_to);
CREATE INDEX mails_by_message_id ON mails (message_id);
