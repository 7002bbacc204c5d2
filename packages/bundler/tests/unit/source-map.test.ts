import { SourceMap } from 'node:module';
import { decode, encode } from '@jridgewell/sourcemap-codec';
import { describe, expect, it } from 'vitest';
import { isOwnSource, ownCodeSourceMap } from '../../src/index.ts';

// Generated line 0 holds own code (src/a.ts), then zod's, then own code again (src/b.ts);
// line 1 starts inside papaparse and ends in src/a.ts.
const sources = ['../src/a.ts', '../../node_modules/.pnpm/zod@4/node_modules/zod/index.js', '../src/b.ts', '../../node_modules/papaparse/papaparse.js'];
const names = ['handler', 'parse', 'check', 'unused'];
const mappings = encode([
  [
    [0, 0, 10, 0, 0],
    [12, 0, 11, 2],
    [30, 1, 500, 4, 1],
    [45, 1, 501, 0],
    [60, 1, 502, 0, 3],
    [80, 2, 3, 0, 2],
  ],
  [
    [0, 3, 900, 0],
    [20, 3, 901, 0],
    [40, 0, 40, 0],
  ],
]);
const input = JSON.stringify({ version: 3, sources, sourcesContent: null, mappings, names });

describe('ownCodeSourceMap', () => {
  it("keeps the function's own mappings exactly and marks where each run of dependency code begins", () => {
    const out = JSON.parse(ownCodeSourceMap(input));
    expect(out.sources).toEqual(['../src/a.ts', '../src/b.ts']);
    expect(out.names).toEqual(['handler', 'check']);
    expect(decode(out.mappings)).toEqual([
      [[0, 0, 10, 0, 0], [12, 0, 11, 2], [30], [80, 1, 3, 0, 1]],
      [[0], [40, 0, 40, 0]],
    ]);
  });

  it('maps own code and leaves dependency code unmapped, as Node reads the map for a stack trace', () => {
    const map = new SourceMap(JSON.parse(ownCodeSourceMap(input)));
    expect(map.findEntry(0, 14)).toMatchObject({ originalSource: '../src/a.ts', originalLine: 11 });
    expect(map.findEntry(0, 85)).toMatchObject({ originalSource: '../src/b.ts', originalLine: 3, name: 'check' });
    // Inside zod and papaparse: no original position, so the frame keeps its place in index.mjs
    // instead of borrowing the line of the own code before it.
    const sourceAt = (line: number, column: number) => (map.findEntry(line, column) as { originalSource?: string }).originalSource;
    expect(sourceAt(0, 50)).toBeUndefined();
    expect(sourceAt(1, 25)).toBeUndefined();
    expect(map.findEntry(1, 41)).toMatchObject({ originalSource: '../src/a.ts', originalLine: 40 });
  });

  it('renumbers the lists that index sources', () => {
    const out = JSON.parse(ownCodeSourceMap(JSON.stringify({ ...JSON.parse(input), ignoreList: [1, 2, 3] })));
    // src/b.ts was source 2, now 1; the dependencies are gone.
    expect(out.ignoreList).toEqual([1]);
  });

  it('is a pure function of its input, and refuses what it cannot read', () => {
    expect(ownCodeSourceMap(input)).toBe(ownCodeSourceMap(input));
    expect(() => ownCodeSourceMap(JSON.stringify({ version: 3, sections: [] }))).toThrow(/version 3 map/);
  });

  it('counts a path as a dependency wherever node_modules appears as a folder', () => {
    expect(isOwnSource('../../packages/aws/src/s3.ts')).toBe(true);
    expect(isOwnSource('node_modules/zod/index.js')).toBe(false);
    expect(isOwnSource('../../node_modules/.pnpm/x@1/node_modules/x/a.js')).toBe(false);
    expect(isOwnSource('../src/not_node_modules/a.ts')).toBe(true);
  });

  it('counts a source named by URL as a dependency (packages that ship their own maps name sources so)', () => {
    expect(isOwnSource('https://raw.githubusercontent.com/fb55/entities/abc/src/decode.ts')).toBe(false);
    expect(isOwnSource('webpack://domutils/src/index.ts')).toBe(false);
    expect(isOwnSource('src/handler.ts')).toBe(true);
  });
});
