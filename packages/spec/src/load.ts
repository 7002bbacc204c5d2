import { readdirSync, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { layersFor, loadAllLayers } from './layer.ts';
import { loadAllQueues } from './queue.ts';
import { byCodePoint } from './order.ts';
import { type FunctionSpec, SpecError } from './spec.ts';

export interface LoadedSpec {
  spec: FunctionSpec;
  /** Absolute path of the function's folder. */
  dir: string;
  /** Where the bundler writes the zip and its hash. */
  zipPath: string;
  hashPath: string;
}

export function artifactPaths(dir: string, name: string) {
  return {
    zipPath: join(dir, 'dist', `${name}.zip`),
    hashPath: join(dir, 'dist', `${name}.zip.sha256`),
  };
}

/**
 * Imports one `spec.ts`. Callers run under a TypeScript-aware loader (tsx, vitest, esbuild):
 * specs are pure data, so importing them has no side effects.
 */
export async function loadSpec(dir: string): Promise<LoadedSpec> {
  const abs = resolve(dir);
  const file = join(abs, 'spec.ts');
  if (!existsSync(file)) throw new SpecError(`no spec.ts in ${abs}`);
  const mod = (await import(pathToFileURL(file).href)) as { default?: FunctionSpec };
  if (!mod.default) throw new SpecError(`${file} must export default defineFunction({...})`);
  return { spec: mod.default, dir: abs, ...artifactPaths(abs, mod.default.name) };
}

/** Finds the repository root (the folder holding pnpm-workspace.yaml). */
export function findRoot(from = process.cwd()): string {
  let dir = resolve(from);
  for (;;) {
    if (existsSync(join(dir, 'pnpm-workspace.yaml'))) return dir;
    const up = resolve(dir, '..');
    if (up === dir) throw new SpecError(`no pnpm-workspace.yaml above ${from}`);
    dir = up;
  }
}

/** Loads every `functions/<name>/spec.ts`, sorted by name; a folder name must equal its spec name. */
export async function loadAllSpecs(root = findRoot()): Promise<LoadedSpec[]> {
  const fnDir = join(root, 'functions');
  const dirs = existsSync(fnDir)
    ? readdirSync(fnDir, { withFileTypes: true }).filter((d) => d.isDirectory() && existsSync(join(fnDir, d.name, 'spec.ts')))
    : [];
  const loaded = await Promise.all(dirs.map((d) => loadSpec(join(fnDir, d.name))));
  const [layers, queues] = await Promise.all([loadAllLayers(root), loadAllQueues(root)]);
  const queueNames = new Set(queues.map((q) => q.name));
  const tableKinds = new Map<string, string>();
  const streamOwners = new Map<string, string>();
  for (const l of loaded) {
    const folder = l.dir.split(/[\\/]/).pop();
    if (folder !== l.spec.name) throw new SpecError(`functions/${folder}/spec.ts declares name "${l.spec.name}"; they must match`);
    layersFor(l.spec, layers);
    const onSuccess = l.spec.async?.onSuccess?.queue;
    if (onSuccess && !queueNames.has(onSuccess)) {
      throw new SpecError(`function ${l.spec.name}: async.onSuccess names queue "${onSuccess}", which queues/ does not declare`);
    }
    for (const t of l.spec.tables) {
      const kind = tableKinds.get(t.name);
      if (kind && kind !== t.kind) throw new SpecError(`table "${t.name}" is declared as ${kind} and as ${t.kind}`);
      tableKinds.set(t.name, t.kind);
    }
    for (const d of l.spec.deliveryStreams) {
      const owner = streamOwners.get(d.name);
      if (owner) throw new SpecError(`delivery stream "${d.name}" is declared by ${owner} and by ${l.spec.name}; one function owns it`);
      streamOwners.set(d.name, l.spec.name);
    }
  }
  return loaded.sort((a, b) => byCodePoint(a.spec.name, b.spec.name));
}
