import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { findRoot, loadAllSpecs, withFunctionsTable } from '@laminar/spec';
import { type Command, UsageError } from './args.ts';
import { MAX_REQUEST_BYTES, RequestTooLargeError, UnknownFunctionError } from './invoker.ts';
import { prefixedOutput } from './output.ts';
import { describeDuration, formatReport } from './report.ts';
import type { AsyncOutcome } from './async.ts';
import { describeDestinationMessage, dlqListCommand, dlqReplayCommand, queueListCommand, queuesDirectory } from './queue-commands.ts';
import { clearQueueDirectory } from './queues.ts';
import { type ConsoleServer, portTakenError, startConsole } from './console/server.ts';
import { pipelineStages, rejectsByFunction } from './pipeline-summary.ts';
import { type Local, MissingBuildError, resolveS3Target, startLocal } from './runner.ts';
import { ScheduleExpressionError } from './schedule.ts';
import { stateDirectory } from './state-directory.ts';
import { type ScheduledRun, type ScheduleEntry, Scheduler, scheduleEntries } from './scheduler.ts';
import { emptyTable, resolveDynamoTarget } from './services.ts';
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
  if (cmd.command === 'dlq-list') return dlqListCommand(cmd, io);
  if (cmd.command === 'dlq-replay') return dlqReplayCommand(cmd, io);
  if (cmd.command === 'queue-list') return queueListCommand(cmd, io);
  if (cmd.command === 'docs') return docsCommand(cmd, io);
  return 0;
}

/** README's function table, regenerated from the specs (or checked, in CI). */
async function docsCommand(cmd: Extract<Command, { command: 'docs' }>, io: Io): Promise<number> {
  const root = findRoot(io.cwd);
  const path = join(root, 'README.md');
  const current = readFileSync(path, 'utf8');
  const next = withFunctionsTable(current, (await loadAllSpecs(root)).map((l) => l.spec));
  if (next === current) {
    io.stdout.write('README.md: the function table matches the specs\n');
    return 0;
  }
  if (cmd.check) {
    io.stderr.write('README.md: the function table is stale; run pnpm readme\n');
    return 1;
  }
  writeFileSync(path, next);
  io.stdout.write('README.md: function table rewritten from the specs\n');
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
          if (!statSync(path).isFile()) throw new UsageError(`the event ${path} is not a file (given "${file}")`);
          return [readFileSync(path, 'utf8'), path] as const;
        })();
  // Refused before any emulator starts, as Lambda refuses it before any environment does.
  if (Buffer.byteLength(text) > MAX_REQUEST_BYTES) {
    throw new UsageError(`the event in ${where} is ${Buffer.byteLength(text)} bytes; Lambda takes at most ${MAX_REQUEST_BYTES} in a synchronous invocation`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new UsageError(`the event in ${where} is not valid JSON: ${(err as Error).message}`);
  }
}

/** A folder as the summary names it: from the repository root when inside it, else in full. */
function shownPath(root: string, path: string): string {
  const rel = relative(root, path);
  return rel.startsWith('..') || isAbsolute(rel) ? path : rel;
}

/** Where `dev` and `invoke` keep the embedded DynamoDB's tables, so dedup state survives runs. */
function dynamodbDirectory(root: string, env: NodeJS.ProcessEnv): string {
  return join(stateDirectory(root, env), 'dynamodb');
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
    s3Directory: join(stateDirectory(root, io.env), 's3'),
    dynamodbDirectory: dynamodbDirectory(root, io.env),
    live: cmd.live,
    output: prefixedOutput(logs, { raw: cmd.rawLogs }),
    env: io.env,
    eventSources: false,
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

  const s3Directory = join(stateDirectory(root, io.env), 's3');
  // A fresh embedded S3 every run, so dev is repeatable; an external S3 is never wiped. DynamoDB
  // is kept: it holds what the producers have already seen, so a second run produces only news.
  const freshS3 = resolveS3Target(undefined, io.env).kind === 'embedded';
  // An external DynamoDB's data is its owner's: --fresh is refused rather than wiping an unused
  // folder and letting the run look fresh when it is not — before anything else is wiped.
  const dynamo = resolveDynamoTarget(undefined, io.env);
  if (cmd.fresh && dynamo.kind !== 'embedded') {
    throw new UsageError(`--fresh forgets the embedded DynamoDB's data; DynamoDB is ${dynamo.endpoint ?? 'AWS'} here (${dynamo.source}): empty its tables there instead`);
  }
  // The console serves while the runner stays up; a --once run ends before anyone could look. Its
  // port is checked with the flags: a bad one must not cost the previous run's S3 and DLQs.
  const port = cmd.console && (cmd.keep || !cmd.once) ? consolePort(cmd.consolePort, io.env) : undefined;
  if (port && !port.defaultPort && port.port !== 0) await assertPortFree(port.port);
  if (freshS3) rmSync(s3Directory, { recursive: true, force: true });
  if (cmd.fresh) rmSync(dynamodbDirectory(root, io.env), { recursive: true, force: true });
  // Queues start empty like the S3 they describe; the files stay after the run for `laminar dlq list`.
  // What the last run left in its DLQs goes with them, and is said: its S3 events name objects just
  // wiped, but a scheduled event kept as Interrupted could have been replayed.
  const forgotten = [...clearQueueDirectory(queuesDirectory(root, io.env)).values()].flat();
  if (forgotten.length > 0) {
    const interrupted = forgotten.filter((m) => m.attributes.condition === 'Interrupted').length;
    say(
      `laminar: forgot the ${forgotten.length} message${forgotten.length === 1 ? '' : 's'} the previous run left in its DLQs${interrupted ? ` (${interrupted} Interrupted)` : ''}: each run starts with empty queues and an empty S3`,
    );
  }
  const started = Date.now();
  const local = await startLocal({
    root,
    s3Directory,
    dynamodbDirectory: dynamodbDirectory(root, io.env),
    queuesDirectory: queuesDirectory(root, io.env),
    live: cmd.live,
    output: prefixedOutput(out, { raw: cmd.rawLogs }),
    env: io.env,
    duplicateEvents: cmd.duplicateEvents,
    ...(cmd.retryDelayScale !== undefined ? { retryDelayScale: cmd.retryDelayScale } : {}),
  });
  io.onInterrupt(() => local.stop());
  const stop = new AbortController();
  // Ctrl-C: events queued or waiting for a retry end at once (kept in their DLQs, see
  // AsyncInvoker.stop), so that nothing waits on a retry minutes away.
  void io.interrupted.then(() => {
    stop.abort();
    local.asyncInvoker.stop();
  });
  let web: ConsoleServer | undefined;
  // After Ctrl-C the runner stops before the summary: the attempts its stop cuts short are filed
  // (Interrupted) as they return, and the summary must count them. No longer than when the stop
  // came after the summary: the grace, then the stop.
  const stopForSummary = async () => {
    await graceForAttempts(local);
    await web?.stop();
    web = undefined;
    await local.stop();
    await graceForAttempts(local);
  };
  try {
    // Inside the try: a taken port stops the emulators like any other failure.
    if (port) web = await startConsole(local, { ...port, graphSvg: graphRenderer(root) });
    const entries = scheduleEntries(local.specs);
    printHeader(local, entries, say);
    if (web) say(`  console: ${web.description}`);
    if (freshS3 && local.dynamodb?.embedded) {
      // Idempotency records name objects of the S3 just wiped: kept, a new upload of the same bytes
      // would "replay" outputs that no longer exist. Dedup and ledger tables are kept.
      for (const [table, kind] of Object.entries(local.dynamodb.tables)) {
        if (kind !== 'idempotency') continue;
        const n = await emptyTable(local.dynamodb.client, table, kind);
        if (n) say(`  ${table}: ${n} idempotency record${n === 1 ? '' : 's'} of the previous run forgotten (they named objects of the S3 just wiped)`);
      }
    }
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
      asyncInvoker: local.asyncInvoker,
      entries,
      region: local.region,
      ...(cmd.speed !== 1 ? { speed: cmd.speed } : {}),
      onSkip: (entry, skipped, time) =>
        say(`\n${entry.functionName} ← ${entry.expression}: ${skipped} firing${skipped === 1 ? '' : 's'} missed (the machine slept or the runner was blocked) not made up, as EventBridge does not backfill; firing once for ${isoSeconds(time)}`),
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
    // From here on the runner stays up: S3 events keep flowing, each settled one gets a line.
    const unsubscribe = keepFiring || cmd.keep ? printLiveOutcomes(local, say) : () => {};
    if (keepFiring && !stop.signal.aborted) {
      say();
      printDropHint(local, say);
      const upcoming = scheduler.nextTimes(scheduler.now());
      say();
      say(`Firing on schedule${cmd.speed !== 1 ? ` (schedule time ×${cmd.speed})` : ''} until Ctrl-C. Next:`);
      for (const [i, e] of entries.entries()) {
        const t = upcoming[i];
        say(`  ${e.functionName} ${e.expression}: ${t ? `${isoSeconds(t)} (in ${describeDuration((t.getTime() - scheduler.now().getTime()) / cmd.speed)})` : 'never again'}`);
      }
      counting = true;
      counted = topicCounts(local).then((t) => (lastTopics = t));
      await scheduler.run(stop.signal);
      say('\nstopping: summary of this run');
    }

    await counted;
    // Retries of anything still failing, and what functions wrote in turn, finish before the summary.
    if (!stop.signal.aborted) await Promise.race([local.settle(), io.interrupted]);
    // What Firehose still buffers would reach S3 within its interval; the summary counts it now.
    if (!stop.signal.aborted) await local.firehose?.flush();
    if (stop.signal.aborted) await stopForSummary();
    const topics = stop.signal.aborted ? lastTopics : await topicCounts(local);
    const rejects = rejectsByFunction(scheduler.runs.flatMap((r) => (r.result && !r.result.error ? [{ functionName: r.entry.functionName, result: r.result.result }] : [])));
    const stages = stop.signal.aborted ? [] : await pipelineStages(local, topics, rejects);
    say();
    say(`Summary (${((Date.now() - started) / 1000).toFixed(1)} s)`);
    for (const r of results) {
      say(`${r.ok ? '✔' : '✘'} ${r.scenario.name}`);
      for (const line of r.summary) say(`    ${line}`);
    }
    const scheduleOk = printScheduleSummary(scheduler.runs, entries, say, stop.signal.aborted);
    if (topics) {
      say(
        local.kafka?.embedded
          ? 'Messages produced per topic (this run only: the embedded broker keeps nothing between runs)'
          : `Messages per topic (everything in the topic at ${local.kafka?.bootstrapServers}, not only this run)`,
      );
      for (const t of topics) say(`    ${t.topic}: ${t.error ? `could not read (${t.error})` : `${t.messages} messages, ${t.keys} distinct keys`}`);
    }
    if (stages.length) {
      say('Pipeline');
      for (const s of stages) say(`    ${s.text}`);
    } else if (stop.signal.aborted) {
      // Work cut short would read as records lost: the stage checks count only a run left to finish.
      say('Pipeline: not checked (stopped before the run finished: its counts would not reconcile)');
    }
    if (local.dynamodb?.embedded && entries.length) {
      say(`DynamoDB keeps its data in ${shownPath(root, dynamodbDirectory(root, io.env))}: the next run produces only new items (--fresh forgets them).`);
    }
    printQueues(local, say);
    if (results.length === 0 && entries.length === 0) say('no scenario ran and no function has a schedule');
    let ok = results.every((r) => r.ok) && scheduleOk && stages.every((s) => s.ok);
    if (stop.signal.aborted) ok = reportUnfinished(local, say) && ok;

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
      printDropHint(local, say, '  ');
      say(`  queues: pnpm dlq list, pnpm queue list <name> (files in ${shownPath(root, queuesDirectory(root, io.env))}/)`);
      say('Ctrl-C to stop.');
      const keptFrom = local.asyncInvoker.outcomes.length;
      await io.interrupted;
      say('stopping');
      await stopForSummary();
      ok = reportKeptEvents(local.asyncInvoker.outcomes.slice(keptFrom), say) && ok;
      ok = reportUnfinished(local, say) && ok;
    }
    unsubscribe();
    return ok ? 0 : 1;
  } finally {
    await web?.stop();
    await local.stop();
  }
}

/** How long Ctrl-C waits for attempts under way to return before the stop. */
const INTERRUPT_GRACE_MS = 5_000;

/** After Ctrl-C: attempts under way get up to INTERRUPT_GRACE_MS to return before the stop kills them. */
function graceForAttempts(local: Local): Promise<unknown> {
  return Promise.race([local.asyncInvoker.idle(), sleep(INTERRUPT_GRACE_MS, undefined, { ref: false })]);
}

/**
 * The async events of the session's kept-running part (files dropped in, invocations by hand): the
 * summary above was printed before them. False when any failed (its DLQ holds it, or nothing
 * does when the function has no on-failure destination), expired or could not be invoked.
 */
export function reportKeptEvents(outcomes: readonly AsyncOutcome[], say: (line?: string) => void): boolean {
  // Those the stop cut short are reportUnfinished's.
  const done = outcomes.filter((o) => o.status !== 'stopped');
  if (done.length === 0) return true;
  const bad = done.filter((o) => o.status !== 'succeeded');
  say(`${bad.length ? '✘' : '✔'} while running: ${done.length} async event${done.length === 1 ? '' : 's'}, ${done.length - bad.length} succeeded${bad.length ? `, ${bad.length} not` : ''}`);
  for (const o of bad) {
    const where = o.destination
      ? `→ ${o.destination.queue}`
      : o.deliveryError
        ? `its record could not be written to its destination: ${o.deliveryError.message}`
        : 'no on-failure destination: discarded, as Lambda does';
    say(`    ${o.functionName} ${o.status}${o.attempts.length ? ` after ${o.attempts.length} attempt${o.attempts.length === 1 ? '' : 's'}` : ''} ${where}`);
  }
  return bad.length === 0;
}

/**
 * Async events the stop cut short: each is in its function's DLQ as Interrupted (Lambda would
 * still hold it). Says so and returns false when there are any, or attempts still under way.
 */
function reportUnfinished(local: Local, say: (line?: string) => void): boolean {
  const kept = local.asyncInvoker.outcomes.filter((o) => o.status === 'stopped');
  const running = local.asyncInvoker.pending;
  if (kept.length === 0 && running === 0) return true;
  const byFunction = [...new Set(kept.map((o) => o.functionName))].map((f) => `${f} ${kept.filter((o) => o.functionName === f).length}`);
  if (kept.length) {
    say(
      `✘ stopped with ${kept.length} async event${kept.length === 1 ? '' : 's'} unfinished (${byFunction.join(', ')}): kept in the DLQs as Interrupted — pnpm dlq list, pnpm dlq replay <function> <message id>, before the next laminar dev, which starts with empty queues`,
    );
  }
  if (running) say(`✘ ${running} attempt${running === 1 ? '' : 's'} still under way: their events go to the DLQs as Interrupted as the environments stop`);
  return false;
}

/**
 * A chosen console port another process holds is refused before anything is wiped (startConsole
 * refuses it too, but only once the emulators run; a port taken in between is refused there).
 */
async function assertPortFree(port: number): Promise<void> {
  const probe = createServer();
  try {
    await new Promise<void>((resolve, reject) => {
      probe.once('error', reject);
      probe.listen(port, '127.0.0.1', () => resolve());
    });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      throw portTakenError(port);
    }
    throw error;
  } finally {
    await new Promise<void>((resolve) => probe.close(() => resolve()));
  }
}

/**
 * The console's port: --console-port, else LAMINAR_CONSOLE_PORT, else 4600 (a stable URL to keep
 * open across runs). Only that default, chosen by neither, may fall back to another when taken.
 */
function consolePort(explicit: number | undefined, env: NodeJS.ProcessEnv): { port: number; defaultPort: boolean } {
  if (explicit !== undefined) return { port: explicit, defaultPort: false };
  const raw = env.LAMINAR_CONSOLE_PORT;
  if (raw === undefined || raw.trim() === '') return { port: 4600, defaultPort: true };
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`LAMINAR_CONSOLE_PORT="${raw}" is not a port number`);
  return { port, defaultPort: false };
}

/** The architecture graph from the specs, rendered by @laminar/graph when it is installed. */
function graphRenderer(root: string): () => Promise<string | undefined> {
  return async () => {
    const path = join(root, 'docs', 'architecture.svg');
    return existsSync(path) ? readFileSync(path, 'utf8') : undefined;
  };
}

const isoSeconds = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

/** What one scheduled invocation did, in a few lines. */
export function runLines(run: ScheduledRun): string[] {
  const expired = expiredByRunner(run.outcome);
  if (expired) return [`✘ ${expired}${destinationNote(run.outcome)}`];
  if (run.error) return [`✘ not invoked: ${run.error.name}: ${run.error.message}`];
  const r = run.result;
  if (!r) return [`✘ ${run.outcome?.status ?? 'no result'}${destinationNote(run.outcome)}`];
  const attempts = run.outcome && run.outcome.attempts.length > 1 ? ` (attempt ${run.outcome.attempts.length})` : '';
  if (r.error) return [`✘ ${r.error.errorType}: ${r.error.errorMessage}${attempts}${destinationNote(run.outcome)}`];
  const fields = numericFields(r.result);
  return [
    `✔ ${fields.length ? formatFields(fields) : `returned ${JSON.stringify(r.result)?.slice(0, 200)}`}${attempts}`,
    ...itemLines(r.result).map((l) => `  ${l}`),
  ];
}

/**
 * An event dropped for its age while the runner itself could not invoke it (its errors are retried
 * as throttles are): EventAgeExceeded, as its record says, with the runner's last error. "Not
 * invoked" is for an event no wait could have run.
 */
function expiredByRunner(outcome: AsyncOutcome | undefined): string | undefined {
  if (outcome?.status !== 'expired' || !outcome.error) return undefined;
  return `EventAgeExceeded (the runner could not invoke it: ${outcome.error.name}: ${outcome.error.message})`;
}

function destinationNote(outcome: AsyncOutcome | undefined): string {
  if (!outcome) return '';
  if (outcome.deliveryError) return ` (✘ its record could not be written: ${outcome.deliveryError.message})`;
  if (outcome.destination) return ` → ${outcome.destination.queue}`;
  return outcome.status === 'failed' || outcome.status === 'expired' ? ' (no on-failure destination: discarded)' : '';
}

/** Every queue's depth, then what each DLQ holds. */
function printQueues(local: Local, say: (line?: string) => void): void {
  const queues = local.queues.all();
  if (queues.length === 0) return;
  say('Queues');
  for (const q of queues) say(`    ${q.name}: ${q.depth} message${q.depth === 1 ? '' : 's'}${q.kind === 'dlq' ? ` (on-failure of ${q.owner})` : ''}`);
  for (const q of queues.filter((x) => x.kind === 'dlq' && x.depth > 0)) {
    say(`  ${q.name}:`);
    for (const m of q.messages()) for (const line of describeDestinationMessage(m)) say(`    ${line}`);
  }
}

/** How to drop a file into a watched prefix of the embedded S3 with any S3 client. */
function printDropHint(local: Local, say: (line?: string) => void, indent = ''): void {
  const route = local.s3Routes.find((r) => r.functions.length) ?? local.s3Routes[0];
  if (!local.s3Events || !route || !local.s3?.endpoint) return;
  const { accessKeyId, secretAccessKey } = local.credentials;
  const file = `orders${route.trigger.suffix || '.csv'}`;
  say(`${indent}S3 events are live: put an object under a watched prefix with any S3 client (embedded S3 at ${local.s3.endpoint}), e.g.`);
  say(
    `${indent}  AWS_ACCESS_KEY_ID=${accessKeyId} AWS_SECRET_ACCESS_KEY=${secretAccessKey} AWS_REGION=${local.region} aws s3 cp ${file} s3://${route.bucketName}/${route.trigger.prefix}${file} --endpoint-url ${local.s3.endpoint}`,
  );
}

/** While the runner stays up: one line per S3-triggered async invocation as it settles (retries included). */
function printLiveOutcomes(local: Local, say: (line?: string) => void): () => void {
  if (!local.s3Events) return () => {};
  return local.asyncInvoker.onOutcome((o) => {
    if (o.trigger?.kind !== 's3') return;
    const last = o.attempts.at(-1);
    const n = o.attempts.length;
    const head = `${o.status === 'succeeded' ? '✔' : '✘'} ${o.functionName} ← ${o.trigger.key}`;
    if (o.status === 'succeeded') {
      const fields = numericFields(last?.result);
      say(`${head}: ${fields.length ? formatFields(fields) : JSON.stringify(last?.result)?.slice(0, 200)}${n > 1 ? ` (attempt ${n})` : ''}${o.deliveryError ? destinationNote(o) : ''}`);
    } else {
      const expired = expiredByRunner(o);
      if (expired) say(`${head}: ${expired}${destinationNote(o)}`);
      else say(`${head}: ${o.status}${last?.error ? ` after ${n} attempt${n === 1 ? '' : 's'} (${last.error.errorType}: ${last.error.errorMessage})` : ''}${destinationNote(o)}`);
    }
  });
}

/**
 * Per scheduled function: its invocations, their totals and failures. False when one failed, or
 * when a function never fired although the run was not `stopped` (every schedule fires once before
 * anything else: not firing is a fault). A run stopped (Ctrl-C) before a function's first firing
 * has not checked it — as it checks no pipeline stage — and says so rather than failing it.
 */
export function printScheduleSummary(runs: ScheduledRun[], entries: ScheduleEntry[], say: (line?: string) => void, stopped: boolean): boolean {
  let ok = true;
  for (const name of [...new Set(entries.map((e) => e.functionName))]) {
    const mine = runs.filter((r) => r.entry.functionName === name);
    const failed = mine.filter((r) => r.error || r.result?.error || (r.outcome && r.outcome.status !== 'succeeded'));
    const expressions = [...new Set(entries.filter((e) => e.functionName === name).map((e) => e.expression))].join(', ');
    if (mine.length === 0 && stopped) {
      say(`– ${name} (${expressions}): not fired, stopped before its first firing`);
      continue;
    }
    ok &&= failed.length === 0 && mine.length > 0;
    say(`${failed.length || mine.length === 0 ? '✘' : '✔'} ${name} (${expressions}): ${mine.length} scheduled invocation${mine.length === 1 ? '' : 's'}, ${failed.length} failed`);
    const results = mine.filter((r) => r.result && !r.result.error).map((r) => r.result?.result);
    const totals = sumFields(results);
    if (totals.length) say(`    ${mine.length > 1 ? 'total: ' : ''}${formatFields(totals)}`);
    if (mine.length === 1) for (const line of itemLines(results[0])) say(`    ${line}`);
    for (const f of failed.slice(0, 3)) {
      const why = expiredByRunner(f.outcome) ?? (f.error
        ? `${f.error.name}: ${f.error.message}`
        : f.result?.error
          ? `${f.result.error.errorType}: ${f.result.error.errorMessage}`
          : (f.outcome?.status ?? 'failed'));
      say(`    ✘ ${why}${f.outcome && f.outcome.attempts.length > 1 ? ` (after ${f.outcome.attempts.length} attempts)` : ''}${destinationNote(f.outcome)}`);
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

/** The spec's architecture, and the host's when it differs: the runner runs every function on the host's. */
function describeArchitecture(architecture: string): string {
  const host = process.arch === 'x64' ? 'x86_64' : process.arch;
  return architecture === host ? architecture : `${architecture} (run here on this ${host} host)`;
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
      `  function ${l.spec.name}: ${l.spec.memoryMb} MB, ${l.spec.timeoutS} s, ${l.spec.runtime}, ${describeArchitecture(l.spec.architecture)}, ${relative(local.root, l.zipPath)}${layers}${
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
    err instanceof ScheduleExpressionError ||
    err instanceof RequestTooLargeError
  ) {
    return { message: err.message, code: 2 };
  }
  return { message: (err as Error)?.stack ?? String(err), code: 2 };
}
