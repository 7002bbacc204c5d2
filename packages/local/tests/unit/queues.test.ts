import { appendFileSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { AsyncInvoker } from '../../src/async.ts';
import { dlqListCommand, type QueueIo, queueListCommand, queuesDirectory } from '../../src/queue-commands.ts';
import { clearQueueDirectory, localDlqName, LocalQueues, MessageClaimedError, queueFiles, localQueueName, readQueueFile } from '../../src/queues.ts';

const dirs: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'laminar-queues-'));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('local queues', () => {
  it('are named as infra names them for stage local', () => {
    expect(localQueueName('bronze-arrivals')).toBe('laminar-local-bronze-arrivals');
    expect(localDlqName('csv-validator')).toBe('laminar-local-csv-validator-dlq');
  });

  it('keep messages in a JSONL file another process can read, deletions included', () => {
    const dir = tempDir();
    const queues = new LocalQueues(dir);
    const q = queues.declare('laminar-local-x-dlq', 'dlq', 'x');
    const a = q.send({ n: 1 }, { function: 'x' });
    const b = q.send({ n: 2 });
    expect(q.depth).toBe(2);
    expect(q.delete(a.messageId)).toBe(true);
    expect(q.delete('nope')).toBe(false);
    const path = join(dir, 'laminar-local-x-dlq.jsonl');
    expect(readQueueFile(path)).toEqual([b]);
    expect(queueFiles(dir)).toEqual(new Map([['laminar-local-x-dlq', path]]));
    // A line still being written when another process reads is skipped, not an error.
    appendFileSync(path, '{"sent":{"messageId":"half');
    expect(readQueueFile(path)).toEqual([b]);
    // Another process's view: what was deleted there is gone here too.
    const other = new LocalQueues(dir).declare('laminar-local-x-dlq', 'dlq', 'x');
    expect(other.messages().map((m) => m.body)).toEqual([{ n: 2 }]);
    clearQueueDirectory(dir);
    expect(queueFiles(dir).size).toBe(0);
  });

  it('let one claimant at a time replay a message, across processes; a dead claimant\'s claim is taken over', () => {
    const dir = tempDir();
    const q = new LocalQueues(dir).declare('laminar-local-x-dlq', 'dlq', 'x');
    const m = q.send({ n: 1 });
    const release = q.claim(m.messageId);
    // Another process's view of the same queue.
    const other = new LocalQueues(dir).declare('laminar-local-x-dlq', 'dlq', 'x');
    expect(() => other.claim(m.messageId)).toThrow(MessageClaimedError);
    expect(() => other.claim(m.messageId)).toThrow(new RegExp(`being replayed by process ${process.pid}`));
    release();
    other.claim(m.messageId)();
    // A claim whose process is gone (pid 2^22 + 1 is above Linux's pid limit) is stale.
    const path = join(dir, `laminar-local-x-dlq.jsonl.${m.messageId}.claim`);
    writeFileSync(path, String(2 ** 22 + 1));
    const taken = other.claim(m.messageId);
    expect(existsSync(path)).toBe(true);
    taken();
    expect(existsSync(path)).toBe(false);
    // In memory (no file), the same rule within the process.
    const memory = new LocalQueues(undefined).declare('q', 'dlq', 'q');
    const done = memory.claim('m');
    expect(() => memory.claim('m')).toThrow(MessageClaimedError);
    done();
    memory.claim('m')();
  });

  it('forget their files on a new run, and say what each queue still held', () => {
    const dir = tempDir();
    const queues = new LocalQueues(dir);
    const dlq = queues.declare('laminar-local-x-dlq', 'dlq', 'x');
    const kept = dlq.send({ n: 1 });
    dlq.delete(dlq.send({ n: 2 }).messageId);
    queues.declare('laminar-local-empty', 'queue', 'empty').delete('none');
    // A DLQ declared and never sent to (its file empty) is wiped too, with nothing to say.
    queues.declare('laminar-local-y-dlq', 'dlq', 'y');
    expect(queueFiles(dir).has('laminar-local-y-dlq')).toBe(true);
    writeFileSync(join(dir, `laminar-local-x-dlq.jsonl.${kept.messageId}.claim`), '1');
    expect(clearQueueDirectory(dir)).toEqual(new Map([['laminar-local-x-dlq', [kept]]]));
    expect(queueFiles(dir).size).toBe(0);
    expect(clearQueueDirectory(join(dir, 'absent'))).toEqual(new Map());
  });

  it('live in memory without a directory', () => {
    const q = new LocalQueues(undefined).declare('q', 'queue', 'q');
    q.send('hello');
    expect(q.messages().map((m) => m.body)).toEqual(['hello']);
    expect(q.messages()[0]?.messageId).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('laminar queue list and dlq list, from another process', () => {
  /** What a command prints and returns, run in `root`. */
  async function run(command: (io: QueueIo) => number | Promise<number>, root: string): Promise<{ code: number; stdout: string }> {
    const stdout = new PassThrough();
    const code = await command({ stdout, stderr: new PassThrough(), cwd: root, env: {}, onInterrupt: () => {} });
    return { code, stdout: String(stdout.read() ?? '') };
  }
  const project = () => {
    const root = tempDir();
    writeFileSync(join(root, 'pnpm-workspace.yaml'), 'packages: []\n');
    return root;
  };

  it('show every declared queue, one that has received nothing yet included', async () => {
    const root = project();
    const queues = new LocalQueues(queuesDirectory(root, {}));
    // What laminar dev declares as it starts: an S3 rule's queue, and each onFailure function's DLQ.
    queues.declare(localQueueName('bronze-arrivals'), 'queue', 'bronze-arrivals');
    new AsyncInvoker({ invoker: { invoke: () => Promise.reject(new Error('not invoked')) }, functions: [{ name: 'csv-validator', async: { maxRetries: 2, maxEventAgeS: 3600, onFailure: 'dlq' } }], queues, region: 'us-east-1' });

    expect(await run((io) => queueListCommand({ command: 'queue-list', queue: undefined, json: false }, io), root)).toEqual({
      code: 0,
      stdout: 'laminar-local-bronze-arrivals: 0 messages\nlaminar-local-csv-validator-dlq: 0 messages\n',
    });
    expect(await run((io) => queueListCommand({ command: 'queue-list', queue: undefined, json: true }, io), root)).toEqual({
      code: 0,
      stdout: '{"laminar-local-bronze-arrivals":0,"laminar-local-csv-validator-dlq":0}\n',
    });
    expect(await run((io) => queueListCommand({ command: 'queue-list', queue: 'bronze-arrivals', json: false }, io), root)).toEqual({
      code: 0,
      stdout: 'laminar-local-bronze-arrivals: 0 messages\n',
    });
    expect(await run((io) => dlqListCommand({ command: 'dlq-list', functionName: undefined, json: false }, io), root)).toEqual({
      code: 0,
      stdout: 'laminar-local-csv-validator-dlq: 0 messages\n',
    });
  });

  it('keep what a queue file holds when another process declares the queue again', () => {
    const dir = queuesDirectory(project(), {});
    const kept = new LocalQueues(dir).declare(localDlqName('x'), 'dlq', 'x').send({ n: 1 });
    // `laminar invoke` or `dlq replay` starting while dev runs declares the same queues.
    expect(new LocalQueues(dir).declare(localDlqName('x'), 'dlq', 'x').messages()).toEqual([kept]);
    expect(readQueueFile(join(dir, `${localDlqName('x')}.jsonl`))).toEqual([kept]);
  });

  it('say whether laminar dev has run when there is no DLQ to list', async () => {
    const root = project();
    expect((await run((io) => dlqListCommand({ command: 'dlq-list', functionName: undefined, json: false }, io), root)).stdout).toMatch(
      /^no DLQ messages \(no queue files in .*: run laminar dev first\)\n$/,
    );
    // A run whose functions have no onFailure DLQ: its queues only.
    new LocalQueues(queuesDirectory(root, {})).declare(localQueueName('bronze-arrivals'), 'queue', 'bronze-arrivals');
    expect((await run((io) => dlqListCommand({ command: 'dlq-list', functionName: undefined, json: false }, io), root)).stdout).toMatch(
      /^no DLQ messages \(no DLQ in .*: laminar dev creates one per function with async.onFailure: 'dlq'\)\n$/,
    );
  });
});
