import { execFileSync } from 'node:child_process';
import { nodeForRuntime } from '@laminar/lambda-node';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import spec from '../../spec.ts';
import { settleOldGeneration } from '../../src/old-generation.ts';

const MODULE = fileURLToPath(new URL('../../src/old-generation.ts', import.meta.url));

/**
 * The largest old generation (MB) of a process on the function's runtime's Node, with a large
 * old-generation limit as Lambda gives (and a small young generation, as src/young-generation.ts
 * keeps), that keeps ~40 MB alive while replacing it slowly (every object lives long enough to be promoted,
 * then dies), as the validator's settling and spill buffers do — with or without settling first.
 */
const LIVE_ENTRIES = 250_000;

function largestOldGenerationMb(settle: boolean): number {
  const script = `
    const LIVE_ENTRIES = ${LIVE_ENTRIES};
    import { getHeapSpaceStatistics } from 'node:v8';
    import { settleOldGeneration } from ${JSON.stringify(MODULE)};
    if (${settle} && !settleOldGeneration()) throw new Error('refused');
    const live = new Array(LIVE_ENTRIES).fill(null);
    let largest = 0;
    for (let i = 0; i < 6_000_000; i++) {
      live[i % live.length] = { i, text: ('row ' + i + ' ').repeat(8) };
      if (i % 10_000 === 0) largest = Math.max(largest, getHeapSpaceStatistics().find((s) => s.space_name === 'old_space').space_size);
    }
    process.stdout.write(String(largest / 2 ** 20));
  `;
  const args = ['--max-old-space-size=1593', '--max-semi-space-size=4', '--import', 'tsx', '--input-type=module', '-e', script];
  return Number(execFileSync(nodeForRuntime(spec.runtime).path, args, { encoding: 'utf8', timeout: 100_000 }));
}

describe('settleOldGeneration', () => {
  it('keeps the old generation near what is alive, where V8 alone lets it grow around the garbage', () => {
    const alone = largestOldGenerationMb(false);
    const settled = largestOldGenerationMb(true);
    // Measured on Node 22, both through tsx (whose loading already collects once): 94–96 MB alone,
    // 77.5–78.3 MB settled.
    expect(alone - settled).toBeGreaterThan(6);
  }, 240_000);

  it('sets the growth factor, then collects once; a runtime that refuses flags keeps its own', () => {
    const calls: string[] = [];
    expect(settleOldGeneration(50, { setFlags: (f) => calls.push(f), collect: () => calls.push('collect') })).toBe(true);
    expect(calls).toEqual(['--heap-growing-percent=50', 'collect']);
    expect(
      settleOldGeneration(50, {
        setFlags: () => {
          throw new Error('refused');
        },
        collect: () => calls.push('never'),
      }),
    ).toBe(false);
    expect(calls).not.toContain('never');
  });
});
