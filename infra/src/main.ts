import { fileURLToPath } from 'node:url';
import { findRoot, loadAllLayers, loadAllQueues, loadAllSpecs } from '@laminar/spec';
import { buildApp } from './app.ts';
import { checkUnzippedSizes } from './artifacts.ts';
import { settingsFromEnv } from './config.ts';
import { isEntryPoint } from './entry-point.ts';

/** infra/cdktf.out, wherever the command is started from. */
export const OUTDIR = fileURLToPath(new URL('../cdktf.out', import.meta.url));

export async function synth(): Promise<{ outdir: string; stacks: string[] }> {
  const settings = settingsFromEnv();
  const root = findRoot(fileURLToPath(new URL('.', import.meta.url)));
  const [specs, layers, queues] = await Promise.all([loadAllSpecs(root), loadAllLayers(root), loadAllQueues(root)]);
  await checkUnzippedSizes(specs, layers);
  const { app, stacks } = buildApp({ ...settings, specs, layers, queues, outdir: OUTDIR });
  app.synth();
  return { outdir: OUTDIR, stacks: stacks.map((s) => s.node.id) };
}

// Run only as the entry point: validate.ts imports synth() from here.
if (isEntryPoint(import.meta.url)) {
  const started = performance.now();
  synth().then(
    ({ stacks }) => {
      const ms = Math.round(performance.now() - started);
      console.log(`synthesized ${stacks.join(', ')} into infra/cdktf.out in ${ms} ms`);
    },
    (err: unknown) => {
      console.error(err instanceof Error ? err.message : err);
      process.exit(1);
    },
  );
}
