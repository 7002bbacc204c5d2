import { readFileSync } from 'node:fs';
import { buildTwice } from '@laminar/bundler/testing';
import { describe, expect, it } from 'vitest';

describe('polymarket-producer build', () => {
  it('gives byte-identical zips and keeps the layer-provided Kafka client out of the bundle', async () => {
    const { a, b } = await buildTwice(import.meta.url);
    expect(readFileSync(a.zipPath).equals(readFileSync(b.zipPath))).toBe(true);
    expect(a.external).toEqual(['@confluentinc/kafka-javascript']);
    // librdkafka's binding is loaded from the layer at run time, never bundled.
    expect(a.topInputs.some((i) => i.path.includes('kafka-javascript'))).toBe(false);
  });
});
