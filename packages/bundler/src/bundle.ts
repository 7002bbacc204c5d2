import { mkdirSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { byCodePoint, type FunctionSpec, findRoot, type LoadedLayer, type LoadedSpec, layersFor, loadAllLayers } from '@laminar/spec';
import { build, type Metafile } from 'esbuild';
import { ownCodeSourceMap } from './source-map.ts';
import { assertWithinLambdaLimits, deterministicZip, sourceCodeHash } from './zip.ts';

export interface BundleResult {
  name: string;
  zipPath: string;
  hashPath: string;
  sourceCodeHash: string;
  zipBytes: number;
  bundleBytes: number;
  external: string[];
  /** The largest inputs, for a quick look at what the bundle is made of. */
  topInputs: { path: string; bytes: number }[];
}

/** Node's built-in modules are external on their own (platform node); this adds layer modules. */
export function externalsOf(loaded: LoadedSpec, layers: readonly LoadedLayer[]): string[] {
  const fromLayers = layersFor(loaded.spec, layers).flatMap((l) => l.spec.modules);
  return [...new Set([...fromLayers, ...loaded.spec.external])].sort();
}

/**
 * External modules the bundle loads with an ESM `import` (static or dynamic). On Lambda a layer's
 * modules live in /opt/nodejs/node_modules, which require() finds through NODE_PATH and ESM
 * resolution never looks at: such an import builds, runs in tests (they resolve it from the
 * workspace's node_modules), and fails the first cold start with ERR_MODULE_NOT_FOUND. Loaded
 * with require() — createRequire(import.meta.url), or a CommonJS dependency's own require — it
 * resolves.
 */
export function esmImportsOf(metafile: Metafile, external: readonly string[]): string[] {
  const isExternal = (path: string) => external.some((name) => path === name || path.startsWith(`${name}/`));
  const found = new Set<string>();
  for (const output of Object.values(metafile.outputs)) {
    for (const { path, kind } of output.imports) {
      if ((kind === 'import-statement' || kind === 'dynamic-import') && isExternal(path)) found.add(path);
    }
  }
  return [...found].sort();
}

/** A module of a layer that the function's bundle loads by name, and that layer. */
export interface UnlistedLayerModule {
  /** As the bundle names it: the module, or a path inside it. */
  module: string;
  layer: string;
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Modules of layers the spec does not list that the bundle's code names. A layer's module is
 * loaded with createRequire(import.meta.url)(name) (see esmImportsOf), which esbuild neither
 * resolves nor records in its metafile: without the layer the build passes, the tests pass (they
 * resolve it from the workspace), and the first call on Lambda fails with MODULE_NOT_FOUND. What
 * the bundle keeps is the name, as a whole string literal (a longer message that mentions it does
 * not count): `@laminar/kafka`'s loadKafkaClient leaves `"@confluentinc/kafka-javascript"`.
 */
export function unlistedLayerModules(code: string, spec: FunctionSpec, layers: readonly LoadedLayer[]): UnlistedLayerModule[] {
  const listed = layers.filter((l) => spec.layers.includes(l.spec.name));
  // A module that one of its own layers provides too is there at run time.
  const provided = new Set(listed.flatMap((l) => l.spec.modules));
  const found = new Map<string, UnlistedLayerModule>();
  for (const layer of layers) {
    if (listed.includes(layer)) continue;
    for (const name of layer.spec.modules.filter((m) => !provided.has(m))) {
      // The name, or a path inside it, between two of the same quotes.
      const literal = new RegExp(String.raw`(["'\`])(${escapeRegExp(name)}(?:/[^"'\`\s\\]*)?)\1`, 'g');
      for (const [, , module] of code.matchAll(literal)) {
        if (module && !found.has(module)) found.set(module, { module, layer: layer.spec.name });
      }
    }
  }
  return [...found.values()].sort((a, b) => byCodePoint(a.module, b.module));
}

function topInputs(metafile: Metafile, root: string): { path: string; bytes: number }[] {
  const output = Object.values(metafile.outputs).find((o) => o.entryPoint !== undefined);
  return Object.entries(output?.inputs ?? {})
    .map(([path, { bytesInOutput }]) => ({ path: relative(root, join(root, path)), bytes: bytesInOutput }))
    .sort((a, b) => b.bytes - a.bytes)
    .slice(0, 8);
}

/**
 * esbuild → one minified ESM file for the spec's runtime's Node (+ a source map of the function's own code,
 * source-map.ts) → deterministic zip with `index.mjs` at its root (handler `index.<export>`), and
 * the zip's base64 SHA-256 beside it.
 */
export async function bundleFunction(loaded: LoadedSpec, options: { outDir?: string } = {}): Promise<BundleResult> {
  // esbuild names its outputs by real path: a folder reached through a symlink would not match.
  const dir = realpathSync(loaded.dir);
  const outDir = options.outDir ?? join(dir, 'dist');
  const zipPath = options.outDir ? join(outDir, basename(loaded.zipPath)) : loaded.zipPath;
  const hashPath = options.outDir ? join(outDir, basename(loaded.hashPath)) : loaded.hashPath;
  try {
    // The workspace the spec was loaded from: a function folder that is itself a link leads out of it.
    const layers = await loadAllLayers(findRoot(loaded.dir));
    const external = externalsOf(loaded, layers);
    return await bundleInto(loaded, options, { dir, outDir, zipPath, hashPath, external, layers });
  } catch (error) {
    // A build that fails leaves no zip behind: the last good one, kept, would be what infra plans
    // and the local runner runs next, with nothing saying it is not this source's. (Until then it
    // stays: a runner up meanwhile keeps serving it while the build runs.)
    rmSync(zipPath, { force: true });
    rmSync(hashPath, { force: true });
    throw error;
  }
}

interface BundleTarget {
  dir: string;
  outDir: string;
  zipPath: string;
  hashPath: string;
  external: string[];
  /** Every layer of the workspace, to tell which of them the bundle needs. */
  layers: readonly LoadedLayer[];
}

async function bundleInto(
  loaded: LoadedSpec,
  options: { outDir?: string },
  { dir, outDir, zipPath, hashPath, external, layers }: BundleTarget,
): Promise<BundleResult> {
  const { spec } = loaded;
  const result = await build({
    absWorkingDir: dir,
    entryPoints: [spec.entry],
    outfile: 'index.mjs',
    bundle: true,
    write: false,
    platform: 'node',
    target: spec.runtime === 'nodejs22.x' ? 'node22' : 'node20',
    format: 'esm',
    minify: true,
    treeShaking: true,
    // linked: index.mjs names its map, so --enable-source-maps maps stack traces to TypeScript lines.
    sourcemap: 'linked',
    sourcesContent: false,
    legalComments: 'none',
    metafile: true,
    logLevel: 'warning',
    mainFields: ['module', 'main'],
    conditions: ['module', 'node', 'import'],
    external,
    // ESM output still meets CommonJS dependencies (the AWS SDK's) that call require().
    banner: { js: "import{createRequire as __laminarRequire}from'node:module';const require=__laminarRequire(import.meta.url);" },
  });
  const imported = esmImportsOf(result.metafile, external);
  if (imported.length > 0) {
    throw new Error(
      `function ${spec.name}: ${imported.join(', ')} ${imported.length === 1 ? 'is' : 'are'} imported with an ESM import, which cannot resolve on Lambda (ESM resolution does not read NODE_PATH, where layers are): load ${imported.length === 1 ? 'it' : 'them'} with createRequire(import.meta.url)(…)`,
    );
  }
  const files = new Map(result.outputFiles.map((f) => [relative(dir, f.path), Buffer.from(f.contents)]));
  const code = files.get('index.mjs');
  const map = files.get('index.mjs.map');
  if (!code || !map) throw new Error(`esbuild produced ${[...files.keys()].join(', ')}, expected index.mjs and its map`);
  const unlisted = unlistedLayerModules(code.toString('utf8'), spec, layers);
  if (unlisted.length > 0) {
    const missing = [...new Set(unlisted.map((u) => u.layer))];
    throw new Error(
      `function ${spec.name}: its bundle loads ${unlisted.map((u) => `${u.module} (from layer ${u.layer})`).join(', ')}, but its spec does not list ${missing.length === 1 ? 'that layer' : 'those layers'}: on Lambda the require fails with MODULE_NOT_FOUND. Add ${missing.map((l) => `'${l}'`).join(', ')} to layers in spec.ts`,
    );
  }

  const entries = [
    { name: 'index.mjs', data: code },
    { name: 'index.mjs.map', data: Buffer.from(ownCodeSourceMap(map.toString('utf8'))) },
  ];
  const zip = await deterministicZip(entries);
  assertWithinLambdaLimits(`function ${spec.name}`, zip, entries);
  const hash = sourceCodeHash(zip);
  // Its own dist/ is emptied (nothing stale is cached with it); a given outDir may hold other
  // functions' zips, or be no scratch folder at all: there only this function's files are replaced.
  if (!options.outDir) rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  writeFileSync(zipPath, zip);
  writeFileSync(hashPath, `${hash}\n`);
  return {
    name: spec.name,
    zipPath,
    hashPath,
    sourceCodeHash: hash,
    zipBytes: zip.length,
    bundleBytes: code.length,
    external,
    topInputs: topInputs(result.metafile, dir),
  };
}
