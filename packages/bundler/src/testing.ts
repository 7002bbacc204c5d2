import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type LoadedSpec, loadSpec } from '@laminar/spec';
import { bundleFunction } from './index.ts';

/**
 * For a function's build test (`functions/<name>/tests/unit/*.test.ts`): two clean builds of that
 * function into a scratch folder, which is removed when the test process exits.
 */
export async function buildTwice(testFile: string | URL) {
  const fnDir = join(dirname(fileURLToPath(testFile)), '..', '..');
  const scratch = mkdtempSync(join(tmpdir(), 'laminar-build-'));
  process.once('exit', () => rmSync(scratch, { recursive: true, force: true }));
  const loaded: LoadedSpec = await loadSpec(fnDir);
  const a = await bundleFunction(loaded, { outDir: join(scratch, 'a') });
  const b = await bundleFunction(loaded, { outDir: join(scratch, 'b') });
  return { loaded, a, b };
}
