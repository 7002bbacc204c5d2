import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { artifactPaths, defineFunction, type FunctionSpecInput, type LoadedLayer, type LoadedSpec, defineLayer, loadSpec } from '@laminar/spec';
import { build } from 'esbuild';
import { afterAll, describe, expect, it } from 'vitest';
import { bundleFunction, esmImportsOf, unlistedLayerModules } from '../../src/index.ts';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');
const scratch = mkdtempSync(join(tmpdir(), 'laminar-bundle-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('bundleFunction', () => {
  it('builds a function reached through a symlink, to the same bytes, and leaves other zips in its outDir', async () => {
    const real = await bundleFunction(await loadSpec(join(repo, 'functions', 'object-audit')), { outDir: join(scratch, 'real') });
    const link = join(scratch, 'repo-link');
    symlinkSync(repo, link, 'dir');
    const shared = join(scratch, 'shared');
    const linked = await bundleFunction(await loadSpec(join(link, 'functions', 'object-audit')), { outDir: shared });
    expect(linked.sourceCodeHash).toBe(real.sourceCodeHash);
    // A second function built into the same folder leaves the first one's files there.
    const other = await bundleFunction(await loadSpec(join(repo, 'functions', 'pdf-manifest')), { outDir: shared });
    expect([linked.zipPath, linked.hashPath, other.zipPath, other.hashPath].map(existsSync)).toEqual([true, true, true, true]);
    expect(readFileSync(linked.hashPath, 'utf8').trim()).toBe(real.sourceCodeHash);
  });

  it('leaves no zip behind when a build fails: the last good one would be taken for this source', async () => {
    const out = join(scratch, 'failing');
    const loaded = await loadSpec(join(repo, 'functions', 'object-audit'));
    const good = await bundleFunction(loaded, { outDir: out });
    expect([good.zipPath, good.hashPath].map(existsSync)).toEqual([true, true]);
    const broken = { ...loaded, spec: { ...loaded.spec, entry: 'src/no-such-handler.ts' } };
    await expect(bundleFunction(broken, { outDir: out })).rejects.toThrow(/no-such-handler/);
    expect([good.zipPath, good.hashPath].map(existsSync)).toEqual([false, false]);
  });

  it('is rebuilt by turbo when a layer spec changes, as it reads them to choose its externals', () => {
    const turbo = JSON.parse(readFileSync(join(repo, 'turbo.json'), 'utf8')) as { tasks: { build: { inputs: string[] } } };
    expect(turbo.tasks.build.inputs).toContain('$TURBO_ROOT$/layers/*/layer.ts');
  });
});

describe('layer modules in the bundle', () => {
  /** esbuild's metafile for `source` bundled as bundleFunction bundles, `kafka-client` external. */
  async function metafileOf(source: string) {
    const dir = mkdtempSync(join(scratch, 'esm-'));
    writeFileSync(join(dir, 'entry.mjs'), source);
    const result = await build({ absWorkingDir: dir, entryPoints: ['entry.mjs'], outfile: 'index.mjs', bundle: true, write: false, platform: 'node', format: 'esm', metafile: true, logLevel: 'silent', external: ['kafka-client'] });
    return result.metafile;
  }

  it('finds a static or dynamic ESM import of one (it would not resolve on Lambda), not a require through createRequire', async () => {
    expect(esmImportsOf(await metafileOf("import k from 'kafka-client';\nexport const handler = () => k;\n"), ['kafka-client'])).toEqual(['kafka-client']);
    expect(esmImportsOf(await metafileOf("export const handler = () => import('kafka-client/promises');\n"), ['kafka-client'])).toEqual(['kafka-client/promises']);
    const required = "import { createRequire } from 'node:module';\nexport const handler = () => createRequire(import.meta.url)('kafka-client');\n";
    expect(esmImportsOf(await metafileOf(required), ['kafka-client'])).toEqual([]);
    // Node's own modules are imported, and are no layer's.
    expect(esmImportsOf(await metafileOf("import { readFileSync } from 'node:fs';\nexport const handler = () => readFileSync;\n"), ['kafka-client'])).toEqual([]);
  });

  it('lets the functions that use the Kafka layer build: they load its client with require()', async () => {
    const built = await bundleFunction(await loadSpec(join(repo, 'functions', 'rss-producer')), { outDir: join(scratch, 'rss') });
    expect(built.external).toContain('@confluentinc/kafka-javascript');
  });
});

describe('layer modules loaded without their layer', () => {
  const layer = (name: string, modules: string[]): LoadedLayer => ({
    spec: defineLayer({ name, architectures: ['x86_64'], runtimes: ['nodejs22.x'], modules }),
    dir: join(scratch, name),
    zipPath: join(scratch, name, 'dist', `${name}.zip`),
    hashPath: join(scratch, name, 'dist', `${name}.zip.sha256`),
  });
  const layers = [layer('kafka-layer', ['@confluentinc/kafka-javascript']), layer('other-layer', ['other-native'])];
  const fn = (layerNames: string[]) =>
    defineFunction({ name: 'fn', entry: './src/handler.ts', memoryMb: 128, timeoutS: 30, runtime: 'nodejs22.x', architecture: 'x86_64', layers: layerNames, triggers: [{ kind: 'invoke' }] });

  it("finds a layer's module named by a whole string literal when the spec does not list the layer", () => {
    // As esbuild minifies @laminar/kafka's loadKafkaClient.
    const loader = 'function _er(){let e=yer(import.meta.url);return U3e??=e("@confluentinc/kafka-javascript"),U3e}';
    expect(unlistedLayerModules(loader, fn([]), layers)).toEqual([{ module: '@confluentinc/kafka-javascript', layer: 'kafka-layer' }]);
    expect(unlistedLayerModules(loader, fn(['kafka-layer']), layers)).toEqual([]);
    // Any quotes, a path inside the module, several layers.
    const more = "r('@confluentinc/kafka-javascript/lib/kafkajs');r(`other-native`);r(\"other-native\")";
    expect(unlistedLayerModules(more, fn([]), layers)).toEqual([
      { module: '@confluentinc/kafka-javascript/lib/kafkajs', layer: 'kafka-layer' },
      { module: 'other-native', layer: 'other-layer' },
    ]);
    expect(unlistedLayerModules(more, fn(['other-layer']), layers)).toEqual([{ module: '@confluentinc/kafka-javascript/lib/kafkajs', layer: 'kafka-layer' }]);
    // A message that mentions it, another package whose name starts with it, a name in a comment: none loads it.
    const mentions = 'throw Error("install @confluentinc/kafka-javascript first");r("@confluentinc/kafka-javascript-extra");// @confluentinc/kafka-javascript';
    expect(unlistedLayerModules(mentions, fn([]), layers)).toEqual([]);
  });

  it('is satisfied by any listed layer that provides the module', () => {
    const twice = [...layers, layer('kafka-layer-2', ['@confluentinc/kafka-javascript'])];
    expect(unlistedLayerModules('r("@confluentinc/kafka-javascript")', fn(['kafka-layer-2']), twice)).toEqual([]);
  });

  /**
   * A workspace of one function whose handler produces through @laminar/kafka (its loader
   * requires the client through createRequire), with this repository's layers and packages.
   */
  function kafkaUser(spec: Partial<FunctionSpecInput>): LoadedSpec {
    const ws = mkdtempSync(join(scratch, 'ws-'));
    writeFileSync(join(ws, 'pnpm-workspace.yaml'), 'packages:\n  - functions/*\n');
    symlinkSync(join(repo, 'layers'), join(ws, 'layers'), 'dir');
    // The layer spec is imported through that link, and its tsconfig extends ../../tsconfig.base.json.
    symlinkSync(join(repo, 'tsconfig.base.json'), join(ws, 'tsconfig.base.json'));
    mkdirSync(join(ws, 'node_modules', '@laminar'), { recursive: true });
    symlinkSync(join(repo, 'packages', 'kafka'), join(ws, 'node_modules', '@laminar', 'kafka'), 'dir');
    const dir = join(ws, 'functions', 'kafka-user');
    mkdirSync(join(dir, 'src'), { recursive: true });
    writeFileSync(join(dir, 'src', 'handler.ts'), "import { loadKafkaClient } from '@laminar/kafka';\n\nexport const handler = async () => typeof loadKafkaClient().Producer;\n");
    const loaded = defineFunction({ name: 'kafka-user', entry: './src/handler.ts', memoryMb: 256, timeoutS: 60, triggers: [{ kind: 'invoke' }], ...spec });
    return { spec: loaded, dir, ...artifactPaths(dir, loaded.name) };
  }

  it("fails the build of a function that uses @laminar/kafka's producer without the Kafka layer, naming function, module and layer", async () => {
    const loaded = kafkaUser({});
    await expect(bundleFunction(loaded)).rejects.toThrow(
      "function kafka-user: its bundle loads @confluentinc/kafka-javascript (from layer kafka-layer), but its spec does not list that layer: on Lambda the require fails with MODULE_NOT_FOUND. Add 'kafka-layer' to layers in spec.ts",
    );
    expect(existsSync(loaded.zipPath)).toBe(false);
  });

  it('builds it with the layer, the client left for the layer to provide', async () => {
    const built = await bundleFunction(kafkaUser({ runtime: 'nodejs22.x', architecture: 'x86_64', layers: ['kafka-layer'] }));
    expect(built.external).toEqual(['@confluentinc/kafka-javascript']);
    const code = execFileSync('unzip', ['-p', built.zipPath, 'index.mjs'], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    expect(code).toContain('"@confluentinc/kafka-javascript"');
  });
});
