import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { YoungGenerationCap } from '../../src/young-generation.ts';

const MODULE = fileURLToPath(new URL('../../src/young-generation.ts', import.meta.url));

/**
 * The largest young generation (MB) of a node process started as Lambda starts it (a large
 * --max-semi-space-size on the command line) that keeps a batch's worth of objects alive at a
 * time, as the validator does — with or without the cap checked between batches.
 */
function largestYoungGenerationMb(cap: boolean): number {
  const script = `
    import { getHeapSpaceStatistics } from 'node:v8';
    import { YoungGenerationCap } from ${JSON.stringify(MODULE)};
    const cap = ${cap} ? new YoungGenerationCap(4) : undefined;
    let batch = [];
    let largest = 0;
    for (let i = 0; i < 3_000_000; i++) {
      batch.push({ i, text: 'row ' + i });
      if (batch.length === 10_000) {
        batch = [];
        cap?.check();
        const young = getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');
        largest = Math.max(largest, young.space_size);
      }
    }
    process.stdout.write(String(largest / 2 ** 20));
  `;
  const out = execFileSync(process.execPath, ['--max-semi-space-size=64', '--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 50_000 });
  return Number(out);
}

describe('YoungGenerationCap', () => {
  it('stops the young generation at twice the semi-space asked for, whatever node was started with', () => {
    // Without it, V8 grows the young generation towards the command line's 2 × 64 MB.
    expect(largestYoungGenerationMb(false)).toBeGreaterThan(16);
    expect(largestYoungGenerationMb(true)).toBeLessThanOrEqual(8);
  });
});

describe('YoungGenerationCap, on a heap that shrinks', () => {
  it('lets V8 grow the young generation again after it shrank, and stops it at the cap again', () => {
    let bytes = 2 * 2 ** 20;
    const factors: number[] = [];
    const cap = new YoungGenerationCap(4, { youngGenerationBytes: () => bytes, setGrowthFactor: (f) => factors.push(f) });
    cap.check();
    expect(factors).toEqual([]);
    bytes = 8 * 2 ** 20;
    cap.check();
    expect(cap.capped).toBe(true);
    expect(factors).toEqual([1]);
    // V8 reduced memory: the young generation is back at 1 MB. Seen within 256 checks.
    bytes = 2 ** 20;
    for (let i = 0; i < 256; i++) cap.check();
    expect(cap.capped).toBe(false);
    expect(factors).toEqual([1, 2]);
    bytes = 8 * 2 ** 20;
    cap.check();
    expect(factors).toEqual([1, 2, 1]);
  });
});
