import http from 'node:http';
import https from 'node:https';

/** Connections kept for the next poll, and no socket timeout (Node's global agent has 5 s): a watch waits minutes for its answer. */
const agents = {
  'http:': new http.Agent({ keepAlive: true }),
  'https:': new https.Agent({ keepAlive: true }),
};

/**
 * GET `url` and its JSON body, for a long poll: no timer of its own (the caller's signal bounds
 * it), status other than 200 an error naming it. Node's `http` rather than `fetch`, whose header
 * and body timers (300 s each) kept a timer wheel ticking in every idle process, or npm's undici,
 * whose 750 KB of source every service held in its heap for this one call (bench/README.md).
 */
export function getJson(url: string, headers: Record<string, string>, signal: AbortSignal): Promise<unknown> {
  const target = new URL(url);
  const protocol = target.protocol === 'https:' ? https : http;
  const agent = agents[target.protocol === 'https:' ? 'https:' : 'http:'];
  return new Promise((resolve, reject) => {
    const request = protocol.get(target, { headers, signal, agent }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('error', reject);
      response.on('end', () => {
        if (response.statusCode !== 200) {
          reject(new Error(`the registry answered ${response.statusCode}`));
          return;
        }
        try {
          resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
        } catch (error) {
          reject(error);
        }
      });
    });
    request.on('error', reject);
  });
}
