import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { synth } from './main.ts';
import { terraformPrerequisites, validateStackDir, writeCliConfig } from './terraform.ts';

/**
 * `pnpm validate`: synthesize, then `terraform init -backend=false` + `terraform validate` every
 * stack against the offline provider mirror. Without the mirror it skips, except in CI where a
 * skipped check would read as a passed one.
 */
async function main(): Promise<number> {
  const { outdir } = await synth();
  const pre = terraformPrerequisites();
  if (!pre.ok) {
    if (process.env.CI) {
      console.error(`validate: ${pre.reason}; CI is set, so this is a failure`);
      return 1;
    }
    console.log(`validate: skipped, ${pre.reason} (set CI=1 to make this fail)`);
    return 0;
  }
  const cliConfig = writeCliConfig(fileURLToPath(new URL('../.tmp/terraform-cli', import.meta.url)));
  // The manifest, not a directory listing: stale stacks from an earlier LAMINAR_STAGE stay on disk.
  const manifest = JSON.parse(readFileSync(join(outdir, 'manifest.json'), 'utf8')) as {
    stacks: Record<string, { workingDirectory: string }>;
  };
  const results = await Promise.all(
    Object.entries(manifest.stacks).map(async ([name, stack]) => {
      const started = performance.now();
      const result = await validateStackDir(join(outdir, stack.workingDirectory), cliConfig);
      return { name, ms: Math.round(performance.now() - started), ...result };
    }),
  );
  let failed = 0;
  for (const r of results) {
    if (r.ok) {
      console.log(`validate: ${r.name} valid (${r.ms} ms)`);
    } else {
      failed++;
      console.error(`validate: ${r.name} INVALID\n${r.output}`);
    }
  }
  return failed === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  },
);
