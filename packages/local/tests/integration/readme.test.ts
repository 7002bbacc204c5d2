import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadAllSpecs, withFunctionsTable } from '@laminar/spec';
import { describe, expect, it } from 'vitest';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');

describe('README', () => {
  it('lists the functions exactly as their specs describe them (pnpm readme rewrites it)', async () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const specs = (await loadAllSpecs(root)).map((l) => l.spec);
    expect(specs.length).toBeGreaterThan(0);
    expect(withFunctionsTable(readme, specs), 'README.md function table is stale: run pnpm readme').toBe(readme);
  });
});
