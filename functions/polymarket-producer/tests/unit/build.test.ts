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

describe('polymarket-producer build', () => {
  it('gives byte-identical zips and keeps the layer-provided Kafka client out of the bundle', async () => {
    const loaded = await loadSpec(fnDir);
    const a = await bundleFunction(loaded, { outDir: join(scratch, 'a') });
    const b = await bundleFunction(loaded, { outDir: join(scratch, 'b') });
    expect(readFileSync(a.zipPath).equals(readFileSync(b.zipPath))).toBe(true);
    expect(a.external).toEqual(['@confluentinc/kafka-javascript']);
    // librdkafka's binding is loaded from the layer at run time, never bundled.
    expect(a.topInputs.some((i) => i.path.includes('kafka-javascript'))).toBe(false);
  });
});
