/**
 * Reference row of bench/gateway: the plainest fastify proxy (@fastify/reply-from, one route, no
 * hooks), to show what the library path costs before the gateway adds anything.
 */
import replyFrom from '@fastify/reply-from';
import fastify from 'fastify';

const app = fastify();
const upstream = process.env.UPSTREAM_URL ?? 'http://127.0.0.1:13081';
const catalog = process.env.CATALOG_URL ?? 'http://127.0.0.1:13086';
await app.register(replyFrom, { undici: { connections: 128, pipelining: 1 } });
app.get('/*', (request, reply) =>
  reply.from(request.url, { getUpstream: () => (request.url.startsWith('/products') ? catalog : upstream) }),
);
await app.listen({ port: Number(process.env.PORT ?? 13083), host: '127.0.0.1' });
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
