import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { byCodePoint } from '@laminar/spec';
import { synthBootstrap } from './bootstrap-main.ts';
import { OUTDIR } from './main.ts';
import { checkStack, formatBreaches, type TerraformJson } from './policy-checks.ts';
import { isEntryPoint } from './entry-point.ts';

export interface SynthesizedStack {
  name: string;
  dir: string;
}

/** The stacks an app's manifest lists (not a directory listing: stale stacks stay on disk). */
export function manifestStacks(outdir: string): SynthesizedStack[] {
  const file = join(outdir, 'manifest.json');
  if (!existsSync(file)) return [];
  const manifest = JSON.parse(readFileSync(file, 'utf8')) as { stacks: Record<string, { workingDirectory: string }> };
  return Object.entries(manifest.stacks)
    .map(([name, s]) => ({ name, dir: join(outdir, s.workingDirectory) }))
    .sort((a, b) => byCodePoint(a.name, b.name));
}

/** Runs the policy suite over synthesized stacks; prints one line per stack and every breach. */
export function checkStacks(stacks: readonly SynthesizedStack[], log: (line: string) => void = console.log): number {
  let breaches = 0;
  for (const s of stacks) {
    const json = JSON.parse(readFileSync(join(s.dir, 'cdk.tf.json'), 'utf8')) as TerraformJson;
    const found = checkStack(json);
    breaches += found.length;
    log(`policy: ${formatBreaches(s.name, found)}`);
  }
  return breaches;
}

/**
 * `pnpm --filter @laminar/infra policy`: the policy suite over the stage stacks in infra/cdktf.out
 * (run `pnpm synth` first) and the bootstrap stack (synthesized here: it needs no builds).
 */
if (isEntryPoint(import.meta.url)) {
  try {
    const stages = manifestStacks(OUTDIR);
    if (stages.length === 0) throw new Error('no synthesized stage stacks in infra/cdktf.out: run `pnpm synth` first');
    const bootstrap = synthBootstrap();
    const breaches = checkStacks([...stages, ...manifestStacks(bootstrap.outdir)]);
    process.exit(breaches === 0 ? 0 : 1);
  } catch (err) {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  }
}
