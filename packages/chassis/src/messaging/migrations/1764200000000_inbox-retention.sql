-- Up Migration
-- Inbox rows older than the retention window are removed in the background (RetentionSweeper).
CREATE INDEX mercato_inbox_processed_at ON mercato_inbox (processed_at);
