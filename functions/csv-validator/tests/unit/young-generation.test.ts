import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

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
  const out = execFileSync(process.execPath, ['--max-semi-space-size=64', '--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8' });
  return Number(out);
}

describe('YoungGenerationCap', () => {
  it('stops the young generation at twice the semi-space asked for, whatever node was started with', () => {
    // Without it, V8 grows the young generation towards the command line's 2 × 64 MB.
    expect(largestYoungGenerationMb(false)).toBeGreaterThan(16);
    expect(largestYoungGenerationMb(true)).toBeLessThanOrEqual(8);
  });
});
