import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../..', import.meta.url));
/** The buf CLI that `@bufbuild/buf` installs (no network: its binary ships in the package). */
export const bufBinary = path.join(root, 'node_modules', '.bin', 'buf');

export interface ProtoCheck {
  ok: boolean;
  /** buf's findings, one per line (`file:line:column:message`), or its error. */
  findings: string[];
}

/**
 * `buf breaking` of the module in `moduleDir` (its buf.yaml: FILE rules) against a released image
 * (`buf build -o`): a removed or renumbered field, a changed type, a removed RPC or message, a
 * renamed package all fail; a new field, message or RPC does not.
 */
export function protoBreaking(moduleDir: string, againstImage: string): ProtoCheck {
  const result = spawnSync(bufBinary, ['breaking', '--against', againstImage], {
    cwd: moduleDir,
    encoding: 'utf8',
  });
  if (result.error) return { ok: false, findings: [`buf could not run: ${result.error.message}`] };
  const findings = `${result.stdout}${result.stderr}`.split('\n').filter((line) => line.trim() !== '');
  return { ok: result.status === 0, findings };
}

/** Writes the module's image, the baseline the next changes are checked against. */
export function protoImage(moduleDir: string, output: string): void {
  const result = spawnSync(bufBinary, ['build', '-o', output], { cwd: moduleDir, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`buf build failed: ${result.stderr || result.error?.message}`);
}
