-- Up Migration
-- A postal address as one text: the monolith keeps one per customer, and a profile taken over from
-- it must hold it before the services can answer for the monolith's customers. '' when none is known.
ALTER TABLE customers ADD COLUMN address text NOT NULL DEFAULT '';
