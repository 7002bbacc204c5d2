import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Where the hashicorp/aws provider is mirrored on these machines (no registry access). */
export const DEFAULT_MIRROR = '/opt/tf-plugins';

export function pluginMirror(env: NodeJS.ProcessEnv = process.env): string {
  return env.LAMINAR_TF_PLUGIN_MIRROR || DEFAULT_MIRROR;
}

export type Prerequisite = { ok: true } | { ok: false; reason: string };

/** Terraform validation needs the binary and the offline provider mirror; both are machine facts. */
export function terraformPrerequisites(mirror = pluginMirror()): Prerequisite {
  const version = spawnSync('terraform', ['version'], { encoding: 'utf8', env: tfEnv() });
  if (version.error || version.status !== 0) return { ok: false, reason: 'terraform is not on PATH' };
  if (!existsSync(mirror)) return { ok: false, reason: `the provider mirror ${mirror} does not exist` };
  return { ok: true };
}

/**
 * Writes a CLI config that installs providers only from the mirror. Always our own file: the
 * environment's TF_CLI_CONFIG_FILE may name a file that does not exist, or one that allows the registry.
 */
export function writeCliConfig(dir: string, mirror = pluginMirror()): string {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'mirror.tfrc');
  writeFileSync(file, `provider_installation {\n  filesystem_mirror {\n    path = ${JSON.stringify(mirror)}\n  }\n}\n`);
  return file;
}

function tfEnv(cliConfig?: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    CHECKPOINT_DISABLE: '1',
    TF_IN_AUTOMATION: '1',
    TF_INPUT: '0',
    ...(cliConfig ? { TF_CLI_CONFIG_FILE: cliConfig } : {}),
  };
}

export interface ValidateResult {
  ok: boolean;
  /** Combined output of the failing step, or validate's JSON on success. */
  output: string;
}

function run(args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('terraform', args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out, err }));
  });
}

/**
 * `init -backend=false`: the S3 backend would otherwise look for AWS credentials; validate does
 * not need state. Providers are symlinked from the mirror, so init is cheap. Async so several
 * stacks validate in parallel (each run is mostly the provider loading its schema).
 */
export async function validateStackDir(stackDir: string, cliConfig: string): Promise<ValidateResult> {
  const env = tfEnv(cliConfig);
  const init = await run(['init', '-backend=false', '-input=false', '-no-color'], stackDir, env);
  if (init.code !== 0) return { ok: false, output: `terraform init failed:\n${init.out}${init.err}` };
  const validate = await run(['validate', '-no-color', '-json'], stackDir, env);
  let diagnostics: { valid?: boolean } = {};
  try {
    diagnostics = JSON.parse(validate.out) as typeof diagnostics;
  } catch {
    // Non-JSON output means terraform failed before validating; report it as is.
  }
  const ok = validate.code === 0 && diagnostics.valid === true;
  return { ok, output: ok ? validate.out : `terraform validate failed:\n${validate.out}${validate.err}` };
}
