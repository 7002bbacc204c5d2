import { randomUUID } from 'node:crypto';
import { appendFileSync, existsSync, linkSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { byCodePoint, DLQ_SUFFIX, dlqName, queueName } from '@laminar/spec';
import { processAlive } from './pids.ts';

/**
 * Local stand-ins for the SQS queues infra creates: declared queues (queues/<name>.ts, targets of
 * S3 rules) and each function's on-failure DLQ. A queue lives in memory and, given a directory,
 * in `<dir>/<queue name>.jsonl` — created when the queue is declared, then one line per message
 * sent, plus a line per message deleted — so `laminar dlq list` / `laminar queue list` in another
 * process see every queue and what the runner put there.
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

/** Another process (or this one) is replaying the message: a second replay would run it twice. */
export class MessageClaimedError extends Error {
  override name = 'MessageClaimedError';
}

export class LocalQueue {
  private readonly memory = new Map<string, QueueMessage>();
  /** Messages claimed in this process (queues without a file). */
  private readonly claimed = new Set<string>();

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
    if (!this.file) return [...this.memory.values()];
    // Read again only when the file changed (it only grows): the console polls depths twice a
    // second, and a queue nothing drains locally grows for the whole session.
    const size = statSync(this.file, { throwIfNoEntry: false })?.size ?? -1;
    if (this.read?.size !== size) this.read = { size, messages: readQueueFile(this.file) };
    return [...this.read.messages];
  }

  /**
   * Runs `work` holding the message's claim (see claim()), releasing it however `work` ends: the one
   * shape every replay takes. A message already claimed rejects with MessageClaimedError.
   */
  async withClaim<T>(messageId: string, work: () => Promise<T>): Promise<T> {
    const release = this.claim(messageId);
    try {
      return await work();
    } finally {
      release();
    }
  }
  /** The file's messages as last read, and its size then. */
  private read: { size: number; messages: QueueMessage[] } | undefined;

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

  /**
   * Takes a message for replay until `release()`: a second claim, from this process or another
   * (`laminar dlq replay` while the console replays it), fails with MessageClaimedError instead
   * of invoking the function a second time. With a file, the claim is a file beside the queue's
   * holding the claimant's pid and a token of its own, created whole (written aside, then linked:
   * a link fails if the name exists, and no one ever reads a claim half-written). A claim whose
   * process is gone is stale: it is moved aside under a name of the taker's, and taken over only
   * if what was moved is the stale claim that was read — two takers cannot both win.
   */
  claim(messageId: string): () => void {
    if (!this.file) {
      if (this.claimed.has(messageId)) throw new MessageClaimedError(`message ${messageId} of ${this.name} is already being replayed`);
      this.claimed.add(messageId);
      return () => this.claimed.delete(messageId);
    }
    const path = `${this.file}.${messageId}.claim`;
    const token = `${process.pid} ${randomUUID()}`;
    const mine = `${path}.${randomUUID()}`;
    writeFileSync(mine, token);
    try {
      for (let attempt = 0; attempt < 5; attempt++) {
        try {
          linkSync(mine, path);
          return () => {
            // Only our own claim: after a takeover the file may be another claimant's.
            if (readIfThere(path) === token) rmSync(path, { force: true });
          };
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        }
        const held = readIfThere(path);
        if (held === undefined) continue; // released meanwhile: try again
        const pid = Number(held.split(' ')[0]);
        if (pid > 0 && processAlive(pid)) {
          throw new MessageClaimedError(`message ${messageId} of ${this.name} is being replayed by process ${pid}; if no such process runs, remove ${path}`);
        }
        // Its claimant died mid-replay: move the claim aside, and drop it only if it is the one read.
        const aside = `${path}.stale.${randomUUID()}`;
        try {
          renameSync(path, aside);
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
          throw error;
        }
        if (readIfThere(aside) !== held) {
          // Another taker's live claim, created between the read and the move: put it back.
          try {
            linkSync(aside, path);
          } finally {
            rmSync(aside, { force: true });
          }
          throw new MessageClaimedError(`message ${messageId} of ${this.name} is being replayed by another process`);
        }
        rmSync(aside, { force: true });
      }
      throw new MessageClaimedError(`message ${messageId} of ${this.name}: its claim keeps changing hands; try again`);
    } finally {
      rmSync(mine, { force: true });
    }
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
      const file = this.directory ? join(this.directory, `${name}.jsonl`) : undefined;
      // Another process knows a queue by its file: one that has received nothing yet is listed
      // (0 messages), not unknown. Appending nothing keeps what the file already holds.
      if (file) appendFileSync(file, '');
      q = new LocalQueue(name, kind, owner, file);
      this.queues.set(name, q);
    }
    return q;
  }

  get(name: string): LocalQueue | undefined {
    return this.queues.get(name);
  }

  all(): LocalQueue[] {
    return [...this.queues.values()].sort((a, b) => byCodePoint(a.name, b.name));
  }
}

function readIfThere(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/**
 * Forgets every queue file (a new `laminar dev` run starts with empty queues, as it starts with an
 * empty S3), and says what it forgot: the messages each DLQ still held, by DLQ (only those are
 * read; the other queues can be long and nothing is said about them).
 */
export function clearQueueDirectory(directory: string): Map<string, QueueMessage[]> {
  const forgotten = new Map<string, QueueMessage[]>();
  if (!existsSync(directory)) return forgotten;
  for (const f of readdirSync(directory)) {
    if (!f.endsWith('.jsonl') && !f.includes('.claim')) continue;
    const path = join(directory, f);
    if (f.endsWith(`${DLQ_SUFFIX}.jsonl`)) {
      const messages = readQueueFile(path);
      if (messages.length > 0) forgotten.set(f.slice(0, -'.jsonl'.length), messages);
    }
    rmSync(path, { force: true });
  }
  return forgotten;
}

/** The queue files in a directory, by queue name. */
export function queueFiles(directory: string): Map<string, string> {
  const out = new Map<string, string>();
  if (!existsSync(directory)) return out;
  for (const f of readdirSync(directory).sort()) if (f.endsWith('.jsonl')) out.set(f.slice(0, -'.jsonl'.length), join(directory, f));
  return out;
}
