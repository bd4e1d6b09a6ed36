import { createServer } from 'node:net';

/** Resolves when nothing listens on host:port, so a clash is reported before anything starts. */
export function assertPortFree(port: number, variable: string, host = '127.0.0.1'): Promise<void> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        new Error(
          error.code === 'EADDRINUSE'
            ? `port ${port} is already in use; set ${variable} to another port or stop what uses it`
            : `cannot listen on ${host}:${port} (${error.code ?? error.message})`,
        ),
      ),
    );
    probe.listen({ port, host, exclusive: true }, () => probe.close(() => resolve()));
  });
}
