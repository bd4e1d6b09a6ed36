/** Migrations without the service runtime (for tools such as the supervisor's provisioning). */

export { messageStoreMigrations } from '../messaging/migrations-path.ts';
export { migrate } from './migrate.ts';
