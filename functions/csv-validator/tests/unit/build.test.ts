import { readFileSync } from 'node:fs';
import { buildTwice } from '@laminar/bundler/testing';
import { describe, expect, it } from 'vitest';

describe('csv-validator build', () => {
  it('gives byte-identical zips from two clean builds, with nothing left external', async () => {
    const { a, b } = await buildTwice(import.meta.url);
    expect(readFileSync(a.zipPath).equals(readFileSync(b.zipPath))).toBe(true);
    expect(a.sourceCodeHash).toBe(b.sourceCodeHash);
    expect(a.external).toEqual([]);
  });
});
