import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import { random } from '../../bench/generate.ts';
import { DuplicateDetector } from '../../src/duplicates.ts';

/** Feeds ids on lines 2, 3, …; defers what the filter flags; returns line → duplicateOf. */
function run(ids: string[], expectedRows: number, settleBudgetBytes?: number): { flagged: number; verdicts: Map<number, number | undefined> } {
  const detector = new DuplicateDetector({ expectedRows, ...(settleBudgetBytes ? { settleBudgetBytes } : {}) });
  let flagged = 0;
  ids.forEach((id, i) => {
    if (detector.add(id, i + 2)) {
      flagged++;
      detector.defer({ line: i + 2, id, raw: [id], silver: null, reasons: [] });
    }
  });
  const verdicts = new Map<number, number | undefined>();
  for (const { record, duplicateOf } of detector.resolve()) verdicts.set(record.line, duplicateOf);
  detector.close();
  return { flagged, verdicts };
}

/** Line → line of the first occurrence, for every repeated id. */
function truth(ids: string[]): Map<number, number> {
  const first = new Map<string, number>();
  const dups = new Map<number, number>();
  ids.forEach((id, i) => {
    const f = first.get(id);
    if (f === undefined) first.set(id, i + 2);
    else dups.set(i + 2, f);
  });
  return dups;
}

describe('DuplicateDetector', () => {
  it('finds every repeated id and the line it first appeared on', () => {
    const ids = Array.from({ length: 200_000 }, (_, i) => `ORD-${i % 1000 === 999 ? i - 500 : i}`);
    const { verdicts } = run(ids, ids.length);
    const expected = truth(ids);
    expect(expected.size).toBe(200);
    for (const [line, first] of expected) expect(verdicts.get(line), `line ${line}`).toBe(first);
    const reported = [...verdicts].filter(([, d]) => d !== undefined);
    expect(reported).toHaveLength(expected.size);
  });

  it('stays exact when the filter is far too small (every id a false alarm)', () => {
    const ids = Array.from({ length: 20_000 }, (_, i) => `id-${(i * 7919) % 15_000}`);
    const { flagged, verdicts } = run(ids, 1);
    expect(flagged).toBeGreaterThan(10_000);
    const expected = truth(ids);
    for (const [line, duplicateOf] of verdicts) expect(duplicateOf, `line ${line}`).toBe(expected.get(line));
  });

  it('handles ids with line breaks, quotes, backslashes and unicode', () => {
    const ids = ['a\nb', '"q"', 'back\\slash', 'é😀', 'plain', 'a\nb', '"q"', 'back\\slash', 'é😀', 'plain', '"'];
    const { verdicts } = run(ids, 1);
    expect([...verdicts].filter(([, d]) => d !== undefined)).toEqual([
      [7, 2],
      [8, 3],
      [9, 4],
      [10, 5],
      [11, 6],
    ]);
  });

  it('reads back ids longer than its buffers (junk in the id column of a huge record)', () => {
    const long = (c: string) => c.repeat(600_000);
    const ids = [long('a'), 'x', long('b'), long('a'), 'x', `${long('b')}\n"`];
    const { verdicts } = run(ids, 1);
    expect([...verdicts].filter(([, d]) => d !== undefined)).toEqual([
      [5, 2],
      [6, 3],
    ]);
  });

  it('settles on disk, partition by partition, when the flagged ids do not fit its budget', () => {
    // The same 30,000 ids twice over (a file concatenated with itself), some odd ones among them,
    // with a filter far too small and a 64 KiB budget: two levels of partitions.
    const base = Array.from({ length: 30_000 }, (_, i) => (i % 997 === 0 ? `odd "${i}"\n\\é` : `ORD-${(i * 7919) % 30_000}`));
    const ids = [...base, ...base.slice().reverse()];
    const { flagged, verdicts } = run(ids, 1, 64 * 1024);
    expect(flagged).toBeGreaterThan(30_000);
    const expected = truth(ids);
    expect(expected.size).toBe(30_000);
    for (const [line, first] of expected) expect(verdicts.get(line), `line ${line}`).toBe(first);
    for (const [line, duplicateOf] of verdicts) expect(duplicateOf, `line ${line}`).toBe(expected.get(line));
  });

  it('keeps its filter at 16 MiB however many rows are announced', () => {
    const d = new DuplicateDetector({ expectedRows: 1e9 });
    expect(d.filterBytes).toBe(16 * 2 ** 20);
    d.close();
  });

  it("starts from a clear filter when it takes over a closed detector's", () => {
    const ids = Array.from({ length: 50_000 }, (_, i) => `ORD-${i}`);
    const first = new DuplicateDetector({ expectedRows: 100_000 });
    for (const [i, id] of ids.entries()) first.add(id, i + 2);
    first.close();
    // Smaller: it takes a view of the larger filter, cleared; nothing it adds was seen before.
    const second = new DuplicateDetector({ expectedRows: 60_000 });
    expect(second.filterBytes).toBeLessThan(100_000 * 1.5);
    expect(ids.filter((id, i) => second.add(id, i + 2)).length).toBeLessThan(ids.length * 0.01);
    second.close();
  });

  it('is not fooled by ids crafted to share the unseeded hash: its seed is its own', () => {
    // 2^12 distinct ids with one FNV-1a state from the standard basis, by chaining 12 two-way
    // collisions (birthday searches over 5 random characters). Unseeded, all would share a Bloom
    // block and nearly all be flagged; with the detector's random basis they scatter.
    const ALPHA = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
    const fnv = (state: number, text: string) => {
      for (let i = 0; i < text.length; i++) state = Math.imul(state ^ text.charCodeAt(i), 0x01000193);
      return state;
    };
    const rnd = random(3);
    let state = fnv(0x811c9dc5 | 0, 'ORD-');
    const pairs: [string, string][] = [];
    for (let k = 0; k < 12; k++) {
      const seen = new Map<number, string>();
      for (;;) {
        const text = Array.from({ length: 5 }, () => ALPHA[Math.floor(rnd() * 62)]).join('');
        const h = fnv(state, text) >>> 0;
        const other = seen.get(h);
        if (other !== undefined && other !== text) {
          pairs.push([other, text]);
          state = h | 0;
          break;
        }
        seen.set(h, text);
      }
    }
    const ids = Array.from({ length: 1 << 12 }, (_, m) => `ORD-${pairs.map(([x, y], k) => ((m >> k) & 1 ? y : x)).join('')}`);
    expect(new Set(ids.map((id) => fnv(0x811c9dc5 | 0, id))).size).toBe(1);
    const { flagged, verdicts } = run(ids, ids.length);
    expect(flagged).toBeLessThan(ids.length * 0.05);
    expect([...verdicts.values()].filter((d) => d !== undefined)).toEqual([]);
  });

  it('removes its spill files when closed', () => {
    const before = readdirSync(tmpdir()).filter((n) => n.startsWith('csv-validator-')).length;
    const d = new DuplicateDetector({ expectedRows: 10 });
    d.add('x', 2);
    d.close();
    expect(readdirSync(tmpdir()).filter((n) => n.startsWith('csv-validator-')).length).toBe(before);
  });
});
