import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { findRoot } from '@laminar/spec';
import { type Command, UsageError } from './args.ts';
import { UnknownFunctionError } from './invoker.ts';
import { prefixedOutput } from './output.ts';
import { type Local, MissingBuildError, resolveS3Target, startLocal } from './runner.ts';
import { scenarios as allScenarios, type Scenario } from './scenarios/index.ts';

export interface Io {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  /** Where the user ran the command (pnpm runs root scripts from the root, but keeps INIT_CWD). */
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** Resolves when the user asks to stop (Ctrl-C). */
  interrupted: Promise<void>;
  /** Registers cleanup to run on Ctrl-C. */
  onInterrupt(cleanup: () => Promise<void>): void;
  readStdin(): Promise<string>;
}

/** Exit codes: 0 ok, 1 the invocation or a scenario failed, 2 the command could not run. */
export async function runCommand(cmd: Command, io: Io): Promise<number> {
  if (cmd.command === 'invoke') return invokeCommand(cmd, io);
  if (cmd.command === 'dev') return devCommand(cmd, io);
  return 0;
}

async function readEvent(file: string | undefined, io: Io): Promise<unknown> {
  if (file === undefined) return {};
  const [text, where] =
    file === '-'
      ? [await io.readStdin(), 'stdin']
      : (() => {
          const path = resolve(io.cwd, file);
          if (!existsSync(path)) throw new UsageError(`event file not found: ${path} (given "${file}", relative to ${io.cwd})`);
          return [readFileSync(path, 'utf8'), path] as const;
        })();
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new UsageError(`the event in ${where} is not valid JSON: ${(err as Error).message}`);
  }
}

async function invokeCommand(cmd: Extract<Command, { command: 'invoke' }>, io: Io): Promise<number> {
  const event = await readEvent(cmd.eventFile, io);
  const root = findRoot(io.cwd);
  // Logs go to stderr with --json, so stdout holds the one JSON object only.
  const logs = cmd.json ? io.stderr : io.stdout;
  const local = await startLocal({
    root,
    functions: [cmd.functionName],
    // Not wiped: what `laminar dev` seeded stays there to be invoked against.
    s3Directory: join(root, '.laminar', 's3'),
    output: prefixedOutput(logs),
    env: io.env,
  });
  io.onInterrupt(() => local.stop());
  try {
    const res = await local.invoke(cmd.functionName, event, { invocationType: 'RequestResponse' });
    if (cmd.json) {
      const body = res.error
        ? { requestId: res.requestId, error: res.error, report: res.report }
        : { requestId: res.requestId, result: res.result, report: res.report };
      io.stdout.write(`${JSON.stringify(body)}\n`);
    } else {
      io.stdout.write(res.error ? '\nError:\n' : '\nResult:\n');
      io.stdout.write(`${JSON.stringify(res.error ?? res.result, null, 2)}\n`);
    }
    return res.error ? 1 : 0;
  } finally {
    await local.stop();
  }
}

async function devCommand(cmd: Extract<Command, { command: 'dev' }>, io: Io): Promise<number> {
  const out = io.stdout;
  const say = (line = '') => out.write(`${line}\n`);
  const root = findRoot(io.cwd);
  const unknown = cmd.scenarios.filter((s) => !allScenarios.some((x) => x.name === s));
  if (unknown.length) {
    throw new UsageError(`unknown scenario ${unknown.join(', ')} (known: ${allScenarios.map((s) => s.name).join(', ')})`);
  }

  const s3Directory = join(root, '.laminar', 's3');
  // A fresh embedded S3 every run, so dev is repeatable; an external S3 is never wiped.
  if (resolveS3Target(undefined, io.env).kind === 'embedded') rmSync(s3Directory, { recursive: true, force: true });
  const started = Date.now();
  const local = await startLocal({ root, s3Directory, output: prefixedOutput(out), env: io.env });
  io.onInterrupt(() => local.stop());
  try {
    printHeader(local, say);
    const names = new Set(local.specs.map((s) => s.spec.name));
    const chosen = allScenarios.filter((s) => (cmd.scenarios.length ? cmd.scenarios.includes(s.name) : true));
    const runnable = chosen.filter((s) => s.functions.every((f) => names.has(f)));
    for (const s of chosen.filter((c) => !runnable.includes(c))) {
      const msg = `scenario ${s.name} needs ${s.functions.filter((f) => !names.has(f)).join(', ')}, which is not in functions/`;
      if (cmd.scenarios.length) throw new UsageError(msg);
      say(`(skipped ${msg})`);
    }

    const results: { scenario: Scenario; ok: boolean; summary: string[] }[] = [];
    for (const scenario of runnable) {
      say();
      say(`▶ scenario ${scenario.name}: ${scenario.description}`);
      try {
        const r = await scenario.run({ local, print: (line) => say(`  ${line}`) });
        results.push({ scenario, ...r });
      } catch (err) {
        results.push({ scenario, ok: false, summary: [`threw: ${(err as Error).stack ?? String(err)}`] });
      }
    }

    say();
    say(`Summary (${((Date.now() - started) / 1000).toFixed(1)} s)`);
    for (const r of results) {
      say(`${r.ok ? '✔' : '✘'} ${r.scenario.name}`);
      for (const line of r.summary) say(`    ${line}`);
    }
    if (results.length === 0) say('no scenario ran');
    const ok = results.every((r) => r.ok);

    if (cmd.keep) {
      say();
      say(`Running: ${local.s3.description}`);
      if (local.s3.embedded) say(`  credentials ${local.s3.credentials.accessKeyId}/${local.s3.credentials.secretAccessKey}, region ${local.s3.region}`);
      say(`  buckets ${Object.entries(local.buckets).map(([l, r]) => `${l} → ${r}`).join(', ')}`);
      if (local.s3.embedded) {
        const { accessKeyId, secretAccessKey } = local.s3.credentials;
        say(
          `  invoke against it: LAMINAR_S3_ENDPOINT=${local.s3.endpoint} AWS_ACCESS_KEY_ID=${accessKeyId} AWS_SECRET_ACCESS_KEY=${secretAccessKey} pnpm invoke <function> --event <file>`,
        );
      }
      say('Ctrl-C to stop.');
      await io.interrupted;
      say('stopping');
    }
    return ok ? 0 : 1;
  } finally {
    await local.stop();
  }
}

function printHeader(local: Local, say: (line?: string) => void): void {
  say(`laminar dev: ${local.s3.description}`);
  const buckets = Object.entries(local.buckets);
  if (buckets.length) say(`  buckets: ${buckets.map(([l, r]) => `${l} → ${r}`).join(', ')}`);
  for (const l of local.specs) {
    say(`  function ${l.spec.name}: ${l.spec.memoryMb} MB, ${l.spec.timeoutS} s, ${l.spec.runtime}, ${relative(local.root, l.zipPath)}`);
  }
}

/** Errors the user can fix get one clear line; anything else keeps its stack. */
export function describeFailure(err: unknown): { message: string; code: number } {
  if (err instanceof UsageError || err instanceof UnknownFunctionError || err instanceof MissingBuildError) {
    return { message: err.message, code: 2 };
  }
  return { message: (err as Error)?.stack ?? String(err), code: 2 };
}
