import { randomUUID } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { dlqName, queueName } from '@laminar/spec';

/**
 * Local stand-ins for the SQS queues infra creates: declared queues (queues/<name>.ts, targets of
 * S3 rules) and each function's on-failure DLQ. A queue lives in memory and, given a directory,
 * in `<dir>/<queue name>.jsonl` — one line per message sent, plus a line per message deleted — so
 * `laminar dlq list` / `laminar queue list` in another process see what the runner put there.
 */

export interface QueueMessage<T = unknown> {
  /** A UUID, as SQS gives. */
  messageId: string;
  /** ISO time the message was sent. */
  sentAt: string;
  body: T;
  /** Where the message came from (e.g. the rule or the function), for listings. */
  attributes: Record<string, string>;
}

type Line = { sent: QueueMessage } | { deleted: string; at: string };

export type QueueKind = 'queue' | 'dlq';

/** The names infra gives, for stage "local". */
export const localQueueName = (logical: string, stage = 'local') => queueName(stage, logical);
export const localDlqName = (functionName: string, stage = 'local') => dlqName(stage, functionName);

/** Reads a queue file: the messages still there, oldest first. A half-written last line is skipped. */
export function readQueueFile(path: string): QueueMessage[] {
  if (!existsSync(path)) return [];
  const messages = new Map<string, QueueMessage>();
  for (const text of readFileSync(path, 'utf8').split('\n')) {
    if (!text.trim()) continue;
    let line: Line;
    try {
      line = JSON.parse(text) as Line;
    } catch {
      continue;
    }
    if ('sent' in line) messages.set(line.sent.messageId, line.sent);
    else messages.delete(line.deleted);
  }
  return [...messages.values()];
}

export class LocalQueue {
  private readonly memory = new Map<string, QueueMessage>();

  constructor(
    /** The real (local) name, e.g. laminar-local-csv-validator-dlq. */
    readonly name: string,
    readonly kind: QueueKind,
    /** The queue's logical name, or the function a DLQ belongs to. */
    readonly owner: string,
    readonly file: string | undefined,
  ) {}

  send<T>(body: T, attributes: Record<string, string> = {}): QueueMessage<T> {
    const message: QueueMessage<T> = { messageId: randomUUID(), sentAt: new Date().toISOString(), body, attributes };
    this.memory.set(message.messageId, message);
    this.append({ sent: message });
    return message;
  }

  /** Messages in the queue, oldest first (from the file when there is one: another process may have deleted some). */
  messages(): QueueMessage[] {
    return this.file ? readQueueFile(this.file) : [...this.memory.values()];
  }

  get depth(): number {
    return this.messages().length;
  }

  delete(messageId: string): boolean {
    const known = this.messages().some((m) => m.messageId === messageId);
    if (!known) return false;
    this.memory.delete(messageId);
    this.append({ deleted: messageId, at: new Date().toISOString() });
    return true;
  }

  private append(line: Line): void {
    if (!this.file) return;
    // One appendFileSync per line: whole lines, so a reader never sees two messages interleaved.
    appendFileSync(this.file, `${JSON.stringify(line)}\n`);
  }
}

export class LocalQueues {
  private readonly queues = new Map<string, LocalQueue>();

  /** Without a directory, queues live only in memory. */
  constructor(readonly directory: string | undefined) {
    if (directory) mkdirSync(directory, { recursive: true });
  }

  declare(name: string, kind: QueueKind, owner: string): LocalQueue {
    let q = this.queues.get(name);
    if (!q) {
      q = new LocalQueue(name, kind, owner, this.directory ? join(this.directory, `${name}.jsonl`) : undefined);
      this.queues.set(name, q);
    }
    return q;
  }

  get(name: string): LocalQueue | undefined {
    return this.queues.get(name);
  }

  all(): LocalQueue[] {
    return [...this.queues.values()].sort((a, b) => a.name.localeCompare(b.name));
  }
}

/** Forgets every queue file (a new `laminar dev` run starts with empty queues, as it starts with an empty S3). */
export function clearQueueDirectory(directory: string): void {
  if (!existsSync(directory)) return;
  for (const f of readdirSync(directory)) if (f.endsWith('.jsonl')) rmSync(join(directory, f), { force: true });
}

/** The queue files in a directory, by queue name. */
export function queueFiles(directory: string): Map<string, string> {
  const out = new Map<string, string>();
  if (!existsSync(directory)) return out;
  for (const f of readdirSync(directory).sort()) if (f.endsWith('.jsonl')) out.set(f.slice(0, -'.jsonl'.length), join(directory, f));
  return out;
}
