import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DeleteObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AsyncOutcome } from '../../src/async.ts';
import { type Local, startLocal } from '../../src/runner.ts';
import { eventsRoot } from './events-root.ts';
import { runLaminar } from './laminar-process.ts';

let root: Awaited<ReturnType<typeof eventsRoot>>;

beforeAll(async () => {
  root = await eventsRoot();
});
afterAll(() => root.remove());

// Lambda's 1 min retry wait becomes 60 ms.
const SCALE = 0.001;

async function put(local: Local, key: string, body = 'order_id\n1\n'): Promise<void> {
  await local.s3?.client.send(new PutObjectCommand({ Bucket: local.bucket('lake'), Key: key, Body: body }));
}

const keyOf = (o: AsyncOutcome) => (o.trigger?.kind === 's3' ? o.trigger.key : undefined);

type Validated = { key: string; raw: string; requestId: string; event: Record<string, unknown> };

describe('S3 → EventBridge → targets', () => {
  it('invokes every function of the matching rule asynchronously with the EventBridge event, and sends it to the rule\'s queue', async () => {
    const local = await startLocal({ root: root.dir, env: {}, queuesDirectory: false, retryDelayScale: SCALE });
    try {
      expect(local.s3Routes).toHaveLength(1);
      expect(local.s3Routes[0]).toMatchObject({ functions: ['auditor', 'validator'], queues: ['arrivals'], bucketName: 'laminar-local-lake' });
      expect(local.services.join('\n')).toContain('S3 → EventBridge: 1 rule (in/*.csv in laminar-local-lake (Object Created) → auditor, validator, queue arrivals)');
      await put(local, 'in/2026/Q1 orders – café+bar.csv', 'a,b\n1,2\n');
      await local.settle();

      const outcomes = local.asyncInvoker.outcomes;
      expect(outcomes.map((o) => [o.functionName, o.status])).toEqual(expect.arrayContaining([['validator', 'succeeded'], ['auditor', 'succeeded']]));
      expect(outcomes).toHaveLength(2);
      const validated = outcomes.find((o) => o.functionName === 'validator')?.attempts[0];
      expect(validated?.invocationType).toBe('Event');
      expect(validated?.trigger).toMatchObject({ kind: 's3', ruleName: local.s3Routes[0]?.ruleName, key: 'in/2026/Q1 orders – café+bar.csv' });
      const r = validated?.result as Validated;
      // The key arrives encoded as S3 encodes it; the function decodes it back.
      expect(r.raw).toBe('in/2026/Q1+orders+%E2%80%93+caf%C3%A9%2Bbar.csv');
      expect(r.key).toBe('in/2026/Q1 orders – café+bar.csv');
      expect(r.requestId).toBe(validated?.requestId);
      expect(r.event).toEqual({
        version: '0',
        id: expect.stringMatching(/^[0-9a-f-]{36}$/),
        'detail-type': 'Object Created',
        source: 'aws.s3',
        account: '000000000000',
        time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
        region: 'us-east-1',
        resources: ['arn:aws:s3:::laminar-local-lake'],
        detail: {
          version: '0',
          'event-version': '1.0',
          bucket: { name: 'laminar-local-lake' },
          object: { key: r.raw, size: 8, etag: expect.stringMatching(/^[0-9a-f]{32}$/), sequencer: expect.stringMatching(/^[0-9A-F]{16}$/) },
          'request-id': expect.stringMatching(/^[0-9A-F]{16}$/),
          requester: '000000000000',
          'source-ip-address': '127.0.0.1',
          reason: 'PutObject',
        },
      });
      // One event, the same to every target of the rule.
      const audited = outcomes.find((o) => o.functionName === 'auditor')?.attempts[0]?.result as { id: string };
      expect(audited.id).toBe(r.event.id);
      const [message] = local.queues.get('laminar-local-arrivals')?.messages() ?? [];
      expect(message?.body).toEqual(r.event);
    } finally {
      await local.stop();
    }
  });

  it('ignores keys no rule matches: another prefix, another suffix, upper-case suffix, a delete', async () => {
    const local = await startLocal({ root: root.dir, env: {}, queuesDirectory: false, retryDelayScale: SCALE });
    try {
      for (const key of ['out/a.csv', 'in/a.txt', 'in/A.CSV', 'in.csv']) await put(local, key);
      await put(local, 'in/later.csv');
      await local.settle();
      await local.s3?.client.send(new DeleteObjectCommand({ Bucket: 'laminar-local-lake', Key: 'in/later.csv' }));
      await local.settle();
      expect(local.s3Events?.seen).toBe(6);
      expect(local.asyncInvoker.outcomes.map(keyOf)).toEqual(['in/later.csv', 'in/later.csv']);
      expect(local.queues.get('laminar-local-arrivals')?.depth).toBe(1);
    } finally {
      await local.stop();
    }
  });

  it('retries a failing function, then puts the original event and the error in its DLQ; the other target is unaffected', async () => {
    const local = await startLocal({ root: root.dir, env: {}, queuesDirectory: join(root.dir, '.laminar', 'queues'), retryDelayScale: SCALE });
    let messageId: string;
    try {
      await put(local, 'in/poison.csv', '\u0000\u0001junk');
      await local.settle();
      const validator = local.asyncInvoker.outcomes.find((o) => o.functionName === 'validator');
      expect(validator?.status).toBe('failed');
      // maxRetries 1: two attempts, one request id.
      expect(validator?.attempts.map((a) => [a.attempt, a.requestId, a.error?.errorType])).toEqual([
        [1, validator?.requestId, 'PoisonError'],
        [2, validator?.requestId, 'PoisonError'],
      ]);
      expect(local.asyncInvoker.outcomes.find((o) => o.functionName === 'auditor')?.status).toBe('succeeded');
      const dlq = local.queues.get('laminar-local-validator-dlq');
      const [m] = dlq?.messages() ?? [];
      expect(dlq?.depth).toBe(1);
      messageId = m?.messageId as string;
      expect(m?.body).toMatchObject({
        version: '1.0',
        requestContext: {
          requestId: validator?.requestId,
          functionArn: 'arn:aws:lambda:us-east-1:000000000000:function:validator:$LATEST',
          condition: 'RetriesExhausted',
          approximateInvokeCount: 2,
        },
        requestPayload: { source: 'aws.s3', 'detail-type': 'Object Created', detail: { object: { key: 'in/poison.csv' } } },
        responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
        responsePayload: { errorType: 'PoisonError', errorMessage: 'not a CSV: in/poison.csv' },
      });
      // The object goes away: a replay can now succeed.
      await local.s3?.client.send(new DeleteObjectCommand({ Bucket: 'laminar-local-lake', Key: 'in/poison.csv' }));
    } finally {
      await local.stop();
    }

    // Another process lists what failed, why and when, and replays it.
    const listed = await laminar(['dlq', 'list', 'validator']);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toContain('laminar-local-validator-dlq: 1 message');
    expect(listed.stdout).toMatch(new RegExp(`${messageId}  \\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z  RetriesExhausted after 2 attempts`));
    expect(listed.stdout).toContain('event:   Object Created s3://laminar-local-lake/in/poison.csv');
    expect(listed.stdout).toContain('error:   PoisonError: not a CSV: in/poison.csv');
    const queue = await laminar(['queue', 'list', 'arrivals']);
    expect(queue.stdout).toContain('laminar-local-arrivals: 1 message');
    expect(queue.stdout).toContain('Object Created s3://laminar-local-lake/in/poison.csv');

    // A typo is not "nothing failed"; the DLQ's own name is understood.
    const typo = await laminar(['dlq', 'list', 'validater']);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toMatch(/no function "validater" \(known: .*validator/);
    expect((await laminar(['dlq', 'list', 'laminar-local-validator-dlq'])).stdout).toContain('laminar-local-validator-dlq: 1 message');

    // While another live process replays the message (its claim beside the queue's file), a second
    // replay is refused instead of running the event twice.
    const claim = join(root.dir, '.laminar', 'queues', `laminar-local-validator-dlq.jsonl.${messageId}.claim`);
    writeFileSync(claim, String(process.pid));
    const second = await laminar(['dlq', 'replay', 'validator', messageId]);
    expect(second.code).toBe(2);
    expect(second.stderr).toContain(`message ${messageId} of laminar-local-validator-dlq is being replayed by process ${process.pid}`);
    rmSync(claim);

    const replayed = await laminar(['dlq', 'replay', 'validator', messageId, '--json']);
    expect(replayed.code).toBe(0);
    expect(JSON.parse(replayed.stdout)).toMatchObject({ result: { key: 'in/poison.csv', healed: true }, removed: true });
    // The replay runs the function alone, and says so: nothing downstream sees what it writes.
    expect(replayed.stderr).toContain('laminar: validator runs alone: what it writes triggers no downstream function');
    expect(existsSync(claim)).toBe(false);
    expect((await laminar(['dlq', 'list', 'validator'])).stdout).toContain('laminar-local-validator-dlq: 0 messages');
  });

  it('stop() routes the events still on their way from the emulator: the queue gets its message, the functions an Interrupted record', async () => {
    const local = await startLocal({ root: root.dir, env: {}, queuesDirectory: false, retryDelayScale: SCALE });
    const embedded = local.s3?.embedded;
    if (!embedded) throw new Error('no embedded S3');
    // Events held back until a flush asks for them: those of a write answered just before the stop
    // (an attempt that returned in dev's grace) that have not crossed from the emulator yet.
    const held: unknown[][] = [];
    const emit = embedded.events.emit.bind(embedded.events);
    embedded.events.emit = (name: string | symbol, ...args: unknown[]) => (name === 'event' ? held.push(args) > 0 : emit(name, ...args));
    const flush = embedded.flushEvents.bind(embedded);
    embedded.flushEvents = async () => {
      await flush();
      for (const args of held.splice(0)) emit('event', ...args);
    };
    let stopped = false;
    try {
      await put(local, 'in/late.csv');
      await flush();
      expect(held).toHaveLength(1);
      await local.stop();
      stopped = true;
      await local.asyncInvoker.idle();
      expect(local.queues.get('laminar-local-arrivals')?.depth).toBe(1);
      expect(local.asyncInvoker.outcomes.map((o) => [o.functionName, o.status, keyOf(o)]).sort()).toEqual([
        ['auditor', 'stopped', 'in/late.csv'],
        ['validator', 'stopped', 'in/late.csv'],
      ]);
      expect(local.queues.get('laminar-local-validator-dlq')?.messages()[0]?.body).toMatchObject({ requestContext: { condition: 'Interrupted', approximateInvokeCount: 0 } });
    } finally {
      if (!stopped) await local.stop();
    }
  });

  it('--duplicate-events delivers every event twice: same event id, two invocations per function, two queue messages', async () => {
    const local = await startLocal({ root: root.dir, env: {}, queuesDirectory: false, retryDelayScale: SCALE, duplicateEvents: true });
    try {
      await put(local, 'in/twice.csv');
      await local.settle();
      const outcomes = local.asyncInvoker.outcomes.filter((o) => o.functionName === 'validator');
      expect(outcomes).toHaveLength(2);
      const ids = outcomes.map((o) => (o.attempts[0]?.result as Validated | undefined)?.event.id);
      expect(ids[0]).toBe(ids[1]);
      expect(outcomes[0]?.requestId).not.toBe(outcomes[1]?.requestId);
      expect(local.asyncInvoker.outcomes.filter((o) => o.functionName === 'auditor')).toHaveLength(2);
      expect(local.queues.get('laminar-local-arrivals')?.depth).toBe(2);
      expect(local.s3Events?.deliveries.map((d) => d.copy)).toEqual([1, 2]);
    } finally {
      await local.stop();
    }
  });

  it('with an external S3 emits no events and says so', async () => {
    const embedded = await startLocal({ root: root.dir, env: {}, queuesDirectory: false });
    try {
      const env = { LAMINAR_S3_ENDPOINT: embedded.s3?.endpoint, AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER' };
      const local = await startLocal({ root: root.dir, env, queuesDirectory: false });
      try {
        expect(local.s3Events).toBeUndefined();
        expect(local.services.join('\n')).toMatch(/S3 events are not emitted locally: S3 at http:\/\/127\.0\.0\.1:\d+ .*1 S3 rule stay idle/);
      } finally {
        await local.stop();
      }
    } finally {
      await embedded.stop();
    }
  });
});

const laminar = (args: string[]) => runLaminar(args, { cwd: root.dir });
