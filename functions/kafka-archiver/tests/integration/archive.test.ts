import { readFileSync } from 'node:fs';
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { createS3Client } from '@laminar/aws';
import { type S3Emulator, startS3 } from '@laminar/emulators';
import { envelope } from '@laminar/kafka/envelope';
import { DeadlineExceededError } from '@laminar/runtime';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type ArchivedLine, archiveBatch, type QuarantinedLine } from '../../src/archive.ts';
import { parseKafkaEvent } from '../../src/event.ts';

const sample = (name: string) => JSON.parse(readFileSync(new URL(`../../events/${name}`, import.meta.url), 'utf8'));
let s3: S3Emulator;
let client: S3Client;
let bucket = '';
let n = 0;

beforeAll(async () => {
  s3 = await startS3();
  client = createS3Client({ region: s3.region, endpoint: s3.endpoint, forcePathStyle: true, credentials: s3.credentials });
});
afterAll(async () => {
  client?.destroy();
  await s3?.stop();
});
beforeEach(async () => {
  bucket = `lake-${++n}`;
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
});

const deps = () => ({ s3: client, bucket, archivePrefix: 'bronze/', quarantinePrefix: 'quarantine/kafka/', concurrency: 4 });

interface Msg {
  offset: number;
  value: string | null;
  timestamp?: number;
  key?: string;
}
/** A batch as the event source mapping delivers it: base64 values, headers as byte arrays. */
function kafkaEvent(topic: string, partitions: Record<number, Msg[]>) {
  const records: Record<string, unknown[]> = {};
  for (const [p, msgs] of Object.entries(partitions)) {
    records[`${topic}-${p}`] = msgs.map((m) => ({
      topic,
      partition: Number(p),
      offset: m.offset,
      timestamp: m.timestamp ?? Date.UTC(2026, 10, 26, 10, 15),
      timestampType: 'CREATE_TIME',
      key: m.key === undefined ? null : Buffer.from(m.key).toString('base64'),
      value: m.value === null ? null : Buffer.from(m.value).toString('base64'),
      headers: [{ type: [...Buffer.from('rss.item')] }],
    }));
  }
  return { eventSource: 'SelfManagedKafka', bootstrapServers: 'localhost:9092', records };
}
const item = (id: string) =>
  envelope({ type: 'rss.item', source: 'https://example.com/feed', id, observedAt: new Date('2026-11-26T10:00:00Z'), payload: { title: `t-${id}` } }).value;

async function list(prefix = ''): Promise<string[]> {
  const out = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
  return (out.Contents ?? []).map((o) => o.Key as string).sort();
}
async function body(key: string): Promise<string> {
  const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return (await out.Body?.transformToString()) ?? '';
}
async function lines<T>(key: string): Promise<T[]> {
  const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  const text = await out.Body?.transformToString();
  return (text ?? '').split('\n').filter(Boolean).map((l) => JSON.parse(l) as T);
}

describe('archiveBatch', () => {
  it('quarantines AWS’s own sample record (its value is plain text, not an envelope), with the reason', async () => {
    for (const name of ['aws-self-managed-kafka-sample.json', 'aws-msk-sample.json']) {
      const result = await archiveBatch(parseKafkaEvent(sample(name)), deps());
      expect(result).toMatchObject({ records: 1, archived: 0, quarantined: 1 });
      const [q] = await lines<QuarantinedLine>(result.objects[0]?.key as string);
      expect(result.objects[0]?.key).toBe('quarantine/kafka/mytopic/dt=2018-12-17/hour=22/mytopic+0+0000000000000000015-0000000000000000015.jsonl');
      expect(q).toMatchObject({ topic: 'mytopic', partition: 0, offset: 15, headers: [{ headerKey: 'headerValue' }], valueBase64: 'SGVsbG8sIHRoaXMgaXMgYSB0ZXN0Lg==' });
      expect(q?.reasons[0]).toMatch(/^value: not JSON/);
    }
  });

  it('archives envelopes per topic-partition and hour; a bad record never fails the batch; counts reconcile', async () => {
    const late = Date.UTC(2026, 10, 26, 11, 5);
    const event = kafkaEvent('dev.rss-items', {
      0: [
        { offset: 40, value: item('a'), key: 'a' },
        { offset: 41, value: '{"not":"an envelope"}' },
        { offset: 42, value: item('b') },
        { offset: 43, value: item('c'), timestamp: late },
      ],
      1: [
        { offset: 7, value: null },
        { offset: 8, value: '\u00ff not utf8 after all' },
        { offset: 9, value: item('d') },
      ],
    });
    // A value that is not valid UTF-8 bytes at all.
    (event.records['dev.rss-items-1'] as { value: string }[])[1] = { ...(event.records['dev.rss-items-1'] as object[])[1], value: Buffer.from([0xc3, 0x28]).toString('base64') } as never;

    const result = await archiveBatch(parseKafkaEvent(event), deps());
    expect(result.records).toBe(7);
    expect(result.archived + result.quarantined).toBe(result.records);
    expect(result).toMatchObject({ archived: 4, quarantined: 3 });
    // Counted from what was written, not from the counts: each record of the event is in exactly
    // one line, archived or quarantined.
    const written: string[] = [];
    for (const key of [...(await list('bronze/dev.rss-items/')), ...(await list('quarantine/kafka/dev.rss-items/'))]) {
      written.push(...(await lines<{ partition: number; offset: number }>(key)).map((l) => `${l.partition}:${l.offset}`));
    }
    expect(written.sort()).toEqual(['0:40', '0:41', '0:42', '0:43', '1:7', '1:8', '1:9']);
    expect(await list('bronze/')).toEqual([
      'bronze/dev.rss-items/dt=2026-11-26/hour=10/dev.rss-items+0+0000000000000000040-0000000000000000042.jsonl',
      'bronze/dev.rss-items/dt=2026-11-26/hour=10/dev.rss-items+1+0000000000000000009-0000000000000000009.jsonl',
      'bronze/dev.rss-items/dt=2026-11-26/hour=11/dev.rss-items+0+0000000000000000043-0000000000000000043.jsonl',
    ]);
    const archived = await lines<ArchivedLine>((await list('bronze/'))[0] as string);
    expect(archived.map((l) => l.offset)).toEqual([40, 42]);
    expect(archived[0]).toMatchObject({ key: 'a', headers: [{ type: 'rss.item' }], value: { type: 'rss.item', id: 'a', payload: { title: 't-a' } } });

    const quarantine = await list('quarantine/');
    const refused = (await Promise.all(quarantine.map((k) => lines<QuarantinedLine>(k)))).flat();
    expect(refused.map((r) => [r.offset, r.reasons[0]?.split(':')[0]])).toEqual([
      [41, 'value.schemaVersion'],
      [7, 'value'],
      [8, 'value'],
    ]);
    expect(refused.find((r) => r.offset === 41)?.reasons.length).toBeGreaterThan(3);
    expect(refused.find((r) => r.offset === 7)?.reasons[0]).toMatch(/tombstone/);
    expect(refused.find((r) => r.offset === 8)?.reasons[0]).toMatch(/UTF-8/);
  });

  it('quarantines a record with a timestamp, key or headers it cannot file, and archives the rest of the batch', async () => {
    const event = kafkaEvent('t', { 0: [{ offset: 1, value: item('ok') }, { offset: 2, value: item('micro') }, { offset: 3, value: item('nano') }, { offset: 4, value: item('odd') }] });
    const recs = (event.records as Record<string, Record<string, unknown>[]>)['t-0'] as Record<string, unknown>[];
    (recs[1] as Record<string, unknown>).timestamp = Date.UTC(2026, 10, 26) * 1000; // microseconds: year ~58,000
    (recs[2] as Record<string, unknown>).timestamp = Date.UTC(2026, 10, 26) * 1_000_000; // nanoseconds: not a safe integer
    (recs[3] as Record<string, unknown>).headers = [{ trace: null }, { bad: 'text' }];
    (recs[0] as Record<string, unknown>).headers = [{ empty: null }];
    const r = await archiveBatch(parseKafkaEvent(event), deps());
    expect(r).toMatchObject({ records: 4, archived: 1, quarantined: 3 });
    const [archived] = await lines<ArchivedLine>((await list('bronze/'))[0] as string);
    expect(archived?.headers).toEqual([{ empty: null }]);
    const quarantineKeys = await list('quarantine/');
    const refused = (await Promise.all(quarantineKeys.map((k) => lines<QuarantinedLine>(k)))).flat().sort((a, b) => a.offset - b.offset);
    expect(refused.map((q) => [q.offset, q.reasons[0]?.split(':')[0]])).toEqual([
      [2, 'timestamp'],
      [3, 'timestamp'],
      [4, 'headers'],
    ]);
    expect(refused[0]?.timestampRaw).toBe(Date.UTC(2026, 10, 26) * 1000);
    // Filed where a date can be read: 1970-01-01, as an unset timestamp is.
    expect(quarantineKeys.some((k) => k.includes('/dt=1970-01-01/hour=00/'))).toBe(true);
  });

  it('keeps keys and header values that are not text as base64, never as replacement characters', async () => {
    const event = kafkaEvent('t', { 0: [{ offset: 1, value: item('framed') }, { offset: 2, value: item('bad-key') }] });
    const recs = (event.records as Record<string, Record<string, unknown>[]>)['t-0'] as Record<string, unknown>[];
    const framed = Buffer.from([0, 0, 0, 0, 7, 0xde, 0xad, 0xbe, 0xef]);
    (recs[0] as Record<string, unknown>).key = framed.toString('base64');
    (recs[0] as Record<string, unknown>).headers = [{ trace: [...Buffer.from([0xff, 0xfe])] }, { type: [...Buffer.from('rss.item')] }];
    (recs[1] as Record<string, unknown>).key = 'not base64!';
    const r = await archiveBatch(parseKafkaEvent(event), deps());
    expect(r).toMatchObject({ records: 2, archived: 1, quarantined: 1 });
    const [archived] = await lines<ArchivedLine>((await list('bronze/'))[0] as string);
    expect(archived).toMatchObject({ key: null, keyBase64: framed.toString('base64'), headers: [{ trace: { base64: '//4=' } }, { type: 'rss.item' }] });
    const [refused] = await lines<QuarantinedLine>((await list('quarantine/'))[0] as string);
    expect(refused?.reasons).toEqual(['key: not base64, as the event source mapping delivers keys']);
    expect(refused).toMatchObject({ key: null, keyRaw: 'not base64!' });
    expect(refused).not.toHaveProperty('keyBase64');
  });

  it('keeps every key, header and value so that it decodes back to exactly the bytes delivered', async () => {
    const event = kafkaEvent('t', { 0: [{ offset: 1, value: item('bytes') }, { offset: 2, value: '<rss>not json</rss>' }] });
    const recs = (event.records as Record<string, Record<string, unknown>[]>)['t-0'] as Record<string, unknown>[];
    const bom = Buffer.from([0xef, 0xbb, 0xbf, ...Buffer.from('k')]);
    // A real text header named "sig:base64" beside binary bytes in a header "sig": once the same line.
    // JSON.parse, as Lambda's runtime builds the event: a header named "__proto__" is an own property.
    const headers = JSON.parse(
      JSON.stringify([
        { sig: [0xff] },
        { 'sig:base64': [...Buffer.from('/w==')] },
        { sig: [-1, -2] },
        { trace: null },
        { bom: [...bom] },
        { type: [...Buffer.from('rss.item')] },
      ]).replace('"trace"', '"__proto__"'),
    ) as Record<string, number[] | null>[];
    (recs[0] as Record<string, unknown>).key = bom.toString('base64');
    (recs[0] as Record<string, unknown>).headers = headers;
    (recs[1] as Record<string, unknown>).key = Buffer.from([0xff, 0xad]).toString('base64');
    (recs[1] as Record<string, unknown>).headers = headers;
    const r = await archiveBatch(parseKafkaEvent(event), deps());
    expect(r).toMatchObject({ records: 2, archived: 1, quarantined: 1 });
    const [archived] = await lines<ArchivedLine>((await list('bronze/'))[0] as string);
    const [refused] = await lines<QuarantinedLine>((await list('quarantine/'))[0] as string);

    const bytesOf = (v: string | null | { base64: string }) => (v === null ? null : typeof v === 'string' ? [...Buffer.from(v, 'utf8')] : [...Buffer.from(v.base64, 'base64')]);
    const delivered = headers.map((h) => Object.entries(h).map(([name, v]) => [name, v === null ? null : v.map((b) => b & 0xff)]));
    for (const line of [archived, refused] as (ArchivedLine | QuarantinedLine)[]) {
      expect(line.headers.map((h) => Object.entries(h).map(([name, v]) => [name, bytesOf(v)]))).toEqual(delivered);
    }
    expect(archived?.headers.slice(0, 3)).toEqual([{ sig: { base64: '/w==' } }, { 'sig:base64': '/w==' }, { sig: { base64: '//4=' } }]);
    expect(Buffer.from(archived?.key as string, 'utf8').equals(bom)).toBe(true);
    expect(Buffer.from(refused?.keyBase64 as string, 'base64').equals(Buffer.from([0xff, 0xad]))).toBe(true);
    expect(Buffer.from(refused?.valueBase64 as string, 'base64').toString()).toBe('<rss>not json</rss>');
  });

  it('quarantines a key or value that is not base64 as delivered, under keyRaw / valueRaw, never as base64 it is not', async () => {
    const b = item('b');
    const event = kafkaEvent('t', { 0: [{ offset: 1, value: item('a') }, { offset: 2, value: b }, { offset: 3, value: item('c') }] });
    const recs = (event.records as Record<string, Record<string, unknown>[]>)['t-0'] as Record<string, unknown>[];
    // Node decodes each of these to some bytes: it skips "!" and " ", and reads base64url ("-_") too.
    (recs[0] as Record<string, unknown>).value = 'not base64!!';
    (recs[1] as Record<string, unknown>).key = '-_-_';
    (recs[2] as Record<string, unknown>).value = '-_-_';
    const r = await archiveBatch(parseKafkaEvent(event), deps());
    expect(r).toMatchObject({ records: 3, archived: 0, quarantined: 3 });
    const refused = (await lines<QuarantinedLine>((await list('quarantine/'))[0] as string)).sort((a, b) => a.offset - b.offset);
    expect(refused.map((q) => q.reasons)).toEqual([
      ['value: not base64, as the event source mapping delivers values'],
      ['key: not base64, as the event source mapping delivers keys'],
      ['value: not base64, as the event source mapping delivers values'],
    ]);
    expect(refused[0]).toMatchObject({ valueRaw: 'not base64!!' });
    expect(refused[0]).not.toHaveProperty('valueBase64');
    expect(refused[1]).toMatchObject({ key: null, keyRaw: '-_-_', valueBase64: Buffer.from(b).toString('base64') });
    expect(refused[1]).not.toHaveProperty('keyBase64');
    expect(refused[2]).toMatchObject({ valueRaw: '-_-_' });
    expect(refused[2]).not.toHaveProperty('valueBase64');
  });

  it('quarantines a record whose value or timestampType is not text, and archives the rest: one odd record never stalls its partition', async () => {
    const b = item('b');
    const event = kafkaEvent('t', { 0: [{ offset: 1, value: item('a') }, { offset: 2, value: b }, { offset: 3, value: item('c') }] });
    const recs = (event.records as Record<string, Record<string, unknown>[]>)['t-0'] as Record<string, unknown>[];
    (recs[0] as Record<string, unknown>).value = { title: 'an object, not base64' };
    (recs[1] as Record<string, unknown>).timestampType = 7;
    const r = await archiveBatch(parseKafkaEvent(event), deps());
    expect(r).toMatchObject({ records: 3, archived: 1, quarantined: 2 });
    const refused = (await lines<QuarantinedLine>((await list('quarantine/'))[0] as string)).sort((a, b) => a.offset - b.offset);
    expect(refused.map((q) => q.reasons)).toEqual([['value: not base64 text, as the event source mapping delivers values'], ['timestampType: 7 is not text (CREATE_TIME, LOG_APPEND_TIME…)']]);
    expect(refused[0]).toMatchObject({ valueRaw: { title: 'an object, not base64' } });
    expect(refused[0]).not.toHaveProperty('valueBase64');
    expect(refused[1]).toMatchObject({ timestampTypeRaw: 7, valueBase64: Buffer.from(b).toString('base64') });
    expect(refused[1]).not.toHaveProperty('timestampType');
    const [archived] = await lines<ArchivedLine>((await list('bronze/'))[0] as string);
    expect(archived?.offset).toBe(3);
  });

  it('lists every reason: a timestamp in microseconds and a value that is not an envelope', async () => {
    const event = kafkaEvent('t', { 0: [{ offset: 1, value: '{"not":"an envelope"}', timestamp: Date.UTC(2026, 10, 26) * 1000 }] });
    const r = await archiveBatch(parseKafkaEvent(event), deps());
    expect(r).toMatchObject({ records: 1, archived: 0, quarantined: 1 });
    const [refused] = await lines<QuarantinedLine>((await list('quarantine/'))[0] as string);
    expect(refused?.reasons[0]).toMatch(/^timestamp: /);
    expect(refused?.reasons.slice(1).every((reason) => reason.startsWith('value.'))).toBe(true);
    expect(refused?.reasons.some((reason) => reason.startsWith('value.schemaVersion:'))).toBe(true);
    expect(refused).toMatchObject({ timestamp: null, timestampRaw: Date.UTC(2026, 10, 26) * 1000 });
  });

  it('escapes U+0085, U+2028 and U+2029 in values, keys and quarantined lines, so that no line reader splits a line on them; they read back the same', async () => {
    const title = 'before\u2028between\u2029after\u0085end';
    const value = envelope({ type: 'rss.item', source: 'https://example.com/feed', id: 'ls', observedAt: new Date('2026-11-26T10:00:00Z'), payload: { title } }).value;
    const event = kafkaEvent('seps', { 0: [{ offset: 1, value, key: 'k\u2028ey' }, { offset: 2, value: `{"not":"an envelope","title":"${title}"}`, key: 'q\u2029k' }] });
    await expect(archiveBatch(parseKafkaEvent(event), deps())).resolves.toMatchObject({ records: 2, archived: 1, quarantined: 1 });
    const keys = [...(await list('bronze/seps/')), ...(await list('quarantine/kafka/seps/'))];
    expect(keys).toHaveLength(2);
    for (const key of keys) {
      const text = await body(key);
      expect(text, key).not.toMatch(/[\u0085\u2028\u2029]/);
      expect(text.split('\n').filter(Boolean)).toHaveLength(1);
    }
    const [archived] = await lines<ArchivedLine>((await list('bronze/seps/'))[0] as string);
    expect(archived).toMatchObject({ key: 'k\u2028ey', value: { payload: { title } } });
    const [quarantined] = await lines<QuarantinedLine>((await list('quarantine/kafka/seps/'))[0] as string);
    expect(quarantined).toMatchObject({ offset: 2, key: 'q\u2029k' });
  });

  it('quarantines a timestamp in seconds instead of filing it under January 1970', async () => {
    const seconds = Math.floor(Date.UTC(2026, 10, 26, 10) / 1000);
    const event = kafkaEvent('secs', { 0: [{ offset: 7, value: item('s'), timestamp: seconds }] });
    await expect(archiveBatch(parseKafkaEvent(event), deps())).resolves.toMatchObject({ records: 1, archived: 0, quarantined: 1 });
    expect(await list('bronze/secs/')).toEqual([]);
    const [refused] = await lines<QuarantinedLine>((await list('quarantine/kafka/secs/'))[0] as string);
    expect(refused).toMatchObject({ offset: 7, timestamp: null, timestampRaw: seconds, reasons: [`timestamp: ${seconds} is not whole milliseconds from 1973 up to year 9999 (seconds, microseconds or nanoseconds?)`] });
  });

  it('quarantines a value with a key twice in one object: JSON.parse keeps the last, the archived text has both', async () => {
    const twice = item('dup').replace('"id":"dup"', '"id":"","id":"dup"');
    const nested = item('nested').replace('{"title":"t-nested"}', '{"title":"t-nested","\\u0074itle":"other"}');
    const apart = item('apart').replace('{"title":"t-apart"}', '[{"title":"a"},{"title":"b"}]');
    expect((JSON.parse(twice) as { id: string }).id).toBe('dup');
    const r = await archiveBatch(parseKafkaEvent(kafkaEvent('t', { 0: [{ offset: 1, value: twice }, { offset: 2, value: nested }, { offset: 3, value: apart }] })), deps());
    // The same key in two objects is no duplicate.
    expect(r).toMatchObject({ records: 3, archived: 1, quarantined: 2 });
    const refused = (await lines<QuarantinedLine>((await list('quarantine/'))[0] as string)).sort((a, b) => a.offset - b.offset);
    expect(refused.map((q) => q.reasons)).toEqual([
      ['value: the key "id" appears twice in one object (JSON.parse keeps the last, a reader of the archived text may keep the first or refuse it)'],
      ['value: the key "title" appears twice in one object (JSON.parse keeps the last, a reader of the archived text may keep the first or refuse it)'],
    ]);
    expect(Buffer.from(refused[0]?.valueBase64 as string, 'base64').toString()).toBe(twice);
  });

  it('archives a record without a timestamp (-1) with timestamp null, filed under 1970-01-01, never a made-up time', async () => {
    const event = kafkaEvent('t', { 0: [{ offset: 1, value: item('none'), timestamp: -1 }, { offset: 2, value: item('before'), timestamp: -5 }] });
    ((event.records as Record<string, Record<string, unknown>[]>)['t-0'] as Record<string, unknown>[]).forEach((rec) => {
      rec.timestampType = 'NO_TIMESTAMP_TYPE';
    });
    const r = await archiveBatch(parseKafkaEvent(event), deps());
    expect(r).toMatchObject({ records: 2, archived: 1, quarantined: 1 });
    const keys = await list('bronze/');
    expect(keys).toEqual(['bronze/t/dt=1970-01-01/hour=00/t+0+0000000000000000001-0000000000000000001.jsonl']);
    const [archived] = await lines<ArchivedLine>(keys[0] as string);
    expect(archived).toMatchObject({ offset: 1, timestamp: null, timestampType: 'NO_TIMESTAMP_TYPE', value: { id: 'none' } });
    // Kafka has no other negative timestamp: archiving one as 1970 would make a time up.
    const [refused] = await lines<QuarantinedLine>((await list('quarantine/'))[0] as string);
    expect(refused).toMatchObject({ offset: 2, timestamp: null, timestampRaw: -5 });
    expect(refused?.reasons[0]).toMatch(/^timestamp: -5 /);
  });

  it('quarantines a record it fails to file for a reason of its own with the key, headers and value as delivered', async () => {
    const event = kafkaEvent('t', { 0: [{ offset: 1, value: item('ok') }, { offset: 2, value: item('odd'), key: 'k-2' }, { offset: 3, value: item('worse') }] });
    const recs = (event.records as Record<string, Record<string, unknown>[]>)['t-0'] as Record<string, unknown>[];
    // Stand-ins for a failure nobody foresaw: headers that throw when walked, yet serialize; and
    // headers that cannot even be written.
    const surprising = <T extends object[]>(headers: T): T =>
      new Proxy(headers, {
        get: (target, prop, receiver) => {
          if (prop === 'every' || prop === 'map') throw new TypeError('walked into a surprise');
          return Reflect.get(target, prop, receiver);
        },
      });
    const delivered = [{ trace: [...Buffer.from('abc')] }];
    (recs[1] as Record<string, unknown>).headers = surprising(delivered);
    (recs[2] as Record<string, unknown>).headers = surprising([{ big: [1n] }]);
    const r = await archiveBatch(parseKafkaEvent(event), deps());
    expect(r).toMatchObject({ records: 3, archived: 1, quarantined: 2 });
    const refused = (await lines<QuarantinedLine>((await list('quarantine/'))[0] as string)).sort((a, b) => a.offset - b.offset);
    expect(refused[0]).toMatchObject({
      offset: 2,
      reasons: ['internal: could not file this record (TypeError: walked into a surprise)'],
      keyRaw: Buffer.from('k-2').toString('base64'),
      headersRaw: delivered,
      valueBase64: recs[1]?.value,
    });
    expect(refused[1]?.reasons).toEqual([
      expect.stringMatching(/^internal: could not file this record \(/),
      expect.stringMatching(/^internal: the key and headers as delivered could not be written either \(TypeError: .*BigInt/),
    ]);
    expect(refused[1]).toMatchObject({ offset: 3, valueBase64: recs[2]?.value });
    expect(refused[1]).not.toHaveProperty('headersRaw');
  });

  it('keeps each archived record on one line, even when its value was pretty-printed JSON', async () => {
    const pretty = JSON.stringify(JSON.parse(item('p')), null, 2);
    const compact = item('q');
    const result = await archiveBatch(parseKafkaEvent(kafkaEvent('dev.pretty', { 0: [{ offset: 5, value: pretty }, { offset: 6, value: compact }] })), deps());
    expect(result.archived).toBe(2);
    const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: result.objects[0]?.key }));
    const text = (await out.Body?.transformToString()) ?? '';
    expect(text.split('\n').filter(Boolean)).toHaveLength(2);
    expect(text.split('\n').filter(Boolean).map((l) => (JSON.parse(l) as ArchivedLine).value)).toEqual([JSON.parse(pretty), JSON.parse(compact)]);
  });

  it('keeps a multi-line value exactly as sent: big integers, exponents and deep nesting unchanged, never a failed batch', async () => {
    const token = '71321045679252212594626385532706912750332728571942532289631379312455583992563';
    const deep = `${'['.repeat(5000)}${']'.repeat(5000)}`;
    const withPayload = (id: string, payload: string) => item(id).replace('{"title":"t-' + id + '"}', payload);
    const exact = `${withPayload('big', `{\n  "tokenId": ${token},\n  "size": 1e2,\n  "neg": -0\n}`)}\n`;
    const nested = `${withPayload('deep', `{"nest":${deep}}`)}\n`;
    const result = await archiveBatch(parseKafkaEvent(kafkaEvent('dev.exact', { 0: [{ offset: 1, value: exact }, { offset: 2, value: nested }] })), deps());
    expect(result).toMatchObject({ records: 2, archived: 2, quarantined: 0 });
    const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: result.objects[0]?.key }));
    const text = (await out.Body?.transformToString()) ?? '';
    const [first, second] = text.split('\n').filter(Boolean);
    expect(first).toContain(`"tokenId": ${token},   "size": 1e2,   "neg": -0 }`);
    expect(second).toContain(`{"nest":${deep}}`);
  });

  it('writes the same batch delivered again to the same keys: an overwrite, not a second copy (a batch cut differently may overlap: README)', async () => {
    const event = parseKafkaEvent(kafkaEvent('dev.prices', { 2: [{ offset: 100, value: item('x') }, { offset: 101, value: item('y') }] }));
    const first = await archiveBatch(event, deps());
    const keys = await list();
    const content = await lines<ArchivedLine>(keys[0] as string);
    const again = await archiveBatch(event, deps());
    expect(again.objects.map((o) => o.key)).toEqual(first.objects.map((o) => o.key));
    expect(await list()).toEqual(keys);
    expect(await lines<ArchivedLine>(keys[0] as string)).toEqual(content);
  });

  it('fails the batch when S3 refuses a write, so the mapping retries it', async () => {
    const event = parseKafkaEvent(kafkaEvent('dev.prices', { 0: [{ offset: 1, value: item('z') }] }));
    await expect(archiveBatch(event, { ...deps(), bucket: 'no-such-bucket' })).rejects.toMatchObject({ name: 'NoSuchBucket' });
  });

  it('fails the batch with the deadline, not the SDK\'s abort, when the stop cuts its writes short', async () => {
    const event = parseKafkaEvent(kafkaEvent('dev.prices', { 0: [{ offset: 1, value: item('a') }], 1: [{ offset: 1, value: item('b') }] }));
    // Every PUT waits half a second before it goes: the stop comes while both are pending.
    const slow = createS3Client({ region: s3.region, endpoint: s3.endpoint, forcePathStyle: true, credentials: s3.credentials });
    slow.middlewareStack.add((next) => async (args) => {
      await new Promise((resolve) => setTimeout(resolve, 500));
      return next(args);
    }, { step: 'build', name: 'slowRequests' });
    const stop = new AbortController();
    const reason = new DeadlineExceededError('stopped before the function timeout; 900 ms left');
    setTimeout(() => stop.abort(reason), 50);
    const error = await archiveBatch(event, { ...deps(), s3: slow, signal: stop.signal }).catch((e: unknown) => e);
    slow.destroy();
    expect(error).toBe(reason);
    expect(await list()).toEqual([]);
  });
});
