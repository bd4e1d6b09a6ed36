import { spawn } from 'node:child_process';
import { readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';

/**
 * The web app (apps/web: the storefront and the ops console) built with the services: its API types
 * generated from the gateway's OpenAPI document, the app type-checked against them (so a changed
 * edge API breaks the build, not the page), then bundled by Vite into apps/web/dist, which the
 * gateway serves. Skipped when nothing it is made from changed since the last build.
 */
export interface WebBuildResult {
  built: boolean;
  ms: number;
}

const RECORD = 'build.json';
const webSources = ['src', 'ops', 'scripts', 'index.html', 'vite.config.ts', 'tsconfig.json', 'package.json'];

const mtime = (file: string) =>
  stat(file).then(
    (info) => info.mtimeMs,
    () => undefined,
  );

async function filesUnder(entry: string): Promise<string[]> {
  const info = await stat(entry).catch(() => undefined);
  if (!info) return [];
  if (!info.isDirectory()) return [entry];
  const names = await readdir(entry);
  return (await Promise.all(names.map((name) => filesUnder(path.join(entry, name))))).flat();
}

/** The web app's own files, plus what the gateway's bundle was made from (its API), plus the lockfile. */
async function inputsOf(root: string): Promise<string[]> {
  const web = path.join(root, 'apps', 'web');
  const own = (await Promise.all(webSources.map((entry) => filesUnder(path.join(web, entry))))).flat();
  const gatewayRecord = path.join(root, 'apps', 'gateway', 'dist', RECORD);
  const gateway = await readFile(gatewayRecord, 'utf8').then(
    (text) => (JSON.parse(text) as { inputs: string[] }).inputs.map((input) => path.join(root, input)),
    () => [],
  );
  return [...own, ...gateway, path.join(root, 'package-lock.json')];
}

export async function isWebStale(root: string): Promise<boolean> {
  const dist = path.join(root, 'apps', 'web', 'dist');
  const builtAt = await mtime(path.join(dist, RECORD));
  if (builtAt === undefined || (await mtime(path.join(dist, 'index.html'))) === undefined) return true;
  const times = await Promise.all((await inputsOf(root)).map(mtime));
  return times.some((time) => time === undefined || time > builtAt);
}

function run(root: string, args: string[], what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    // production whoever builds it (vitest sets NODE_ENV=test, which would bundle React's development build).
    const child = spawn(process.execPath, args, {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NODE_ENV: 'production' },
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0
        ? resolve()
        : reject(new Error(`web does not build: ${what} failed (exit ${code})\n${output.trim()}`)),
    );
  });
}

/** Builds the web app, whether stale or not. */
export async function buildWeb(root: string): Promise<void> {
  await run(root, ['--import', 'tsx', 'apps/web/scripts/generate-api.ts'], 'generating the edge API types');
  await run(
    root,
    [
      'node_modules/typescript/bin/tsc',
      '-p',
      'apps/web',
      '--incremental',
      '--tsBuildInfoFile',
      'node_modules/.cache/mercato-web.tsbuildinfo',
    ],
    'type-checking apps/web against the edge API',
  );
  // Built beside the app being served, then swapped in, so a running gateway never serves half a build.
  const web = path.join(root, 'apps', 'web');
  const next = path.join(web, 'dist.next');
  await run(
    root,
    ['node_modules/vite/bin/vite.js', 'build', 'apps/web', '--outDir', next, '--logLevel', 'warn'],
    'vite build',
  );
  await writeFile(path.join(next, RECORD), `${JSON.stringify({ built_at: new Date().toISOString() })}\n`);
  const dist = path.join(web, 'dist');
  const old = path.join(web, 'dist.old');
  await rm(old, { recursive: true, force: true });
  await rename(dist, old).catch(() => undefined);
  await rename(next, dist);
  await rm(old, { recursive: true, force: true });
}

/** Builds the web app when it is stale. */
export async function buildWebIfStale(root: string): Promise<WebBuildResult> {
  const began = performance.now();
  const stale = await isWebStale(root);
  if (stale) await buildWeb(root);
  return { built: stale, ms: Math.round(performance.now() - began) };
}
