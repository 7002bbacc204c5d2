import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { findRoot } from '@laminar/spec';
import { type Command, UsageError } from './args.ts';
import { type InvokeResult, UnknownFunctionError } from './invoker.ts';
import { prefixedOutput } from './output.ts';
import { formatReport } from './report.ts';
import { type Local, MissingBuildError, resolveS3Target, startLocal } from './runner.ts';
import { ScheduleExpressionError } from './schedule.ts';
import { type ScheduledRun, type ScheduleEntry, Scheduler, scheduleEntries } from './scheduler.ts';
import { scenarios as allScenarios, type Scenario } from './scenarios/index.ts';
import { countTopics, formatFields, itemLines, numericFields, sumFields, type TopicCount } from './summary.ts';

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

/** Where `dev` and `invoke` keep the embedded DynamoDB's tables, so dedup state survives runs. */
function dynamodbDirectory(root: string): string {
  return join(root, '.laminar', 'dynamodb');
}

async function invokeCommand(cmd: Extract<Command, { command: 'invoke' }>, io: Io): Promise<number> {
  const event = await readEvent(cmd.eventFile, io);
  const root = findRoot(io.cwd);
  // Logs go to stderr with --json, so stdout holds the one JSON object only.
  const logs = cmd.json ? io.stderr : io.stdout;
  const local = await startLocal({
    root,
    functions: [cmd.functionName],
    // Not wiped: what `laminar dev` seeded and deduplicated stays there to be invoked against.
    s3Directory: join(root, '.laminar', 's3'),
    dynamodbDirectory: dynamodbDirectory(root),
    live: cmd.live,
    output: prefixedOutput(logs),
    env: io.env,
  });
  io.onInterrupt(() => local.stop());
  try {
    for (const line of local.services) logs.write(`laminar: ${line}\n`);
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

interface ScenarioOutcome {
  scenario: Scenario;
  ok: boolean;
  summary: string[];
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
  // A fresh embedded S3 every run, so dev is repeatable; an external S3 is never wiped. DynamoDB
  // is kept: it holds what the producers have already seen, so a second run produces only news.
  if (resolveS3Target(undefined, io.env).kind === 'embedded') rmSync(s3Directory, { recursive: true, force: true });
  if (cmd.fresh) rmSync(dynamodbDirectory(root), { recursive: true, force: true });
  const started = Date.now();
  const local = await startLocal({
    root,
    s3Directory,
    dynamodbDirectory: dynamodbDirectory(root),
    live: cmd.live,
    output: prefixedOutput(out),
    env: io.env,
  });
  io.onInterrupt(() => local.stop());
  const stop = new AbortController();
  void io.interrupted.then(() => stop.abort());
  try {
    const entries = scheduleEntries(local.specs);
    printHeader(local, entries, say);
    const names = new Set(local.specs.map((s) => s.spec.name));
    const chosen = allScenarios.filter((s) => (cmd.scenarios.length ? cmd.scenarios.includes(s.name) : true));
    const runnable = chosen.filter((s) => s.functions.every((f) => names.has(f)));
    for (const s of chosen.filter((c) => !runnable.includes(c))) {
      const msg = `scenario ${s.name} needs ${s.functions.filter((f) => !names.has(f)).join(', ')}, which is not in functions/`;
      if (cmd.scenarios.length) throw new UsageError(msg);
      say(`(skipped ${msg})`);
    }

    const results: ScenarioOutcome[] = [];
    for (const scenario of runnable) {
      if (stop.signal.aborted) break;
      say();
      say(`▶ scenario ${scenario.name}: ${scenario.description}`);
      try {
        const r = await scenario.run({ local, print: (line) => say(`  ${line}`) });
        results.push({ scenario, ...r });
      } catch (err) {
        results.push({ scenario, ok: false, summary: [`threw: ${(err as Error).stack ?? String(err)}`] });
      }
    }

    const scheduler = new Scheduler({
      invoker: local.invoker,
      entries,
      region: local.region,
      ...(cmd.speed !== 1 ? { speed: cmd.speed } : {}),
      onFire: (entry, time) =>
        say(`\n▶ ${entry.functionName} ← ${entry.expression} (rule ${entry.ruleName}, async Event, scheduled ${isoSeconds(time)})`),
      onRun: (run) => {
        for (const line of runLines(run)) say(`  ${line}`);
        // Ctrl-C reaches the emulators' processes too, so the broker may be gone by the final
        // summary: keep counts from while it is alive.
        if (counting) counted = counted.then(() => topicCounts(local)).then((t) => t ?? lastTopics).then((t) => (lastTopics = t));
      },
    });
    let counting = false;
    let counted: Promise<unknown> = Promise.resolve();
    let lastTopics: TopicCount[] | undefined;
    if (entries.length && !stop.signal.aborted) {
      say();
      say(`Schedules: firing each of ${entries.length} once${cmd.once ? '' : ', then on schedule'}`);
      await scheduler.fireAll(stop.signal);
    }
    const keepFiring = entries.length > 0 && !cmd.once;
    if (keepFiring && !stop.signal.aborted) {
      const upcoming = scheduler.nextTimes(scheduler.now());
      say();
      say(`Firing on schedule${cmd.speed !== 1 ? ` (schedule time ×${cmd.speed})` : ''} until Ctrl-C. Next:`);
      for (const [i, e] of entries.entries()) {
        const t = upcoming[i];
        say(`  ${e.functionName} ${e.expression}: ${t ? `${isoSeconds(t)} (in ${describeWait((t.getTime() - scheduler.now().getTime()) / cmd.speed)})` : 'never again'}`);
      }
      counting = true;
      counted = topicCounts(local).then((t) => (lastTopics = t));
      await scheduler.run(stop.signal);
      say('\nstopping: summary of this run');
    }

    await counted;
    const topics = stop.signal.aborted ? lastTopics : await topicCounts(local);
    say();
    say(`Summary (${((Date.now() - started) / 1000).toFixed(1)} s)`);
    for (const r of results) {
      say(`${r.ok ? '✔' : '✘'} ${r.scenario.name}`);
      for (const line of r.summary) say(`    ${line}`);
    }
    const scheduleOk = printScheduleSummary(scheduler.runs, entries, say);
    if (topics) {
      say(
        local.kafka?.embedded
          ? 'Messages produced per topic (this run only: the embedded broker keeps nothing between runs)'
          : `Messages per topic (everything in the topic at ${local.kafka?.bootstrapServers}, not only this run)`,
      );
      for (const t of topics) say(`    ${t.topic}: ${t.error ? `could not read (${t.error})` : `${t.messages} messages, ${t.keys} distinct keys`}`);
    }
    if (local.dynamodb?.embedded && entries.length) {
      say(`DynamoDB keeps its data in ${relative(root, dynamodbDirectory(root))}: the next run produces only new items (--fresh forgets them).`);
    }
    if (results.length === 0 && entries.length === 0) say('no scenario ran and no function has a schedule');
    const ok = results.every((r) => r.ok) && scheduleOk;

    if (cmd.keep && !stop.signal.aborted) {
      say();
      say('Running:');
      for (const line of local.services) say(`  ${line}`);
      say(`  credentials ${local.credentials.accessKeyId}/${local.credentials.secretAccessKey}, region ${local.region}`);
      const vars = [
        local.s3?.embedded ? `LAMINAR_S3_ENDPOINT=${local.s3.endpoint}` : '',
        local.dynamodb?.embedded ? `LAMINAR_DYNAMODB_ENDPOINT=${local.dynamodb.endpoint}` : '',
        local.kafka?.embedded ? `KAFKA_BOOTSTRAP_SERVERS=${local.kafka.bootstrapServers}` : '',
      ].filter(Boolean);
      if (vars.length) {
        const { accessKeyId, secretAccessKey } = local.credentials;
        say(`  invoke against it: ${vars.join(' ')} AWS_ACCESS_KEY_ID=${accessKeyId} AWS_SECRET_ACCESS_KEY=${secretAccessKey} pnpm invoke <function> --event <file>`);
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

const isoSeconds = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

function describeWait(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))} ms`;
  if (ms < 120_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms < 7_200_000) return `${(ms / 60_000).toFixed(1)} min`;
  return `${(ms / 3_600_000).toFixed(1)} h`;
}

/** What one scheduled invocation did, in a few lines. */
function runLines(run: ScheduledRun): string[] {
  if (run.error) return [`✘ not invoked: ${run.error.name}: ${run.error.message}`];
  const r = run.result as InvokeResult;
  if (r.error) return [`✘ ${r.error.errorType}: ${r.error.errorMessage}`];
  const fields = numericFields(r.result);
  return [`✔ ${fields.length ? formatFields(fields) : `returned ${JSON.stringify(r.result)?.slice(0, 200)}`}`, ...itemLines(r.result).map((l) => `  ${l}`)];
}

function printScheduleSummary(runs: ScheduledRun[], entries: ScheduleEntry[], say: (line?: string) => void): boolean {
  let ok = true;
  for (const name of [...new Set(entries.map((e) => e.functionName))]) {
    const mine = runs.filter((r) => r.entry.functionName === name);
    const failed = mine.filter((r) => r.error || r.result?.error);
    ok &&= failed.length === 0;
    const expressions = [...new Set(entries.filter((e) => e.functionName === name).map((e) => e.expression))].join(', ');
    say(`${failed.length || mine.length === 0 ? '✘' : '✔'} ${name} (${expressions}): ${mine.length} scheduled invocation${mine.length === 1 ? '' : 's'}, ${failed.length} failed`);
    const results = mine.filter((r) => r.result && !r.result.error).map((r) => r.result?.result);
    const totals = sumFields(results);
    if (totals.length) say(`    ${mine.length > 1 ? 'total: ' : ''}${formatFields(totals)}`);
    if (mine.length === 1) for (const line of itemLines(results[0])) say(`    ${line}`);
    for (const f of failed.slice(0, 3)) {
      say(`    ✘ ${f.error ? `${f.error.name}: ${f.error.message}` : `${f.result?.error?.errorType}: ${f.result?.error?.errorMessage}`}`);
    }
    const last = mine.at(-1)?.result;
    if (last) say(`    last: ${formatReport(last.requestId, last.report)}`);
  }
  return ok;
}

async function topicCounts(local: Local): Promise<TopicCount[] | undefined> {
  if (!local.kafka || Object.keys(local.topics).length === 0) return undefined;
  return countTopics(local.kafka.bootstrapServers, Object.values(local.topics));
}

function printHeader(local: Local, entries: ScheduleEntry[], say: (line?: string) => void): void {
  say('laminar dev');
  for (const line of local.services) say(`  ${line}`);
  const buckets = Object.entries(local.buckets);
  if (buckets.length) say(`  buckets: ${buckets.map(([l, r]) => `${l} → ${r}`).join(', ')}`);
  for (const l of local.specs) {
    const layers = l.spec.layers.length ? `, layers ${l.spec.layers.join(', ')}` : '';
    const schedules = entries.filter((e) => e.functionName === l.spec.name).map((e) => e.expression);
    say(
      `  function ${l.spec.name}: ${l.spec.memoryMb} MB, ${l.spec.timeoutS} s, ${l.spec.runtime}, ${relative(local.root, l.zipPath)}${layers}${
        schedules.length ? `, schedule ${schedules.join(', ')}` : ''
      }`,
    );
  }
}

/** Errors the user can fix get one clear line; anything else keeps its stack. */
export function describeFailure(err: unknown): { message: string; code: number } {
  if (
    err instanceof UsageError ||
    err instanceof UnknownFunctionError ||
    err instanceof MissingBuildError ||
    err instanceof ScheduleExpressionError
  ) {
    return { message: err.message, code: 2 };
  }
  return { message: (err as Error)?.stack ?? String(err), code: 2 };
}
