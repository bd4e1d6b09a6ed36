import { isUtf8 } from 'node:buffer';
import type { FastifyInstance } from 'fastify';
import { validationFailed } from '../errors/app-error.ts';

/**
 * JSON request bodies, refused with a reason a client can act on. fastify's own parser decodes the
 * bytes as UTF-8 first, so a body in another encoding (a Latin-1 `é`) would arrive with U+FFFD in
 * its place and be stored that way; here it is a 400 instead. A body that is not JSON says where it
 * broke, and one that holds a `__proto__` or `constructor.prototype` key (refused by fastify's
 * parser, which calls it "not valid JSON") says so. Parsing itself stays fastify's
 * (secure-json-parse).
 */
export function installJsonBodyParser(app: FastifyInstance): void {
  const parse = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
    const bytes = body as Buffer;
    if (!isUtf8(bytes))
      return done(validationFailed([{ field: 'body', message: 'is not valid UTF-8' }]), undefined);
    const text = bytes.toString('utf8');
    parse(request, text, (error, value) => {
      if (!error) return done(null, value);
      // The empty body keeps fastify's own answer; anything else says what is wrong with it.
      if (bytes.length === 0) return done(error, undefined);
      done(validationFailed([{ field: 'body', message: whyUnparsable(text) }]), undefined);
    });
  });
}

/** Only on a body already refused: JSON.parse's own message says where it broke. */
function whyUnparsable(text: string): string {
  try {
    JSON.parse(text);
  } catch (error) {
    return `is not valid JSON (${(error as Error).message})`;
  }
  return 'holds a __proto__ or constructor.prototype key';
}
