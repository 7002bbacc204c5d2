import { relative } from 'node:path';
import { loadSpec } from '@laminar/spec';
import { bundleFunction } from './bundle.ts';

const dir = process.argv[2] ?? process.cwd();
try {
  const started = performance.now();
  const result = await bundleFunction(await loadSpec(dir));
  const kb = (n: number) => `${(n / 1024).toFixed(1)} KiB`;
  console.log(
    `${result.name}: ${relative(process.cwd(), result.zipPath)} ${kb(result.zipBytes)} (index.mjs ${kb(result.bundleBytes)}) ` +
      `sha256=${result.sourceCodeHash} in ${Math.round(performance.now() - started)} ms` +
      (result.external.length ? `; external: ${result.external.join(', ')}` : ''),
  );
} catch (err) {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
}
