import { randomBytes } from 'node:crypto';
import pg from 'pg';

export interface ProvisionedDatabase {
  service: string;
  database: string;
  role: string;
  url: string;
}

export interface ProvisionOptions {
  /** Admin connection (superuser or CREATEROLE + CREATEDB) to the server. */
  admin: pg.ClientConfig;
  /** Where services reach the server; may differ from the admin's view of it. */
  host: string;
  port: number;
  /** The server's Unix-domain socket folder, on this machine: the services connect through it. */
  socketDirectory?: string | undefined;
  prefix: string;
  services: readonly string[];
  /** The server is ours alone (embedded): also close the `postgres` database to service roles. */
  exclusive: boolean;
}

const identifier = (name: string): string => {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`unsafe database identifier: ${name}`);
  return `"${name}"`;
};

/**
 * One database and one login role per service. The role owns its database; PUBLIC loses CONNECT
 * on every service database, so a role can open its own database and no other. Passwords are
 * rotated on every run, so none needs to be stored.
 */
export async function provisionDatabases(options: ProvisionOptions): Promise<ProvisionedDatabase[]> {
  const admin = new pg.Client(options.admin);
  await admin.connect();
  try {
    const provisioned: ProvisionedDatabase[] = [];
    for (const service of options.services) {
      const name = `${options.prefix}${service.replaceAll('-', '_')}`;
      const password = randomBytes(18).toString('base64url');
      const role = identifier(name);
      const existingRole = await admin.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [name]);
      // Passwords are base64url, so they are safe inside a quoted literal.
      const verb = existingRole.rowCount === 0 ? 'CREATE' : 'ALTER';
      await admin.query(
        `${verb} ROLE ${role} WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD '${password}'`,
      );
      const existingDatabase = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
      if (existingDatabase.rowCount === 0) await admin.query(`CREATE DATABASE ${role} OWNER ${role}`);
      await admin.query(`REVOKE ALL ON DATABASE ${role} FROM PUBLIC`);
      await admin.query(`GRANT CONNECT, TEMPORARY ON DATABASE ${role} TO ${role}`);
      const url = new URL(`postgres://${options.host}:${options.port}/${name}`);
      url.username = name;
      url.password = password;
      // node-postgres and libpq read `host` in the query as the socket's folder (with the URL's port).
      if (options.socketDirectory) url.searchParams.set('host', options.socketDirectory);
      provisioned.push({ service, database: name, role: name, url: url.toString() });
    }
    if (options.exclusive) await admin.query('REVOKE CONNECT ON DATABASE postgres FROM PUBLIC');
    return provisioned;
  } finally {
    await admin.end();
  }
}
