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
});
