import { fileURLToPath } from 'node:url';

/** The chassis's own tables in a service database: outbox, inbox, dead letters. */
export const messagingMigrations = fileURLToPath(new URL('./migrations', import.meta.url));
export const MESSAGING_MIGRATIONS_TABLE = 'mercato_chassis_migrations';
/** The PostgreSQL message store's own database (the `messages` bus). */
export const messageStoreMigrations = fileURLToPath(new URL('./postgres-bus/migrations', import.meta.url));
