import { AppError } from '../errors/app-error.ts';
import { hasControlCharacter } from '../validation/control-characters.ts';

/** A request target in the one form routing, guards, limits and upstreams all act on. */
export interface CanonicalTarget {
  /** Decoded path: dot segments resolved, `//` collapsed, e.g. `/admin/knobs`. */
  path: string;
  /** The same path encoded again (only what must be), with the query string as it came. */
  url: string;
}

export const badPath = (reason: string) =>
  new AppError({ code: 'HTTP.BAD_PATH', kind: 'validation', message: `The request path ${reason}` });

// Already canonical: segments of characters that need no encoding, none empty, `.` or `..`.
const CANONICAL = /^(?:\/(?!\.\.?(?:[/?]|$))[A-Za-z0-9\-._~!$&'()*+,=:@]+)*\/?(?:\?.*)?$/s;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * One segment's bytes, percent-decoded once, as UTF-8 (overlong and invalid sequences refused).
 * Node hands the target over as latin1, so a character below 256 is one byte as it was sent.
 */
function decodeSegment(raw: string): string {
  const bytes = new Uint8Array(raw.length);
  let length = 0;
  for (let i = 0; i < raw.length; i += 1) {
    const code = raw.charCodeAt(i);
    if (code > 0xff) throw badPath('holds a character that is not one byte');
    if (code !== 37) {
      bytes[length++] = code;
      continue;
    }
    const hex = raw.slice(i + 1, i + 3);
    if (!/^[0-9A-Fa-f]{2}$/.test(hex)) throw badPath('holds a % that is not followed by two hex digits');
    bytes[length++] = Number.parseInt(hex, 16);
    i += 2;
  }
  try {
    return utf8.decode(bytes.subarray(0, length));
  } catch {
    throw badPath('is not valid UTF-8 once decoded (overlong or broken sequences)');
  }
}

const PLAIN_IN_SEGMENT = /%(?:3A|40|24|26|2B|2C|3D|21|27|28|29|2A)/g;

/** A decoded segment encoded again, leaving the characters a path segment may hold as they are. */
const encodeSegment = (segment: string): string =>
  encodeURIComponent(segment).replace(PLAIN_IN_SEGMENT, (encoded) => decodeURIComponent(encoded));

/**
 * The request target as everything that acts on a path must see it (CONVENTIONS 15): decoded
 * once, `.` and `..` resolved, `//` collapsed. Spellings that mean different things to different
 * parsers are refused rather than guessed at (AppError HTTP.BAD_PATH): an encoded `/` or `\`, a
 * backslash, NUL and other control characters, an encoded `%` (double encoding), overlong or
 * invalid UTF-8, `;` parameters (some servers strip them, others do not), `..` above the root.
 * Case and a trailing slash are kept: the router tells those apart, and so must a guard.
 */
export function canonicalTarget(target: string): CanonicalTarget {
  const queryAt = target.indexOf('?');
  const rawPath = queryAt === -1 ? target : target.slice(0, queryAt);
  const query = queryAt === -1 ? '' : target.slice(queryAt);
  if (CANONICAL.test(target)) return { path: rawPath, url: target };
  if (!rawPath.startsWith('/')) throw badPath('must start with /');
  if (rawPath.includes('#')) throw badPath('holds a #');
  const raw = rawPath.split('/').slice(1);
  const kept: string[] = [];
  raw.forEach((rawSegment, index) => {
    const segment = decodeSegment(rawSegment);
    if (segment.includes('/') || segment.includes('\\')) throw badPath('holds an encoded / or a \\');
    if (hasControlCharacter(segment)) throw badPath('holds a control character');
    if (segment.includes('%')) throw badPath('is encoded twice (it holds %25)');
    if (segment.includes(';')) throw badPath('holds ; parameters');
    const last = index === raw.length - 1;
    if (segment === '..') {
      if (kept.length === 0) throw badPath('climbs above the root');
      kept.pop();
    } else if (segment !== '.' && segment !== '') kept.push(segment);
    // A path ending in /, /. or /.. names a directory: it keeps its trailing slash.
    if (last && (segment === '' || segment === '.' || segment === '..') && kept.length > 0) kept.push('');
  });
  const path = `/${kept.join('/')}`;
  return { path, url: `/${kept.map(encodeSegment).join('/')}${query}` };
}
