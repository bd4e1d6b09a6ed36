/**
 * The upstream of bench/gateway, run as its own process: a small fastify service like every
 * Mercato service (routing, a response schema, JSON), plus the JWKS the gateway verifies the
 * bench's token against and an OTLP/HTTP sink so the gateway really exports its spans.
 */
import fastify from 'fastify';

const port = Number(process.env.PORT ?? 13081);
const jwks = { keys: [JSON.parse(process.env.BENCH_JWK ?? '{}')] };
const item = { id: 'p1', sku: 'KIT-0001', name: 'Pan', price_minor: 2499, currency: 'EUR' };
let spanBytes = 0;

const app = fastify({ keepAliveTimeout: 65_000 });
app.addContentTypeParser('application/x-protobuf', { parseAs: 'buffer' }, (_request, body, done) => {
  spanBytes += body.length;
  done(null, undefined);
});
app.post('/v1/traces', async (_request, reply) => reply.type('application/x-protobuf').send(Buffer.alloc(0)));
app.get('/.well-known/jwks.json', async () => jwks);
app.get('/stats', async () => ({ spanBytes }));
app.get(
  '/bench/item',
  {
    schema: {
      response: {
        200: {
          type: 'object',
          properties: {
            id: { type: 'string' },
            sku: { type: 'string' },
            name: { type: 'string' },
            price_minor: { type: 'integer' },
            currency: { type: 'string' },
          },
        },
      },
    },
  },
  async () => item,
);
await app.listen({ port, host: '127.0.0.1' });
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
