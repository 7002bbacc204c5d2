import type { S3Client } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { keepRejectedRecords, type RejectedRecord } from '../../src/rejected-records.ts';

/** A client answering each PutObject with `answer(key, attempt)`: a status to fail with, or undefined to succeed. */
function fakeClient(answer: (key: string, attempt: number) => number | undefined) {
  const calls: string[] = [];
  const client = {
    send: async (command: { input: { Key: string } }) => {
      const key = command.input.Key;
      calls.push(key);
      const status = answer(key, calls.filter((k) => k === key).length);
      if (status !== undefined) throw Object.assign(new Error(`status ${status}`), { name: `S3_${status}`, $metadata: { httpStatusCode: status } });
      return {};
    },
  } as unknown as S3Client;
  return { client, calls };
}

const bad = (n: number): RejectedRecord => ({ source: 'https://example.com/feed.xml', reasons: ['no title and no link'], record: { guid: `g${n}` } });
const options = { bucket: 'lake', prefix: 'rejected/x/', rejectedBy: 'x', conflictRetryMs: [1, 1] };

describe('keepRejectedRecords', () => {
  it('tries a write S3 answered 409 (a conflicting write under way) again, and counts it failed if the conflict lasts', async () => {
    const once = fakeClient((_key, attempt) => (attempt === 1 ? 409 : undefined));
    expect(await keepRejectedRecords([bad(1)], { ...options, client: once.client })).toEqual({ written: 1, alreadyKept: 0, failed: 0, failedSources: [] });
    expect(once.calls).toHaveLength(2);
    const always = fakeClient(() => 409);
    expect(await keepRejectedRecords([bad(1)], { ...options, client: always.client })).toMatchObject({ written: 0, alreadyKept: 0, failed: 1 });
    expect(always.calls).toHaveLength(3);
  });

  it('gives a record repeated within one call the outcome of its one write, failed included', async () => {
    const denied = fakeClient(() => 403);
    expect(await keepRejectedRecords([bad(1), bad(1)], { ...options, client: denied.client })).toMatchObject({ written: 0, alreadyKept: 0, failed: 2 });
    expect(denied.calls).toHaveLength(1);
    const fine = fakeClient(() => undefined);
    expect(await keepRejectedRecords([bad(1), bad(1), bad(2)], { ...options, client: fine.client })).toEqual({ written: 2, alreadyKept: 1, failed: 0, failedSources: [] });
  });

  it('sends nothing for records this environment has seen kept (written, or answered 412)', async () => {
    const keptKeys = new Set<string>();
    const first = fakeClient(() => undefined);
    await keepRejectedRecords([bad(1)], { ...options, client: first.client, keptKeys });
    const existing = fakeClient(() => 412);
    expect(await keepRejectedRecords([bad(2)], { ...options, client: existing.client, keptKeys })).toMatchObject({ alreadyKept: 1 });
    const again = fakeClient(() => undefined);
    expect(await keepRejectedRecords([bad(1), bad(2)], { ...options, client: again.client, keptKeys })).toEqual({ written: 0, alreadyKept: 2, failed: 0, failedSources: [] });
    expect(again.calls).toEqual([]);
    // A failed write is not remembered: the next call tries it again.
    const failing = fakeClient(() => 500);
    await keepRejectedRecords([bad(3)], { ...options, client: failing.client, keptKeys });
    const retried = fakeClient(() => undefined);
    await keepRejectedRecords([bad(3)], { ...options, client: retried.client, keptKeys });
    expect(retried.calls).toHaveLength(1);
  });
});
