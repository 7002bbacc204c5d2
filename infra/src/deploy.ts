import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { appendFileSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { assertStage } from './naming.ts';
import { sourceCodeHash } from '@laminar/bundler';
import { isEntryPoint } from './entry-point.ts';

/**
 * `pnpm --filter @laminar/infra run diff|deploy` for one stage (LAMINAR_STAGE): what `cdktf diff`
 * and `cdktf deploy` do — terraform init, plan, apply — on the stack `pnpm synth` wrote, without
 * the cdktf CLI (archived upstream, ~400 MB, and ~10× slower to start than running the app with tsx).
 *
 * diff: init against the stage's S3 backend, `plan -out=tfplan` (a lock held by another run is
 * waited for), the plan as text in plan.txt, the plan file's SHA-256 in tfplan.sha256, both in the
 * GitHub job summary, and `changes` / `plan_sha256` as step outputs when GITHUB_OUTPUT is set.
 *
 * deploy: applies that saved plan file, nothing else, possibly in another job (deploy-stage.yml
 * applies only after the stage's reviewers have read the plan). With LAMINAR_PLAN_SHA256 it refuses
 * a plan file with another hash; in CI that hash is required, since the workflow must pass the one
 * the plan job published. It refuses as well a function or layer zip whose bytes are not the ones
 * the plan's source_code_hash names: the provider uploads whatever file is at that path at apply
 * time. Terraform itself refuses a plan whose state has changed since (a stale plan): plan again.
 */
const STACKS = fileURLToPath(new URL('../cdktf.out/stacks/', import.meta.url));

function terraform(dir: string, args: string[], capture = false): { status: number; stdout: string } {
  const r = spawnSync('terraform', args, {
    cwd: dir,
    stdio: capture ? ['ignore', 'pipe', 'inherit'] : 'inherit',
    encoding: 'utf8',
    // `show -json` of a large plan exceeds spawnSync's 1 MB default.
    maxBuffer: 256 * 1024 * 1024,
    env: { ...process.env, TF_IN_AUTOMATION: '1', TF_INPUT: '0', CHECKPOINT_DISABLE: '1' },
  });
  if (r.error) throw new Error(`terraform ${args[0]}: ${r.error.message} (is terraform 1.11 on PATH?)`);
  return { status: r.status ?? 1, stdout: r.stdout ?? '' };
}

/** Hex SHA-256 of a file, as `sha256sum` prints it. */
export function sha256Hex(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

/**
 * Refuses a plan file whose hash is not the expected one (hex, any case, surrounding blanks ignored);
 * returns the hash.
 */
export function assertPlanHash(planFile: string, expected: string): string {
  const want = expected.trim().toLowerCase();
  if (!/^[0-9a-f]{64}$/.test(want)) throw new Error(`LAMINAR_PLAN_SHA256 is not a hex SHA-256: "${expected}"`);
  const actual = sha256Hex(planFile);
  if (actual !== want) {
    throw new Error(`${planFile} has SHA-256 ${actual}, not ${want} (the plan that was published for review): plan again`);
  }
  return actual;
}

interface PlanJson {
  resource_changes?: { address?: string; change?: { after?: Record<string, unknown> | null } }[];
}

/**
 * Every resource of the plan (`terraform show -json`) that uploads a local file — a function's or a
 * layer's zip: `filename` and `source_code_hash` — whose file at `dir`-relative `filename` is missing
 * or does not hash to what the plan says. Returns the problems and how many files were checked.
 */
export function zipMismatches(plan: PlanJson, dir: string): { problems: string[]; checked: number } {
  const problems: string[] = [];
  let checked = 0;
  for (const rc of plan.resource_changes ?? []) {
    const after = rc.change?.after;
    const filename = after?.filename;
    const planned = after?.source_code_hash;
    if (typeof filename !== 'string' || typeof planned !== 'string') continue;
    checked++;
    const path = resolve(dir, filename);
    const shown = relative(process.cwd(), path) || path;
    if (!existsSync(path)) {
      problems.push(`${rc.address}: ${shown} is missing`);
      continue;
    }
    const actual = sourceCodeHash(readFileSync(path));
    if (actual !== planned) problems.push(`${rc.address}: ${shown} has SHA-256 ${actual}, the plan says ${planned}`);
  }
  return { problems, checked };
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
  const planHash = join(dir, 'tfplan.sha256');

  if (verb === 'diff') {
    for (const f of [plan, planHash, join(dir, 'plan.txt')]) rmSync(f, { force: true });
    if (terraform(dir, ['init', '-input=false', '-no-color']).status !== 0) return 1;
    // 0 = no changes, 2 = changes: both are a successful diff.
    const planned = terraform(dir, ['plan', '-input=false', '-lock-timeout=10m', '-no-color', '-detailed-exitcode', `-out=${plan}`]);
    if (planned.status === 1) return 1;
    const text = terraform(dir, ['show', '-no-color', plan], true).stdout;
    writeFileSync(join(dir, 'plan.txt'), text);
    const sha = sha256Hex(plan);
    writeFileSync(planHash, `${sha}  tfplan\n`);
    const changes = planned.status === 2;
    const summary = process.env.GITHUB_STEP_SUMMARY;
    if (summary) {
      const headline = text.split('\n').find((l) => /^Plan: |^No changes\./.test(l)) ?? (changes ? 'changes' : 'No changes.');
      appendFileSync(
        summary,
        `### laminar-${stage}: ${headline}\n\nPlan file SHA-256 \`${sha}\`: the apply applies this file, or fails.\n\n` +
          `<details><summary>plan</summary>\n\n\`\`\`\n${text.slice(0, 60_000)}\n\`\`\`\n</details>\n`,
      );
    }
    const outputs = process.env.GITHUB_OUTPUT;
    if (outputs) appendFileSync(outputs, `changes=${changes}\nplan_sha256=${sha}\n`);
    console.log(`diff: laminar-${stage} ${changes ? 'has changes' : 'has no changes'}; plan saved to ${plan} (SHA-256 ${sha})`);
    return 0;
  }

  if (!existsSync(plan)) throw new Error(`no saved plan in ${dir}: run diff first (deploy applies exactly the plan diff showed)`);
  const expected = process.env.LAMINAR_PLAN_SHA256 ?? '';
  if (!expected.trim() && process.env.CI) throw new Error('LAMINAR_PLAN_SHA256 is unset: CI applies only the plan whose hash the plan job published');
  const sha = expected.trim() ? assertPlanHash(plan, expected) : sha256Hex(plan);
  // A job that only downloaded the plan has no .terraform yet. The lock file came with the plan:
  // readonly, so init installs exactly the providers the plan was made with or fails.
  if (terraform(dir, ['init', '-input=false', '-no-color', '-lockfile=readonly']).status !== 0) return 1;
  const shown = terraform(dir, ['show', '-json', plan], true);
  if (shown.status !== 0) return 1;
  const { problems, checked } = zipMismatches(JSON.parse(shown.stdout) as PlanJson, dir);
  if (problems.length > 0) throw new Error(`the zips on disk are not the ones planned:\n  ${problems.join('\n  ')}`);
  console.log(`deploy: plan ${sha}; ${checked} zip(s) match the plan's source_code_hash`);
  return terraform(dir, ['apply', '-input=false', '-lock-timeout=10m', '-no-color', plan]).status;
}

// Run only as the entry point: the tests import the checks above.
if (isEntryPoint(import.meta.url)) {
  try {
    process.exit(main(process.argv[2]));
  } catch (err) {
    console.error(`deploy: ${(err as Error).message}`);
    process.exit(2);
  }
}
