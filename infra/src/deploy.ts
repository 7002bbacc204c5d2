import { spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { assertStage } from './naming.ts';

/**
 * `pnpm --filter @laminar/infra run diff|deploy` for one stage (LAMINAR_STAGE): what `cdktf diff`
 * and `cdktf deploy` do — terraform init, plan, apply — on the stack `pnpm synth` wrote, without
 * the cdktf CLI (archived upstream, ~400 MB, and ~10× slower to start than running the app with tsx).
 *
 * diff: init against the stage's S3 backend, `plan -out=tfplan` (a lock held by another run is
 * waited for), the plan as text in plan.txt and in the GitHub job summary.
 * deploy: applies exactly that saved plan, so what was reviewed is what changes.
 */
const STACKS = fileURLToPath(new URL('../cdktf.out/stacks/', import.meta.url));

function terraform(dir: string, args: string[], capture = false): { status: number; stdout: string } {
  const r = spawnSync('terraform', args, {
    cwd: dir,
    stdio: capture ? ['ignore', 'pipe', 'inherit'] : 'inherit',
    encoding: 'utf8',
    env: { ...process.env, TF_IN_AUTOMATION: '1', TF_INPUT: '0', CHECKPOINT_DISABLE: '1' },
  });
  if (r.error) throw new Error(`terraform ${args[0]}: ${r.error.message} (is terraform 1.11 on PATH?)`);
  return { status: r.status ?? 1, stdout: r.stdout ?? '' };
}

function main(verb: string | undefined): number {
  if (verb !== 'diff' && verb !== 'deploy') throw new Error('usage: deploy.ts diff|deploy (stage from LAMINAR_STAGE)');
  const stage = assertStage((process.env.LAMINAR_STAGE ?? '').trim());
  const dir = join(STACKS, `laminar-${stage}`);
  const stackFile = join(dir, 'cdk.tf.json');
  if (!existsSync(stackFile)) throw new Error(`${stackFile} is missing: run pnpm synth with LAMINAR_STAGE=${stage} first`);
  const stack = JSON.parse(readFileSync(stackFile, 'utf8')) as { terraform?: { backend?: Record<string, unknown> } };
  if (!stack.terraform?.backend?.s3 && process.env.CI) {
    throw new Error(`laminar-${stage} has no S3 backend (LAMINAR_STATE_BUCKET unset): CI would deploy with state that vanishes with the runner`);
  }
  const plan = join(dir, 'tfplan');

  if (verb === 'diff') {
    rmSync(plan, { force: true });
    if (terraform(dir, ['init', '-input=false', '-no-color']).status !== 0) return 1;
    // 0 = no changes, 2 = changes: both are a successful diff.
    const planned = terraform(dir, ['plan', '-input=false', '-lock-timeout=10m', '-no-color', '-detailed-exitcode', `-out=${plan}`]);
    if (planned.status === 1) return 1;
    const text = terraform(dir, ['show', '-no-color', plan], true).stdout;
    writeFileSync(join(dir, 'plan.txt'), text);
    const summary = process.env.GITHUB_STEP_SUMMARY;
    if (summary) {
      const changes = text.split('\n').find((l) => /^Plan: |^No changes\./.test(l)) ?? (planned.status === 0 ? 'No changes.' : 'changes');
      appendFileSync(summary, `### laminar-${stage}: ${changes}\n\n<details><summary>plan</summary>\n\n\`\`\`\n${text.slice(0, 60_000)}\n\`\`\`\n</details>\n`);
    }
    console.log(`diff: laminar-${stage} ${planned.status === 0 ? 'has no changes' : 'has changes'}; plan saved to ${plan}`);
    return 0;
  }

  if (!existsSync(plan)) throw new Error(`no saved plan in ${dir}: run diff first (deploy applies exactly the plan diff showed)`);
  return terraform(dir, ['apply', '-input=false', '-lock-timeout=10m', '-no-color', plan]).status;
}

try {
  process.exit(main(process.argv[2]));
} catch (err) {
  console.error(`deploy: ${(err as Error).message}`);
  process.exit(2);
}
