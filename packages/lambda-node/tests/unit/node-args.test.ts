import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { heapArgs, lambdaNodeArgs } from '../../src/index.ts';

describe('node flags as Lambda’s bootstrap sets them', () => {
  it('sizes the V8 heap from the memory setting', () => {
    expect(heapArgs(128)).toEqual(['--max-semi-space-size=6', '--max-old-space-size=116']);
    expect(heapArgs(1024)).toEqual(['--max-semi-space-size=51', '--max-old-space-size=922']);
  });

  it('exposes gc() and raises the header limit besides', () => {
    expect(lambdaNodeArgs(1769)).toEqual(['--expose-gc', '--max-http-header-size=81920', '--max-semi-space-size=88', '--max-old-space-size=1593']);
  });

  it('gives a node they start what Lambda’s would have', () => {
    const script = "const v8 = require('node:v8'); const http = require('node:http'); console.log(JSON.stringify({ gc: typeof gc, headers: http.maxHeaderSize, heapMb: Math.round(v8.getHeapStatistics().heap_size_limit / 2 ** 20) }))";
    const seen = JSON.parse(execFileSync(process.execPath, [...lambdaNodeArgs(256), '-e', script], { encoding: 'utf8' })) as { gc: string; headers: number; heapMb: number };
    expect(seen.gc).toBe('function');
    expect(seen.headers).toBe(81920);
    // Old space 231 MB plus the young generation's reservation (V8 adds 3 semi-spaces of 12 MB).
    expect(seen.heapMb).toBeGreaterThanOrEqual(231);
    expect(seen.heapMb).toBeLessThan(256 + 40);
  });
});
