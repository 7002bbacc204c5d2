import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { prepareTaskRoot } from '../../src/task-root.ts';
import { tempRoot, zipBuffer } from './fixtures.ts';

const root = tempRoot();
afterAll(() => root.remove());

describe('task roots', () => {
  it('unzips once per build into <name>-<hash prefix> and reuses it', async () => {
    const zip = join(root.dir, 'fn.zip');
    writeFileSync(zip, await zipBuffer({ 'index.mjs': 'export const handler = () => 1;', 'lib/data.json': '{"a":1}' }));
    const envs = join(root.dir, 'envs');
    const first = await prepareTaskRoot(envs, 'fn', zip);
    expect(first.dir).toBe(join(envs, `fn-${first.sha256.slice(0, 12)}`));
    expect(readFileSync(join(first.dir, 'lib', 'data.json'), 'utf8')).toBe('{"a":1}');
    expect(statSync(join(first.dir, 'index.mjs')).mode & 0o777).toBe(0o644);
    const again = await prepareTaskRoot(envs, 'fn', zip);
    expect(again.dir).toBe(first.dir);
  });

  it('keeps the three latest builds of a function', async () => {
    const envs = join(root.dir, 'pruned');
    const dirs: string[] = [];
    // Builds a second apart (set, not waited for): a file system's coarse timestamps tie nothing.
    const t0 = Math.floor(Date.now() / 1000) - 100;
    for (let i = 0; i < 5; i++) {
      const zip = join(root.dir, `v${i}.zip`);
      writeFileSync(zip, await zipBuffer({ 'index.mjs': `export const handler = () => ${i};` }));
      const { dir } = await prepareTaskRoot(envs, 'fn', zip);
      utimesSync(dir, t0 + i, t0 + i);
      dirs.push(dir);
    }
    const other = join(root.dir, 'other.zip');
    writeFileSync(other, await zipBuffer({ 'index.mjs': 'export const handler = () => "other";' }));
    await prepareTaskRoot(envs, 'fn-two', other);
    const left = readdirSync(envs).sort();
    expect(left.filter((d) => /^fn-[0-9a-f]{12}$/.test(d)).sort()).toEqual(dirs.slice(2).map((d) => d.split('/').pop()).sort());
    expect(left.some((d) => d.startsWith('fn-two-'))).toBe(true);
  });

  it("points the bundle's source map at the function's folder, so that a stack frame names a file that exists", async () => {
    // As the bundler writes them: sources relative to the function's folder, no sourceRoot.
    const map = { version: 3, sources: ['src/handler.ts', '../../packages/runtime/src/errors.ts'], names: [], mappings: 'AAAA,uBAAsB' };
    const zip = join(root.dir, 'mapped.zip');
    const bundle = "export function handler() { throw new Error('boom'); }\n//# sourceMappingURL=index.mjs.map\n";
    writeFileSync(zip, await zipBuffer({ 'index.mjs': bundle, 'index.mjs.map': JSON.stringify(map) }));
    const fnDir = join(root.dir, 'repo', 'functions', 'mapped');
    const { dir } = await prepareTaskRoot(join(root.dir, 'mapped-envs'), 'mapped', zip, fnDir);
    const script = `import(${JSON.stringify(join(dir, 'index.mjs'))}).then((m) => { try { m.handler(); } catch (e) { console.log(e.stack); } });`;
    const stack = execFileSync(process.execPath, ['--enable-source-maps', '-e', script], { encoding: 'utf8' });
    expect(stack).toContain(`(${join(fnDir, 'src', 'handler.ts')}:1:23)`);
    // The zip's own map is as built; only the local copy knows this checkout.
    expect(JSON.parse(readFileSync(join(dir, 'index.mjs.map'), 'utf8'))).toEqual({ ...map, sourceRoot: `file://${fnDir}/` });
    // Prepared again (the folder reused), it is left as it is.
    expect((await prepareTaskRoot(join(root.dir, 'mapped-envs'), 'mapped', zip, fnDir)).dir).toBe(dir);
  });

  it('leaves a source map it cannot read as it is, and the function runs', async () => {
    const zip = join(root.dir, 'bad-map.zip');
    writeFileSync(zip, await zipBuffer({ 'index.mjs': 'export const handler = () => 1;\n//# sourceMappingURL=index.mjs.map\n', 'index.mjs.map': '{not json' }));
    const { dir } = await prepareTaskRoot(join(root.dir, 'bad-map-envs'), 'bad-map', zip, join(root.dir, 'repo', 'functions', 'bad-map'));
    expect(readFileSync(join(dir, 'index.mjs.map'), 'utf8')).toBe('{not json');
    const ran = execFileSync(process.execPath, ['--enable-source-maps', '-e', `import(${JSON.stringify(join(dir, 'index.mjs'))}).then((m) => console.log(m.handler()))`], { encoding: 'utf8' });
    expect(ran.trim()).toBe('1');
  });
});
