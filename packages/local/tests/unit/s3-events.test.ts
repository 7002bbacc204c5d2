import { decodeS3EventKey, encodeS3EventKey } from '@laminar/aws';
import { defineFunction, defineQueue, type FunctionSpecInput, s3EventPattern, s3PatternKey, s3RuleName } from '@laminar/spec';
import { describe, expect, it } from 'vitest';
import {
  changesFromNotification,
  createSequencer,
  matchesEventPattern,
  type S3ObjectChange,
  s3EventBridgeEvent,
  s3Routes,
} from '../../src/s3-events.ts';

const change = (over: Partial<S3ObjectChange> = {}): S3ObjectChange => ({
  detailType: 'Object Created',
  reason: 'PutObject',
  bucket: 'laminar-local-lake',
  key: 'bronze/orders.csv',
  size: 120,
  etag: 'b1946ac92492d2347c6235b4d2611184',
  sequencer: '0006408CAD69598B',
  requestId: 'N4N7GDK58NMKJ12R',
  sourceIp: '127.0.0.1',
  time: new Date('2026-01-30T10:15:00.123Z'),
  ...over,
});

const event = (key: string, over: Partial<S3ObjectChange> = {}) => s3EventBridgeEvent(change({ key, ...over }), { region: 'us-east-1', id: 'e-1' });

describe('S3 → EventBridge event', () => {
  it('has the shape S3 sends for Object Created, key for key', () => {
    const e = s3EventBridgeEvent(change(), { region: 'eu-west-1', account: '123456789012', id: '17793124-05d4-b198-2fde-7ededc63b103' });
    expect(e).toEqual({
      version: '0',
      id: '17793124-05d4-b198-2fde-7ededc63b103',
      'detail-type': 'Object Created',
      source: 'aws.s3',
      account: '123456789012',
      time: '2026-01-30T10:15:00Z',
      region: 'eu-west-1',
      resources: ['arn:aws:s3:::laminar-local-lake'],
      detail: {
        version: '0',
        'event-version': '1.0',
        bucket: { name: 'laminar-local-lake' },
        object: { key: 'bronze/orders.csv', size: 120, etag: 'b1946ac92492d2347c6235b4d2611184', sequencer: '0006408CAD69598B' },
        'request-id': 'N4N7GDK58NMKJ12R',
        requester: '123456789012',
        'source-ip-address': '127.0.0.1',
        reason: 'PutObject',
      },
    });
    expect(Object.keys(e)).toEqual(['version', 'id', 'detail-type', 'source', 'account', 'time', 'region', 'resources', 'detail']);
  });

  it('Object Deleted has no size or etag, and says how the object went', () => {
    const e = event('bronze/gone.csv', { detailType: 'Object Deleted', reason: 'DeleteObject' });
    expect(e['detail-type']).toBe('Object Deleted');
    expect(e.detail.object).toEqual({ key: 'bronze/gone.csv', sequencer: '0006408CAD69598B' });
    expect(e.detail).toMatchObject({ reason: 'DeleteObject', 'deletion-type': 'Permanently Deleted' });
  });

  it('carries the key URL-encoded as S3 sends it: space as +, "/" kept, everything else percent-encoded UTF-8', () => {
    const key = 'bronze/2026/Q1 orders – café+bar.csv';
    const e = event(key);
    expect(e.detail.object.key).toBe('bronze/2026/Q1+orders+%E2%80%93+caf%C3%A9%2Bbar.csv');
    expect(e.detail.object.key).toBe(encodeS3EventKey(key));
    expect(decodeS3EventKey(e.detail.object.key)).toBe(key);
  });

  it('reads the embedded S3\'s notifications with the request that caused them', () => {
    const seq = createSequencer(() => 1_700_000_000_000);
    const notification = {
      Records: [
        {
          eventName: 'ObjectCreated:Post',
          eventTime: '2026-01-30T10:15:00.500Z',
          s3: { bucket: { name: 'b' }, object: { key: 'bronze/a b.csv', size: 5, eTag: 'abc' } },
        },
      ],
    };
    const [c] = changesFromNotification(notification, { operation: 'CompleteMultipartUpload', requestId: 'R1', sourceIp: '10.0.0.1' }, seq);
    expect(c).toMatchObject({ detailType: 'Object Created', reason: 'CompleteMultipartUpload', key: 'bronze/a b.csv', size: 5, etag: 'abc', requestId: 'R1', sourceIp: '10.0.0.1' });
    const [d] = changesFromNotification({ Records: [{ eventName: 'ObjectRemoved:Delete', s3: { bucket: { name: 'b' }, object: { key: 'k' } } }] }, undefined, seq);
    expect(d).toMatchObject({ detailType: 'Object Deleted', reason: 'DeleteObject' });
    // Two writes in the same millisecond still order.
    expect((d as S3ObjectChange).sequencer > (c as S3ObjectChange).sequencer).toBe(true);
    // A browser form upload is "POST Object" in S3's EventBridge events, not the API's name.
    const [post] = changesFromNotification(notification, { operation: 'PostObject', requestId: 'R2', sourceIp: '10.0.0.1' }, seq);
    expect(post?.reason).toBe('POST Object');
    expect(s3EventBridgeEvent(post as S3ObjectChange, { region: 'us-east-1' }).detail.reason).toBe('POST Object');
    expect(changesFromNotification({ Records: [{ eventName: 'ObjectRestore:Completed', s3: { bucket: { name: 'b' }, object: { key: 'k' } } }] }, undefined, seq)).toEqual([]);
  });
});

describe('rule patterns', () => {
  const bronze = s3EventPattern('laminar-local-lake', { bucket: 'lake', prefix: 'bronze/', suffix: '.csv', events: ['Object Created'] });
  const matches = (pattern: Record<string, unknown>, key: string, over: Partial<S3ObjectChange> = {}) => matchesEventPattern(pattern, event(key, over));

  it('are the patterns infra writes: prefix+suffix as one wildcard, else prefix or suffix', () => {
    expect(bronze).toEqual({
      source: ['aws.s3'],
      'detail-type': ['Object Created'],
      detail: { bucket: { name: ['laminar-local-lake'] }, object: { key: [{ wildcard: 'bronze/*.csv' }] } },
    });
    expect(s3EventPattern('b', { bucket: 'x', prefix: 'p*', suffix: '', events: ['Object Deleted', 'Object Created'] })).toEqual({
      source: ['aws.s3'],
      'detail-type': ['Object Created', 'Object Deleted'],
      detail: { bucket: { name: ['b'] }, object: { key: [{ prefix: 'p*' }] } },
    });
    expect(s3EventPattern('b', { bucket: 'x', prefix: '', suffix: '', events: ['Object Created'] }).detail).toEqual({ bucket: { name: ['b'] } });
  });

  it('match prefix and suffix on the key, case-sensitively', () => {
    expect(matches(bronze, 'bronze/orders.csv')).toBe(true);
    expect(matches(bronze, 'bronze/2026/q1/deep.csv')).toBe(true);
    expect(matches(bronze, 'bronze/.csv')).toBe(true);
    expect(matches(bronze, 'bronze/orders.CSV')).toBe(false);
    expect(matches(bronze, 'Bronze/orders.csv')).toBe(false);
    expect(matches(bronze, 'landing/bronze/orders.csv')).toBe(false);
    expect(matches(bronze, 'bronze/orders.csv.bak')).toBe(false);
    expect(matches(bronze, 'bronze-old/orders.csv')).toBe(false);
  });

  it('match a suffix declared alsoUpperCaseSuffix as written and in upper case, not in mixed case; the prefix as written', () => {
    const both = s3EventPattern('laminar-local-lake', { bucket: 'lake', prefix: 'bronze/', suffix: '.csv', alsoUpperCaseSuffix: true, events: ['Object Created'] });
    for (const key of ['bronze/orders.csv', 'bronze/ORDERS.CSV', 'bronze/a b/Orders.CSV']) expect(matches(both, key)).toBe(true);
    for (const key of ['Bronze/orders.CSV', 'bronze/orders.Csv', 'bronze/orders.csv.bak', 'bronze/orders.tsv', 'bronze/orders.CS']) expect(matches(both, key)).toBe(false);
    // Without a prefix: one suffix matcher per spelling, no wildcard (rules with wildcards are few per bus).
    const bare = s3EventPattern('laminar-local-lake', { bucket: 'lake', prefix: '', suffix: '.csv', alsoUpperCaseSuffix: true, events: ['Object Created'] });
    expect(bare.detail).toMatchObject({ object: { key: [{ suffix: '.csv' }, { suffix: '.CSV' }] } });
    expect(matches(bare, 'x/ORDERS.CSV')).toBe(true);
  });

  it('need room for both prefix and suffix: they may not overlap', () => {
    const p = s3EventPattern('b', { bucket: 'x', prefix: 'a/', suffix: '/', events: ['Object Created'] });
    const ev = (key: string) => ({ ...event(key), detail: { ...event(key).detail, bucket: { name: 'b' } } });
    expect(matchesEventPattern(p, ev('a/'))).toBe(false);
    expect(matchesEventPattern(p, ev('a//'))).toBe(true);
    expect(matchesEventPattern(p, ev('a/x/'))).toBe(true);
  });

  it('see the key as delivered (encoded), and hold the spec\'s prefix and suffix encoded alike; a literal "*" is taken literally', () => {
    const star = s3EventPattern('laminar-local-lake', { bucket: 'lake', prefix: 'in*/', suffix: '.csv', events: ['Object Created'] });
    expect(matches(star, 'in*/x.csv')).toBe(true);
    expect(matches(star, 'inbox/x.csv')).toBe(false);
    // The event carries "my+folder/…", "dt%3D2026-01-30/…", "r%C3%A9gion/…": so does the pattern.
    const spaced = s3EventPattern('laminar-local-lake', { bucket: 'lake', prefix: 'my folder/', suffix: '', events: ['Object Created'] });
    expect(spaced.detail).toMatchObject({ object: { key: [{ prefix: 'my+folder/' }] } });
    expect(matches(spaced, 'my folder/x.csv')).toBe(true);
    expect(matches(spaced, 'my+folder/x.csv')).toBe(false);
    const hive = s3EventPattern('laminar-local-lake', { bucket: 'lake', prefix: 'bronze/dt=2026-01-30/', suffix: '.csv', events: ['Object Created'] });
    expect(matches(hive, 'bronze/dt=2026-01-30/orders.csv')).toBe(true);
    expect(matches(hive, 'bronze/dt=2026-01-31/orders.csv')).toBe(false);
    const accented = s3EventPattern('laminar-local-lake', { bucket: 'lake', prefix: 'bronze/région/', suffix: ' (1).csv', events: ['Object Created'] });
    expect(matches(accented, 'bronze/région/orders (1).csv')).toBe(true);
    expect(matches(accented, 'bronze/region/orders (1).csv')).toBe(false);
    expect(matches(bronze, 'bronze/Q1 orders – café.csv')).toBe(true);
  });

  it('match the bucket and the detail-type', () => {
    expect(matches(bronze, 'bronze/x.csv', { bucket: 'laminar-local-other' })).toBe(false);
    expect(matches(bronze, 'bronze/x.csv', { detailType: 'Object Deleted', reason: 'DeleteObject' })).toBe(false);
    const both = s3EventPattern('laminar-local-lake', { bucket: 'lake', prefix: 'bronze/', suffix: '', events: ['Object Created', 'Object Deleted'] });
    expect(matches(both, 'bronze/x.csv', { detailType: 'Object Deleted', reason: 'DeleteObject' })).toBe(true);
  });

  it('supports the other content filters EventBridge offers', () => {
    const e = event('bronze/x.csv');
    expect(matchesEventPattern({ detail: { object: { 'version-id': [{ exists: false }] } } }, e)).toBe(true);
    expect(matchesEventPattern({ detail: { object: { etag: [{ exists: true }] } } }, e)).toBe(true);
    expect(matchesEventPattern({ detail: { reason: [{ 'anything-but': ['CopyObject'] }] } }, e)).toBe(true);
    expect(matchesEventPattern({ detail: { reason: [{ 'equals-ignore-case': 'putobject' }] } }, e)).toBe(true);
    expect(matchesEventPattern({ resources: ['arn:aws:s3:::laminar-local-lake'] }, e)).toBe(true);
    expect(matchesEventPattern({ detail: { object: { size: [120] } } }, e)).toBe(true);
    expect(matchesEventPattern({ detail: { object: { size: ['120'] } } }, e)).toBe(false);
  });

  it('match content filters on leaves only, as EventBridge does: an object is no value to them', () => {
    const e = event('bronze/x.csv');
    expect(matchesEventPattern({ detail: { object: [{ exists: true }] } }, e)).toBe(false);
    expect(matchesEventPattern({ detail: { object: [{ exists: false }] } }, e)).toBe(true);
    expect(matchesEventPattern({ detail: { bucket: [{ 'anything-but': ['laminar-local-other'] }] } }, e)).toBe(false);
    expect(matchesEventPattern({ detail: { bucket: { name: [{ 'anything-but': ['laminar-local-other'] }] } } }, e)).toBe(true);
  });

  it('refuses what it does not implement instead of not matching', () => {
    const e = event('bronze/x.csv');
    expect(() => matchesEventPattern({ $or: [{ source: ['aws.s3'] }] }, e)).toThrow(/unsupported "\$or"/);
    expect(() => matchesEventPattern({ detail: { object: { size: [{ numeric: ['>', 0] }] } } }, e)).toThrow(/unsupported content filter/);
  });
});

describe('rules grouped as infra groups them', () => {
  const fn = (name: string, input: Partial<FunctionSpecInput>) => defineFunction({ name, memoryMb: 128, timeoutS: 10, triggers: [{ kind: 'invoke' }], ...input });
  const bronzeCsv = { kind: 's3' as const, bucket: 'lake', prefix: 'bronze/', suffix: '.csv' };
  const functions = [
    fn('csv-validator', { triggers: [bronzeCsv] }),
    fn('object-audit', { triggers: [bronzeCsv] }),
    fn('pdf-indexer', { triggers: [{ kind: 's3', bucket: 'lake', prefix: 'bronze/', suffix: '.pdf' }] }),
    fn('sweeper', { triggers: [{ kind: 's3', bucket: 'lake', prefix: 'bronze/', suffix: '.csv', events: ['Object Deleted'] }] }),
    fn('elsewhere', { triggers: [{ kind: 's3', bucket: 'archive', prefix: '', suffix: '' }] }),
  ];
  const queues = [defineQueue({ name: 'bronze-arrivals', subscribe: [bronzeCsv] })];
  const names: Record<string, string> = { lake: 'laminar-local-lake' };

  it('one rule per pattern with all its functions and queues; other buckets left out', () => {
    const routes = s3Routes(functions, queues, (l) => names[l]);
    expect(routes).toHaveLength(3);
    const shared = routes.find((r) => r.functions.includes('csv-validator'));
    expect(shared).toMatchObject({
      ruleName: s3RuleName('local', { ...bronzeCsv, events: ['Object Created'] }),
      bucketName: 'laminar-local-lake',
      functions: ['csv-validator', 'object-audit'],
      queues: ['bronze-arrivals'],
    });
    expect(shared?.ruleName).toMatch(/^laminar-local-s3-lake-[0-9a-f]{8}$/);
    expect(routes.find((r) => r.functions.includes('sweeper'))?.ruleName).not.toBe(shared?.ruleName);
    expect(routes.flatMap((r) => r.functions)).not.toContain('elsewhere');
  });

  it('refuses a pattern with more than the 5 targets an EventBridge rule takes, as infra does; 5 pass', () => {
    const many = (n: number) => Array.from({ length: n }, (_, i) => fn(`f${i}`, { triggers: [bronzeCsv] }));
    expect(s3Routes(many(4), queues, (l) => names[l]).find((r) => r.functions.includes('f0'))?.functions).toHaveLength(4);
    const key = s3PatternKey({ ...bronzeCsv, events: ['Object Created'] });
    expect(() => s3Routes(many(5), queues, (l) => names[l])).toThrow(
      `S3 pattern ${key} has 6 targets (f0, f1, f2, f3, f4, queue bronze-arrivals): more than the 5 targets an EventBridge rule allows`,
    );
    expect(() => s3Routes(many(6), [], (l) => names[l])).toThrow(/has 6 targets .*the 5 targets an EventBridge rule allows/);
    // A bucket not used locally has no rule here, so its pattern's targets are not counted.
    expect(s3Routes(many(6), [], () => undefined)).toEqual([]);
  });
});
