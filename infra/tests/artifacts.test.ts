import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { deterministicZip, PackageTooLargeError } from '@laminar/bundler';
import { defineFunction, type LoadedLayer, type LoadedSpec } from '@laminar/spec';
import { describe, expect, it } from 'vitest';
import { checkUnzippedSizes } from '../src/artifacts.ts';
import { TEST_TMP } from './paths.ts';

const consumer = defineFunction({ name: 'consumer', memoryMb: 256, timeoutS: 30, layers: ['big-layer'], triggers: [{ kind: 'invoke' }] });
const plain = defineFunction({ name: 'plain', memoryMb: 256, timeoutS: 30, triggers: [{ kind: 'invoke' }] });

async function zipOf(dir: string, name: string, bytes: number): Promise<string> {
  const path = join(dir, `${name}.zip`);
  // Zeros compress to nearly nothing: the sizes checked are the unzipped ones.
  writeFileSync(path, await deterministicZip([{ name: 'index.mjs', data: Buffer.alloc(bytes) }, { name: 'README', data: Buffer.from('x') }]));
  return path;
}

describe('checkUnzippedSizes', () => {
  it('refuses a function whose code and layers together unzip past the limit, naming each part', async () => {
    mkdirSync(TEST_TMP, { recursive: true });
    const dir = mkdtempSync(join(TEST_TMP, 'artifacts-'));
    const spec = (s: typeof consumer, bytes: number) =>
      zipOf(dir, s.name, bytes).then((zipPath): LoadedSpec => ({ spec: s, dir, zipPath, hashPath: `${zipPath}.sha256` }) as LoadedSpec);
    const layer: LoadedLayer = {
      spec: { name: 'big-layer' } as LoadedLayer['spec'],
      dir,
      zipPath: await zipOf(dir, 'big-layer', 600_000),
      hashPath: '',
    };
    const specs = [await spec(consumer, 500_000), await spec(plain, 2_000_000)];

    // 500,001 + 600,001 bytes: within 1.2 MB, past 1 MB. `plain` (no layers) is the bundler's to check.
    await expect(checkUnzippedSizes(specs, [layer], 1_200_000)).resolves.toBeUndefined();
    const refused = checkUnzippedSizes(specs, [layer], 1_000_000);
    await expect(refused).rejects.toThrow(PackageTooLargeError);
    await expect(refused).rejects.toThrow('function consumer with its layers unzips to 1100002 bytes = 1.0 MiB (its code 0.5 MiB, layer big-layer 0.6 MiB); Lambda takes at most 1000000 bytes = 1.0 MiB');
  });

  it('leaves a zip not built yet to readArtifact, which says how to build it', async () => {
    const dir = mkdtempSync(join(TEST_TMP, 'artifacts-'));
    const specs = [{ spec: consumer, dir, zipPath: join(dir, 'missing.zip'), hashPath: '' } as LoadedSpec];
    const layer = { spec: { name: 'big-layer' }, dir, zipPath: await zipOf(dir, 'big-layer', 10), hashPath: '' } as LoadedLayer;
    await expect(checkUnzippedSizes(specs, [layer], 1)).resolves.toBeUndefined();
  });
});
