-- Up Migration
CREATE TABLE customers (
  id text PRIMARY KEY,
  email text NOT NULL,
  name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  segment text NOT NULL DEFAULT 'standard' CHECK (segment IN ('standard', 'member')),
  marketing_emails boolean NOT NULL DEFAULT false,
  language text NOT NULL DEFAULT 'en-GB' CHECK (language ~ '^[a-z]{2,3}(-[A-Z]{2})?$'),
  currency text NOT NULL DEFAULT 'EUR' CHECK (currency ~ '^[A-Z]{3}$'),
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL
);
