import { readFileSync } from 'node:fs';
import { buildTwice } from '@laminar/bundler/testing';
import { describe, expect, it } from 'vitest';

describe('pdf-manifest build', () => {
  it('gives byte-identical zips from two clean builds, with the handler at index.mjs', async () => {
    const { a, b } = await buildTwice(import.meta.url);
    expect(readFileSync(a.zipPath).equals(readFileSync(b.zipPath))).toBe(true);
    expect(a.sourceCodeHash).toBe(b.sourceCodeHash);
    expect(readFileSync(a.hashPath, 'utf8').trim()).toBe(a.sourceCodeHash);
    expect(a.external).toEqual([]);
  });
});
