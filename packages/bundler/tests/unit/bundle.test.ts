import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadSpec } from '@laminar/spec';
import { afterAll, describe, expect, it } from 'vitest';
import { bundleFunction } from '../../src/index.ts';

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

  it('is rebuilt by turbo when a layer spec changes, as it reads them to choose its externals', () => {
    const turbo = JSON.parse(readFileSync(join(repo, 'turbo.json'), 'utf8')) as { tasks: { build: { inputs: string[] } } };
    expect(turbo.tasks.build.inputs).toContain('$TURBO_ROOT$/layers/*/layer.ts');
  });
});
