import { describe, expect, it } from 'vitest';
import { bareEtag, outputKeys } from '../../src/keys.ts';

const prefixes = { silver: 'silver/', quarantine: 'quarantine/' };

describe('output keys', () => {
  it('mirror the source key under silver/ and quarantine/, per object version', () => {
    expect(outputKeys({ key: 'bronze/orders/2026-11-25/orders.csv', versionId: 'v3', etag: 'e1' }, prefixes)).toEqual({
      silverPart: 'silver/orders/2026-11-25/orders/v3/part-00000.jsonl',
      silverManifest: 'silver/orders/2026-11-25/orders/v3/_manifest.json',
      rejected: 'quarantine/orders/2026-11-25/orders/v3/rejected.jsonl',
      quarantineManifest: 'quarantine/orders/2026-11-25/orders/v3/_manifest.json',
    });
  });

  it('use the etag when there is no version (or S3 says "null"), without quotes', () => {
    expect(outputKeys({ key: 'bronze/a.CSV', etag: '"abc-2"' }, prefixes).silverPart).toBe('silver/a/abc-2/part-00000.jsonl');
    expect(outputKeys({ key: 'bronze/a.csv', versionId: 'null', etag: 'abc' }, prefixes).silverPart).toBe('silver/a/abc/part-00000.jsonl');
    expect(() => outputKeys({ key: 'bronze/a.csv' }, prefixes)).toThrow(/not be deterministic/);
  });

  it('keep awkward keys as they are: spaces, plus signs, unicode', () => {
    expect(outputKeys({ key: 'bronze/c++ exports/Çà et là 😀.csv', etag: 'e' }, prefixes).rejected).toBe('quarantine/c++ exports/Çà et là 😀/e/rejected.jsonl');
    expect(outputKeys({ key: 'bronze/.csv', etag: 'e' }, prefixes).silverPart).toBe('silver/_/e/part-00000.jsonl');
  });

  it('bareEtag strips the HTTP quotes', () => {
    expect(bareEtag('"d41d8cd98f00b204e9800998ecf8427e"')).toBe('d41d8cd98f00b204e9800998ecf8427e');
    expect(bareEtag(undefined)).toBeUndefined();
  });
});
