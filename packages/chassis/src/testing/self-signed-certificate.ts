import { execFileSync } from 'node:child_process';
import path from 'node:path';

/**
 * A self-signed P-256 certificate for 127.0.0.1 (`openssl`), as `<folder>/<name>.crt` and `.key`:
 * what an operator gives a public port (the edge) in tests.
 */
export function selfSignedCertificate(folder: string, name: string): { cert: string; key: string } {
  const file = (extension: string) => path.join(folder, `${name}.${extension}`);
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      file('key'),
      '-out',
      file('crt'),
      '-days',
      '1',
      '-subj',
      '/CN=shop.test',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
    ],
    { stdio: 'pipe' },
  );
  return { cert: file('crt'), key: file('key') };
}
