/**
 * Control characters in text: NUL (which PostgreSQL refuses in text), the other C0 controls
 * (line breaks, ESC: log and header injection), DEL and the C1 controls; and unpaired surrogates
 * (a JSON `"\ud800"`), which are no Unicode text at all: UTF-8 has no bytes for them, so PostgreSQL
 * and protobuf would store U+FFFD in their place. Text from outside is refused when it holds one,
 * in whatever field it comes.
 */
export function hasControlCharacter(text: string): boolean {
  for (let i = 0; i < text.length; i += 1) {
    const code = text.charCodeAt(i);
    if (code < 0x20 || (code >= 0x7f && code <= 0x9f)) return true;
    if (code >= 0xd800 && code <= 0xdfff) {
      const next = text.charCodeAt(i + 1);
      if (code > 0xdbff || !(next >= 0xdc00 && next <= 0xdfff)) return true;
      i += 1;
    }
  }
  return false;
}

export type FieldPath = ReadonlyArray<string | number>;

/**
 * Where in a decoded value (JSON body, query, gRPC message) the first string holding a control
 * character is, as a path of keys and indexes; undefined when there is none. Keys are checked too.
 * Bounded by `maxDepth`, deeper than any request of ours nests.
 */
export function findControlCharacter(
  value: unknown,
  path: FieldPath = [],
  maxDepth = 32,
): FieldPath | undefined {
  if (typeof value === 'string') return hasControlCharacter(value) ? path : undefined;
  if (typeof value !== 'object' || value === null || path.length > maxDepth) return undefined;
  if (ArrayBuffer.isView(value)) return undefined;
  if (Array.isArray(value)) {
    for (let index = 0; index < value.length; index += 1) {
      const found = findControlCharacter(value[index], [...path, index], maxDepth);
      if (found) return found;
    }
    return undefined;
  }
  for (const [key, item] of Object.entries(value)) {
    if (hasControlCharacter(key)) return [...path, key];
    const found = findControlCharacter(item, [...path, key], maxDepth);
    if (found) return found;
  }
  return undefined;
}

export const CONTROL_CHARACTER_MESSAGE =
  'must not hold control characters (NUL, line breaks, escapes) or unpaired surrogates';
