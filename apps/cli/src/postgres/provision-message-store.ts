import { messageStoreMigrations, migrate } from '@mercato/chassis/db';
import { createLogger } from '@mercato/chassis/logging';
import pg from 'pg';
import type { ProvisionedDatabase } from './provision-databases.ts';

/** The same admin connection, to another database (a connection string wins over `database`). */
function onDatabase(admin: pg.ClientConfig, database: string): pg.ClientConfig {
  if (!admin.connectionString) return { ...admin, database };
  const url = new URL(admin.connectionString);
  url.pathname = `/${database}`;
  return { ...admin, connectionString: url.toString() };
}

/**
 * The PostgreSQL message store: its own database (`messages`), migrated by the supervisor as the
 * platform's infrastructure, with the bus tables usable by the roles of the services that publish
 * or consume. It belongs to no service; a service role can still open no other service's database.
 */
export async function provisionMessageStore(options: {
  admin: pg.ClientConfig;
  prefix: string;
  roles: readonly ProvisionedDatabase[];
}): Promise<(service: ProvisionedDatabase) => string> {
  const name = `${options.prefix}messages`;
  const admin = new pg.Client(options.admin);
  await admin.connect();
  try {
    const exists = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (exists.rowCount === 0) await admin.query(`CREATE DATABASE "${name}"`);
    await admin.query(`REVOKE ALL ON DATABASE "${name}" FROM PUBLIC`);
    for (const { role } of options.roles)
      await admin.query(`GRANT CONNECT ON DATABASE "${name}" TO "${role}"`);
  } finally {
    await admin.end();
  }

  const store = new pg.Pool({ ...onDatabase(options.admin, name), max: 1 });
  try {
    await migrate(
      store,
      messageStoreMigrations,
      createLogger({ service: 'supervisor', level: 'silent' }),
      'bus_migrations',
    );
    for (const { role } of options.roles) {
      await store.query(`GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO "${role}"`);
      await store.query(`GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO "${role}"`);
    }
  } finally {
    await store.end();
  }
  return (service) => {
    const url = new URL(service.url);
    url.pathname = `/${name}`;
    return url.toString();
  };
}
