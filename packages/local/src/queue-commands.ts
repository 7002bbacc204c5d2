import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { decodeS3EventKey } from '@laminar/aws';
import { DLQ_SUFFIX, findRoot, loadAllSpecs } from '@laminar/spec';
import { type Command, UsageError } from './args.ts';
import type { DestinationRecord } from './async.ts';
import { prefixedOutput } from './output.ts';
import { localDlqName, type LocalQueue, LocalQueues, MessageClaimedError, type QueueMessage, queueFiles, localQueueName, readQueueFile } from './queues.ts';
import { startLocal } from './runner.ts';
import { stateDirectory } from './state-directory.ts';

export interface QueueIo {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  cwd: string;
  env: NodeJS.ProcessEnv;
  onInterrupt(cleanup: () => Promise<void>): void;
}

/** Where `laminar dev` keeps its queues, for the commands that read them from another process. */
export function queuesDirectory(root: string, env: NodeJS.ProcessEnv = process.env): string {
  return join(stateDirectory(root, env), 'queues');
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** "Object Created s3://bucket/key", "Scheduled Event (rule x)", or the event's first bytes. */
export function describeEvent(event: unknown): string {
  if (isRecord(event) && event.source === 'aws.s3' && isRecord(event.detail)) {
    const d = event.detail as { bucket?: { name?: string }; object?: { key?: string } };
    let key = d.object?.key ?? '?';
    try {
      key = decodeS3EventKey(key);
    } catch {
      // Shown as sent.
    }
    return `${String(event['detail-type'])} s3://${d.bucket?.name}/${key}`;
  }
  if (isRecord(event) && event['detail-type'] === 'Scheduled Event') {
    return `Scheduled Event (${String((event.resources as string[] | undefined)?.[0] ?? '').split('/').pop()})`;
  }
  const json = JSON.stringify(event) ?? 'undefined';
  return json.length > 120 ? `${json.slice(0, 117)}...` : json;
}

/** What failed, why, when and after how many attempts, in a few lines per message. */
export function describeDestinationMessage(m: QueueMessage): string[] {
  const r = m.body as Partial<DestinationRecord>;
  if (!isRecord(r) || !isRecord(r.requestContext)) return [`${m.messageId}  ${m.sentAt}  ${JSON.stringify(m.body).slice(0, 200)}`];
  const ctx = r.requestContext;
  const error = isRecord(r.responsePayload) && typeof r.responsePayload.errorType === 'string' ? r.responsePayload : undefined;
  const attempts = `${ctx.approximateInvokeCount} attempt${ctx.approximateInvokeCount === 1 ? '' : 's'}`;
  const runnerError = ctx.condition === 'EventAgeExceeded' ? m.attributes.runnerError : undefined;
  return [
    `${m.messageId}  ${r.timestamp ?? m.sentAt}  ${ctx.condition} after ${attempts}`,
    `    event:   ${'KafkaBatchInfo' in r ? describeKafkaBatch(r.KafkaBatchInfo) : describeEvent(r.requestPayload)}`,
    ...(error ? [`    error:   ${String(error.errorType)}: ${String(error.errorMessage ?? '').split('\n')[0]}`] : []),
    ...(runnerError
      ? [`    expired: older than maxEventAgeS while the runner could not invoke it (${runnerError})`]
      : !error && ctx.condition === 'EventAgeExceeded'
        ? ['    error:   the event grew older than maxEventAgeS before it could be retried']
        : []),
    `    request: ${ctx.requestId} (${ctx.functionArn})`,
  ];
}

/** A Kafka mapping's failure record names the batch (records stay in the topic, to re-read by offset). */
function describeKafkaBatch(info: unknown): string {
  if (!isRecord(info) || !isRecord(info.recordsInfo)) return 'a Kafka batch';
  const parts = Object.entries(info.recordsInfo).map(([tp, v]) => (isRecord(v) ? `${tp} offsets ${String(v.firstRecordOffset)}–${String(v.lastRecordOffset)}` : tp));
  return `Kafka batch of ${String(info.batchSize)} records: ${parts.join(', ')}`;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/**
 * The function a DLQ argument names: a function of the workspace, or its DLQ's own name
 * (laminar-local-<function>-dlq). Anything else is refused: a typo must not read as "nothing failed".
 */
async function dlqFunction(root: string, given: string): Promise<string> {
  const known = (await loadAllSpecs(root)).map((l) => l.spec.name);
  const name = known.find((f) => f === given || localDlqName(f) === given);
  if (!name) throw new UsageError(`no function "${given}" (known: ${known.join(', ') || 'none: no functions/*/spec.ts'})`);
  return name;
}

export async function dlqListCommand(cmd: Extract<Command, { command: 'dlq-list' }>, io: QueueIo): Promise<number> {
  const root = findRoot(io.cwd);
  if (cmd.functionName) cmd = { ...cmd, functionName: await dlqFunction(root, cmd.functionName) };
  const dir = queuesDirectory(root, io.env);
  const files = queueFiles(dir);
  const wanted = cmd.functionName ? [localDlqName(cmd.functionName)] : [...files.keys()].filter((n) => n.endsWith(DLQ_SUFFIX));
  const lists = wanted.map((name) => ({ name, messages: files.has(name) ? readQueueFile(files.get(name) as string) : [] }));
  if (cmd.json) {
    io.stdout.write(`${JSON.stringify(Object.fromEntries(lists.map((l) => [l.name, l.messages])))}\n`);
    return 0;
  }
  // laminar dev creates every DLQ it declares (empty until something fails): no file is no such queue.
  if (cmd.functionName && !files.has(localDlqName(cmd.functionName))) {
    io.stdout.write(
      `${localDlqName(cmd.functionName)}: empty (no such queue in ${dir}: ${cmd.functionName} has no async.onFailure: 'dlq', or laminar dev has not run here)\n`,
    );
    return 0;
  }
  if (lists.length === 0) {
    io.stdout.write(
      existsSync(dir)
        ? `no DLQ messages (no DLQ in ${dir}: laminar dev creates one per function with async.onFailure: 'dlq')\n`
        : `no DLQ messages (no queue files in ${dir}: run laminar dev first)\n`,
    );
    return 0;
  }
  for (const l of lists) {
    io.stdout.write(`${l.name}: ${plural(l.messages.length, 'message')}\n`);
    for (const m of l.messages) for (const line of describeDestinationMessage(m)) io.stdout.write(`  ${line}\n`);
  }
  return 0;
}

export function queueListCommand(cmd: Extract<Command, { command: 'queue-list' }>, io: QueueIo): number {
  const dir = queuesDirectory(findRoot(io.cwd), io.env);
  const files = queueFiles(dir);
  if (!cmd.queue) {
    if (cmd.json) {
      io.stdout.write(`${JSON.stringify(Object.fromEntries([...files].map(([n, p]) => [n, readQueueFile(p).length])))}\n`);
      return 0;
    }
    if (files.size === 0) io.stdout.write(`no queues yet in ${dir} (laminar dev creates them)\n`);
    for (const [name, path] of files) io.stdout.write(`${name}: ${plural(readQueueFile(path).length, 'message')}\n`);
    return 0;
  }
  // A logical name (bronze-arrivals), a DLQ's function (csv-validator-dlq) or the real name.
  const name = [cmd.queue, localQueueName(cmd.queue)].find((n) => files.has(n));
  if (!name) {
    throw new UsageError(`no queue "${cmd.queue}" in ${dir} (known: ${[...files.keys()].join(', ') || 'none yet: run laminar dev'})`);
  }
  const messages = readQueueFile(files.get(name) as string);
  if (cmd.json) {
    io.stdout.write(`${JSON.stringify(messages)}\n`);
    return 0;
  }
  io.stdout.write(`${name}: ${plural(messages.length, 'message')}\n`);
  for (const m of messages) {
    const body = m.body;
    if (isRecord(body) && body.version === '1.0' && isRecord(body.requestContext)) {
      for (const line of describeDestinationMessage(m)) io.stdout.write(`  ${line}\n`);
    } else {
      const attrs = Object.entries(m.attributes).map(([k, v]) => `${k}=${v}`).join(' ');
      io.stdout.write(`  ${m.messageId}  ${m.sentAt}  ${describeEvent(body)}${attrs ? `  (${attrs})` : ''}\n`);
    }
  }
  return 0;
}

/**
 * Invokes the function with a DLQ message's original event, as `laminar invoke` would (same
 * emulators and data folders); the message leaves the DLQ when the invocation succeeds.
 */
export async function dlqReplayCommand(cmd: Extract<Command, { command: 'dlq-replay' }>, io: QueueIo): Promise<number> {
  const root = findRoot(io.cwd);
  const functionName = await dlqFunction(root, cmd.functionName);
  const name = localDlqName(functionName);
  const dlq = new LocalQueues(queuesDirectory(root, io.env)).declare(name, 'dlq', functionName);
  // Held for the whole replay: a second replay of the message (here or from the console) is
  // refused rather than running the event twice.
  return dlq.withClaim(cmd.messageId, () => replay(cmd, io, { root, functionName, name, dlq })).catch((error: unknown) => {
    throw error instanceof MessageClaimedError ? new UsageError(error.message) : error;
  });
}

async function replay(
  cmd: Extract<Command, { command: 'dlq-replay' }>,
  io: QueueIo,
  { root, functionName, name, dlq }: { root: string; functionName: string; name: string; dlq: LocalQueue },
): Promise<number> {
  const messages = dlq.messages();
  const message = messages.find((m) => m.messageId === cmd.messageId);
  if (!message) {
    throw new UsageError(`no message ${cmd.messageId} in ${name} (${messages.length ? `messages: ${messages.map((m) => m.messageId).join(', ')}` : 'it is empty'})`);
  }
  const record = message.body as Partial<DestinationRecord>;
  if (isRecord(record) && 'KafkaBatchInfo' in record) {
    throw new UsageError(`message ${cmd.messageId} names a Kafka batch, not an event: its records are still in the topic (offsets in the message); they are re-read from there, not replayed from the DLQ`);
  }
  if (!isRecord(record) || !('requestPayload' in record)) throw new UsageError(`message ${cmd.messageId} holds no invocation record to replay`);
  const logs = cmd.json ? io.stderr : io.stdout;
  const local = await startLocal({
    root,
    functions: [functionName],
    s3Directory: join(stateDirectory(root, io.env), 's3'),
    dynamodbDirectory: join(stateDirectory(root, io.env), 'dynamodb'),
    queuesDirectory: queuesDirectory(root, io.env),
    output: prefixedOutput(logs, { raw: cmd.rawLogs }),
    env: io.env,
    eventSources: false,
  });
  io.onInterrupt(() => local.stop());
  try {
    logs.write(`laminar: replaying ${describeEvent(record.requestPayload)} from ${name} (message ${cmd.messageId})\n`);
    // Only this function runs here, so the rest of the pipeline does not see what it writes: said,
    // lest a missing downstream result be taken for a bug.
    logs.write(`laminar: ${functionName} runs alone: what it writes triggers no downstream function (laminar dev runs the whole pipeline)\n`);
    const res = await local.invoke(functionName, record.requestPayload, {
      invocationType: 'RequestResponse',
      trigger: { kind: 'replay', queue: name, messageId: cmd.messageId },
    });
    const removed = !res.error && dlq.delete(cmd.messageId);
    if (cmd.json) {
      const body = res.error ? { requestId: res.requestId, error: res.error, report: res.report } : { requestId: res.requestId, result: res.result, report: res.report, removed };
      io.stdout.write(`${JSON.stringify(body)}\n`);
    } else {
      const outcome = res.error
        ? '\nError (the message stays in the DLQ):\n'
        : removed
          ? `\nResult (message ${cmd.messageId} removed from ${name}):\n`
          : `\nResult (message ${cmd.messageId} was no longer in ${name}: laminar dev started afresh meanwhile):\n`;
      io.stdout.write(outcome);
      io.stdout.write(`${JSON.stringify(res.error ?? res.result, null, 2)}\n`);
    }
    return res.error ? 1 : 0;
  } finally {
    await local.stop();
  }
}
