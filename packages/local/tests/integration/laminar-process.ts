import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../../bin/laminar.js', import.meta.url));

export interface LaminarRun {
  code: number | null;
  /** Set when the run was killed for going over its time (code is then null). */
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs the `laminar` CLI as a person would in `cwd`: none of this process's LAMINAR_* settings or
 * endpoint overrides, no INIT_CWD (pnpm sets it for the scripts it runs, vitest included). A run
 * over `timeoutMs` is killed, so a hung one fails its test with its output instead of running on
 * after the test has timed out. `interruptWhen` sends SIGINT (Ctrl-C) once stdout first satisfies it.
 */
export function runLaminar(
  args: string[],
  options: { cwd: string; env?: Record<string, string>; timeoutMs?: number; interruptWhen?: (stdout: string) => boolean },
): Promise<LaminarRun> {
  const env = { ...process.env };
  delete env.INIT_CWD;
  for (const k of Object.keys(env)) if (k.startsWith('LAMINAR_') || k.startsWith('AWS_ENDPOINT_URL') || k === 'KAFKA_BOOTSTRAP_SERVERS') delete env[k];
  Object.assign(env, options.env);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: options.cwd,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: options.timeoutMs ?? 55_000,
      killSignal: 'SIGKILL',
    });
    let stdout = '';
    let stderr = '';
    let interrupted = false;
    child.stdout.on('data', (d: Buffer) => {
      stdout += d;
      // Ctrl-C, once, when the output first shows what the test waits for.
      if (!interrupted && options.interruptWhen?.(stdout)) {
        interrupted = true;
        child.kill('SIGINT');
      }
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}
