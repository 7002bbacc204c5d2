import { readFileSync } from 'node:fs';
import { buildTwice } from '@laminar/bundler/testing';
import { describe, expect, it } from 'vitest';

describe('kafka-archiver build', () => {
  it('gives byte-identical zips from two clean builds, without the native Kafka client', async () => {
    const { loaded, a, b } = await buildTwice(import.meta.url);
    expect(readFileSync(a.zipPath).equals(readFileSync(b.zipPath))).toBe(true);
    expect(a.external).toEqual([]);
    // The mapping delivers records; the archiver never needs the client or its layer.
    expect(loaded.spec.layers).toEqual([]);
  });
});
