import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleFunction } from '@laminar/bundler';
import { loadSpec } from '@laminar/spec';
import { afterAll, describe, expect, it } from 'vitest';

const fnDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const scratch = mkdtempSync(join(tmpdir(), 'laminar-build-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('store-inventory build', () => {
  it('gives byte-identical zips from two clean builds', async () => {
    const loaded = await loadSpec(fnDir);
    const a = await bundleFunction(loaded, { outDir: join(scratch, 'a') });
    const b = await bundleFunction(loaded, { outDir: join(scratch, 'b') });
    expect(readFileSync(a.zipPath).equals(readFileSync(b.zipPath))).toBe(true);
    expect(a.external).toEqual([]);
  });
});
