import { fileURLToPath } from 'node:url';
import { buildBootstrapApp, bootstrapSettingsFromEnv } from './bootstrap.ts';
import { isEntryPoint } from './entry-point.ts';

/** infra/cdktf.out/bootstrap: inside the ignored cdktf.out, apart from the stage app's manifest. */
export const BOOTSTRAP_OUTDIR = fileURLToPath(new URL('../cdktf.out/bootstrap', import.meta.url));

/** `pnpm --filter @laminar/infra synth:bootstrap`: needs no function builds. */
export function synthBootstrap(env: NodeJS.ProcessEnv = process.env): { outdir: string; stack: string } {
  const { app, stack } = buildBootstrapApp({ ...bootstrapSettingsFromEnv(env), outdir: BOOTSTRAP_OUTDIR });
  app.synth();
  return { outdir: BOOTSTRAP_OUTDIR, stack: stack.node.id };
}

if (isEntryPoint(import.meta.url)) {
  try {
    const { stack } = synthBootstrap();
    console.log(`synthesized ${stack} into infra/cdktf.out/bootstrap/stacks/${stack}`);
  } catch (err) {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  }
}
