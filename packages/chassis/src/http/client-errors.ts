import type { Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { PROBLEM_CONTENT_TYPE } from '../errors/problem.ts';

const answers: Record<string, { status: number; reason: string; code: string; detail: string }> = {
  HPE_HEADER_OVERFLOW: {
    status: 431,
    reason: 'Request Header Fields Too Large',
    code: 'HTTP.HEADERS_TOO_LARGE',
    detail: 'The request headers are too large',
  },
  ERR_HTTP_REQUEST_TIMEOUT: {
    status: 408,
    reason: 'Request Timeout',
    code: 'HTTP.REQUEST_TIMEOUT',
    detail: 'The request was not received in time',
  },
};
const malformed = {
  status: 400,
  reason: 'Bad Request',
  code: 'HTTP.MALFORMED_REQUEST',
  detail:
    'The request is not valid HTTP/1.1 (e.g. an unknown Transfer-Encoding, or Content-Length with Transfer-Encoding)',
};

/**
 * Requests Node's HTTP parser rejects before any route sees them (ambiguous framing, oversized
 * headers, a body that does not arrive in time) get a problem+json answer too, and their socket
 * is closed so nothing after the bad request is read.
 */
export function answerClientErrors(server: Server): void {
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
    if (error.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const answer = answers[error.code ?? ''] ?? malformed;
    const body = JSON.stringify({
      type: `urn:mercato:problem:${answer.code}`,
      title: answer.reason,
      status: answer.status,
      detail: answer.detail,
      code: answer.code,
      retryable: false,
    });
    socket.end(
      `HTTP/1.1 ${answer.status} ${answer.reason}\r\ncontent-type: ${PROBLEM_CONTENT_TYPE}\r\n` +
        `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
    );
  });
}
