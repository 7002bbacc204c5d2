import { describe, expect, it } from 'vitest';
import { bareEtag, type OutputKeys, outputKeys } from '../../src/keys.ts';

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
    expect(outputKeys({ key: 'bronze/a.csv', etag: '"abc-2"' }, prefixes).silverPart).toBe('silver/a/abc-2/part-00000.jsonl');
    expect(outputKeys({ key: 'bronze/a.csv', versionId: 'null', etag: 'abc' }, prefixes).silverPart).toBe('silver/a/abc/part-00000.jsonl');
    expect(() => outputKeys({ key: 'bronze/a.csv' }, prefixes)).toThrow(/not be deterministic/);
  });

  it('keep awkward keys as they are: spaces, plus signs, unicode', () => {
    expect(outputKeys({ key: 'bronze/c++ exports/Çà et là 😀.csv', etag: 'e' }, prefixes).rejected).toBe('quarantine/c++ exports/Çà et là 😀/e/rejected.jsonl');
    expect(outputKeys({ key: 'bronze/.csv', etag: 'e' }, prefixes).silverPart).toBe('silver/.csv/e/part-00000.jsonl');
  });

  it('give no two source keys one folder, even objects with the same bytes (and so the same etag)', () => {
    for (const pair of [
      ['bronze/o.csv', 'bronze/o.CSV'],
      ['bronze/.csv', 'bronze/_.csv'],
      ['bronze/x/.csv', 'bronze/x/_.csv'],
    ]) {
      const [a, b] = pair.map((key) => outputKeys({ key, etag: 'd41d8cd98f00b204e9800998ecf8427e' }, prefixes).silverManifest);
      expect(a, pair.join(' and ')).not.toBe(b);
    }
    expect(outputKeys({ key: 'bronze/ORDERS.CSV', etag: 'e' }, prefixes).silverPart).toBe('silver/ORDERS.CSV/e/part-00000.jsonl');
  });

  it("fit S3's 1,024 bytes however long the source key: cut to what fits, the whole key's hash after it", () => {
    const version = 'IYV3p45BT0ac8hjHg1houSdS1a.Mro8e';
    const all = (k: OutputKeys) => Object.values(k);
    // S3 allows a 1,024-byte source key; 'é' is 2 bytes, so a cut may not fall inside one.
    const longest = `bronze/${'é'.repeat(503)}xorders.csv`;
    expect(Buffer.byteLength(longest)).toBe(1024);
    const keys = outputKeys({ key: longest, versionId: version }, prefixes);
    for (const key of all(keys)) {
      expect(Buffer.byteLength(key), key).toBeLessThanOrEqual(1024);
      expect(key).not.toContain('\uFFFD');
      expect(key).toMatch(new RegExp(`^(silver|quarantine)/é+~[0-9a-f]{16}/${version}/`));
    }
    // The same source, the same keys (a retry overwrites them); another source, others.
    expect(outputKeys({ key: longest, versionId: version }, prefixes)).toEqual(keys);
    expect(outputKeys({ key: longest.replace('orders', 'orderz'), versionId: version }, prefixes).silverPart).not.toBe(keys.silverPart);
    // Just within the limit: as it is.
    const fits = `bronze/${'a'.repeat(1024 - 'quarantine/'.length - `/${version}/part-00000.jsonl`.length)}.csv`;
    expect(outputKeys({ key: fits, versionId: version }, prefixes).silverPart).toBe(`silver/${fits.slice(7, -4)}/${version}/part-00000.jsonl`);
    expect(Buffer.byteLength(outputKeys({ key: fits, versionId: version }, prefixes).rejected)).toBe(1024 - 2);
    expect(() => outputKeys({ key: longest, versionId: 'v'.repeat(1000) }, prefixes)).toThrow(/fits S3's 1024 bytes/);
  });

  it('bareEtag strips the HTTP quotes', () => {
    expect(bareEtag('"d41d8cd98f00b204e9800998ecf8427e"')).toBe('d41d8cd98f00b204e9800998ecf8427e');
    expect(bareEtag(undefined)).toBeUndefined();
  });
});
