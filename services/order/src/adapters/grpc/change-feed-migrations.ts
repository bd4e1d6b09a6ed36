import { fileURLToPath } from 'node:url';

/**
 * The change feed's trigger on the event store's table, applied after the event store's own
 * migrations (which create that table), in a migrations table of its own.
 */
export const changeFeedMigrations = fileURLToPath(new URL('./change-feed-migrations', import.meta.url));
export const CHANGE_FEED_MIGRATIONS_TABLE = 'order_change_feed_migrations';
