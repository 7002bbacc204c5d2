import { readFileSync } from 'node:fs';
import { InputValidationError } from '@laminar/runtime';
import { describe, expect, it } from 'vitest';
import { decodeS3EventKey, encodeS3EventKey, isObjectCreated, parseS3Event } from '../../src/index.ts';

// From the test data of aws/aws-lambda-go (events/testdata), as shared in fixtures/aws-events.
const fixture = JSON.parse(readFileSync(new URL('./fixtures/s3-event-with-decoded.json', import.meta.url), 'utf8'));

/** An EventBridge "Object Created" event as the S3 user guide (ev-events) shows it. */
function eventBridgeEvent(key: string, overrides: Record<string, unknown> = {}, detail: Record<string, unknown> = {}) {
  return {
    version: '0',
    id: '17793124-05d4-b198-2fde-7ededc63b103',
    'detail-type': 'Object Created',
    source: 'aws.s3',
    account: '111122223333',
    time: '2021-11-12T00:00:00Z',
    region: 'ca-central-1',
    resources: ['arn:aws:s3:::amzn-s3-demo-bucket1'],
    detail: {
      version: '0',
      bucket: { name: 'amzn-s3-demo-bucket1' },
      object: { key, size: 5, etag: 'b1946ac92492d2347c6235b4d2611184', 'version-id': 'IYV3p45BT0ac8hjHg1houSdS1a.Mro8e', sequencer: '617f08299329d189' },
      'request-id': 'N4N7GDK58NMKJ12R',
      requester: '123456789012',
      'source-ip-address': '1.2.3.4',
      reason: 'PutObject',
      ...detail,
    },
    ...overrides,
  };
}

/** A classic notification record, with the key already encoded as S3 sends it. */
function notificationRecord(encodedKey: string, extra: Record<string, unknown> = {}) {
  return {
    eventVersion: '2.1',
    eventSource: 'aws:s3',
    awsRegion: 'us-east-1',
    eventTime: '2026-11-25T12:00:00.123Z',
    eventName: 'ObjectCreated:Put',
    userIdentity: { principalId: 'EXAMPLE' },
    s3: {
      s3SchemaVersion: '1.0',
      configurationId: 'bronze',
      bucket: { name: 'lake', ownerIdentity: { principalId: 'EXAMPLE' }, arn: 'arn:aws:s3:::lake' },
      object: { key: encodedKey, size: 42, eTag: '0123456789abcdef0123456789abcdef', sequencer: '0A1B2C3D4E5F678901' },
    },
    ...extra,
  };
}

const AWKWARD_KEYS = [
  'bronze/orders 2026.csv',
  'bronze/c++/a+b=c.csv',
  'bronze/100%/50% off.csv',
  'bronze/%2F%20already-encoded.csv',
  'bronze/日本語/é😀 naïve.csv',
  "bronze/!'()*~_-.csv",
  'bronze/a&b?c#d;e:f@g$h,i.csv',
  'bronze/tab\there\u00a0nbsp.csv',
  'bronze//double/slash/',
];

function validationError(fn: () => unknown): InputValidationError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(InputValidationError);
    return err as InputValidationError;
  }
  throw new Error('expected an InputValidationError');
}

describe('parseS3Event: classic S3 notifications', () => {
  it('reads the shared aws-lambda-go fixture, decoding the key itself (urlDecodedKey is not S3’s)', () => {
    expect(parseS3Event(fixture)).toEqual([
      {
        bucket: 'sourcebucket',
        key: 'Happy Face.jpg',
        size: 1024,
        etag: 'd41d8cd98f00b204e9800998ecf8427e',
        versionId: 'version',
        sequencer: 'Happy Sequencer',
        eventTime: '1970-01-01T00:00:00.123Z',
        eventName: 'ObjectCreated:Put',
        source: 's3-notification',
      },
    ]);
    // The decoded key must come from `key`, not from the library's extra field.
    const withoutExtra = structuredClone(fixture);
    delete withoutExtra.Records[0].s3.object.urlDecodedKey;
    expect(parseS3Event(withoutExtra)[0]?.key).toBe('Happy Face.jpg');
  });

  it("decodes '+' as a space and %2B as a literal '+'", () => {
    const [ref] = parseS3Event({ Records: [notificationRecord('bronze/my+file%2B1+%2B+2.csv')] });
    expect(ref?.key).toBe('bronze/my file+1 + 2.csv');
  });

  it('decodes percent signs, UTF-8 sequences and encoded slashes', () => {
    const refs = parseS3Event({
      Records: [
        notificationRecord('bronze/100%25+done.csv'),
        notificationRecord('bronze/%E6%97%A5%E6%9C%AC%E8%AA%9E/%C3%A9%F0%9F%98%80.csv'),
        notificationRecord('bronze%2Fnested%2Fkey.csv'),
      ],
    });
    expect(refs.map((r) => r.key)).toEqual(['bronze/100% done.csv', 'bronze/日本語/é😀.csv', 'bronze/nested/key.csv']);
  });

  it('round-trips awkward keys through S3’s form encoding', () => {
    const refs = parseS3Event({ Records: AWKWARD_KEYS.map((k) => notificationRecord(encodeS3EventKey(k))) });
    expect(refs.map((r) => r.key)).toEqual(AWKWARD_KEYS);
    for (const key of AWKWARD_KEYS) expect(decodeS3EventKey(encodeS3EventKey(key))).toBe(key);
  });

  it('encodes keys as S3 does: "/" kept for prefix filters, a space as "+", a "+" as %2B', () => {
    expect(encodeS3EventKey("bronze/c++ x/é!'()*~.csv")).toBe('bronze/c%2B%2B+x/%C3%A9%21%27%28%29*%7E.csv');
  });

  it('returns one ref per record, in order, without absent fields', () => {
    const refs = parseS3Event({
      Records: [
        notificationRecord('bronze/a.csv'),
        notificationRecord('bronze/b.csv', { eventName: 'ObjectCreated:CompleteMultipartUpload' }),
        {
          ...notificationRecord('bronze/c.csv', { eventName: 'ObjectRemoved:Delete' }),
          s3: { bucket: { name: 'lake' }, object: { key: 'bronze/c.csv', versionId: null, sequencer: '0A1B2C3D4E5F678902' } },
        },
      ],
    });
    expect(refs.map((r) => [r.key, r.eventName, isObjectCreated(r)])).toEqual([
      ['bronze/a.csv', 'ObjectCreated:Put', true],
      ['bronze/b.csv', 'ObjectCreated:CompleteMultipartUpload', true],
      ['bronze/c.csv', 'ObjectRemoved:Delete', false],
    ]);
    expect(refs[2]).toEqual({
      bucket: 'lake',
      key: 'bronze/c.csv',
      sequencer: '0A1B2C3D4E5F678902',
      eventTime: '2026-11-25T12:00:00.123Z',
      eventName: 'ObjectRemoved:Delete',
      source: 's3-notification',
    });
  });

  it('refuses a record that is not an object event, naming the field', () => {
    const err = validationError(() =>
      parseS3Event({ Records: [notificationRecord('bronze/a.csv'), notificationRecord('x', { eventSource: 'aws:sqs' })] }),
    );
    expect(err.message).toMatch(/^invalid S3 event: Records\.1\.eventSource: /);
    const tagging = validationError(() => parseS3Event({ Records: [notificationRecord('a', { eventName: 'ObjectTagging:Put' })] }));
    expect(tagging.message).toContain('Records.0.eventName');
  });

  it('refuses an empty batch, a missing key and a key that is not validly encoded', () => {
    expect(validationError(() => parseS3Event({ Records: [] })).message).toContain('Records');
    const missing = structuredClone(notificationRecord('a')) as { s3: { object: Record<string, unknown> } };
    delete missing.s3.object.key;
    expect(validationError(() => parseS3Event({ Records: [missing] })).message).toContain('Records.0.s3.object.key');
    const lonePercent = validationError(() => parseS3Event({ Records: [notificationRecord('bronze/100%.csv')] }));
    expect(lonePercent.message).toMatch(/Records\.0\.s3\.object\.key: not a URL-encoded object key/);
  });
});

describe('parseS3Event: EventBridge', () => {
  it('reads the documented "Object Created" event', () => {
    expect(parseS3Event(eventBridgeEvent('example-key'))).toEqual([
      {
        bucket: 'amzn-s3-demo-bucket1',
        key: 'example-key',
        size: 5,
        etag: 'b1946ac92492d2347c6235b4d2611184',
        versionId: 'IYV3p45BT0ac8hjHg1houSdS1a.Mro8e',
        sequencer: '617f08299329d189',
        // Normalized to millisecond precision so EventBridge and notification times sort alike.
        eventTime: '2021-11-12T00:00:00.000Z',
        eventName: 'Object Created:PutObject',
        source: 'eventbridge',
      },
    ]);
  });

  it('decodes the key the same way as classic notifications', () => {
    expect(parseS3Event(eventBridgeEvent('bronze/orders+2026%2B%25.csv'))[0]?.key).toBe('bronze/orders 2026+%.csv');
    for (const key of AWKWARD_KEYS) expect(parseS3Event(eventBridgeEvent(encodeS3EventKey(key)))[0]?.key).toBe(key);
  });

  it('reads the documented "Object Deleted" event, which may lack size and etag', () => {
    const deleted = eventBridgeEvent('bronze/gone.csv', { 'detail-type': 'Object Deleted' }, {
      object: { key: 'bronze/gone.csv', sequencer: '617f0837b476e463' },
      reason: 'DeleteObject',
      'deletion-type': 'Permanently Deleted',
    });
    const [ref] = parseS3Event(deleted);
    expect(ref).toEqual({
      bucket: 'amzn-s3-demo-bucket1',
      key: 'bronze/gone.csv',
      sequencer: '617f0837b476e463',
      eventTime: '2021-11-12T00:00:00.000Z',
      eventName: 'Object Deleted:DeleteObject',
      source: 'eventbridge',
    });
    expect(isObjectCreated(ref!)).toBe(false);
  });

  it('tolerates fields it does not know (new minor event versions add some)', () => {
    const event = eventBridgeEvent('a.csv', { 'replay-name': 'r1' }, { 'event-version': '1.1', 'aws-generated-tags': { a: 'b' } });
    (event.detail.bucket as Record<string, unknown>)['aws-generated-tags'] = { 'aws:cloudformation:stack-name': 's' };
    expect(parseS3Event(event)[0]?.key).toBe('a.csv');
  });

  it('refuses other detail-types and sources, naming the field', () => {
    expect(validationError(() => parseS3Event(eventBridgeEvent('a', { 'detail-type': 'Object Restore Completed' }))).message).toContain(
      'detail-type',
    );
    expect(validationError(() => parseS3Event(eventBridgeEvent('a', { source: 'aws.ec2' }))).message).toContain('source');
    expect(validationError(() => parseS3Event(eventBridgeEvent('a', { time: 'yesterday' }))).message).toContain('time');
  });
});

describe('parseS3Event: anything else', () => {
  it.each([
    ['null', null],
    ['a string', 'bronze/a.csv'],
    ['an array', [notificationRecord('a')]],
    ['a scheduled event', { 'source-less': true, id: 'x', time: '2026-01-01T00:00:00Z' }],
  ])('refuses %s with one clear error', (_name, event) => {
    expect(validationError(() => parseS3Event(event)).message).toBe(
      'invalid S3 event: (root): not an S3 event: expected an EventBridge event from aws.s3 or an S3 notification with Records',
    );
  });
});
