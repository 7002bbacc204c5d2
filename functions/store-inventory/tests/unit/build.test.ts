import { readFileSync } from 'node:fs';
import { buildTwice } from '@laminar/bundler/testing';
import { describe, expect, it } from 'vitest';

describe('store-inventory build', () => {
  it('gives byte-identical zips from two clean builds', async () => {
    const { a, b } = await buildTwice(import.meta.url);
    expect(readFileSync(a.zipPath).equals(readFileSync(b.zipPath))).toBe(true);
    expect(a.external).toEqual([]);
  });
});
