import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { clearQueueDirectory, localDlqName, LocalQueues, queueFiles, localQueueName, readQueueFile } from '../../src/queues.ts';

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

  it('live in memory without a directory', () => {
    const q = new LocalQueues(undefined).declare('q', 'queue', 'q');
    q.send('hello');
    expect(q.messages().map((m) => m.body)).toEqual(['hello']);
    expect(q.messages()[0]?.messageId).toMatch(/^[0-9a-f-]{36}$/);
  });
});
