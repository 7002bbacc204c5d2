import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadSpec } from '@laminar/spec';
import { build } from 'esbuild';
import { afterAll, describe, expect, it } from 'vitest';
import { bundleFunction, esmImportsOf } from '../../src/index.ts';

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
