import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { findRoot, loadAllSpecs } from '@laminar/spec';
import { afterAll, describe, expect, it } from 'vitest';
import type { Estimate } from '../../src/estimate.ts';

const root = findRoot(import.meta.dirname);
const bin = join(import.meta.dirname, '../../bin/laminar-cost.js');
const run = promisify(execFile);
const cost = (...args: string[]) => run(process.execPath, [bin, ...args], { cwd: root, env: { ...process.env, INIT_CWD: root } });
const scratch = mkdtempSync(join(tmpdir(), 'laminar-cost-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const close = (a: number, b: number) => expect(Math.abs(a - b)).toBeLessThan(1e-9);

describe('pnpm cost on the repository', () => {
  it('the table lists every function of functions/', async () => {
    const [{ stdout }, loaded] = await Promise.all([cost(), loadAllSpecs(root)]);
    const table = stdout.slice(stdout.indexOf('function '), stdout.indexOf('all functions'));
    for (const { spec } of loaded) expect(table).toMatch(new RegExp(`^${spec.name} `, 'm'));
    expect(stdout).toMatch(/^total per month +\$\d+\.\d\d$/m);
    expect(stdout).toContain('Assumptions');
  });

  it('its totals add up: line items → functions → sections → total', async () => {
    const e = JSON.parse((await cost('--json')).stdout) as Estimate;
    const loaded = await loadAllSpecs(root);
    expect(e.functions.map((f) => f.name)).toEqual(loaded.map((l) => l.spec.name));
    for (const f of e.functions) {
      expect(f.invocations, f.name).toBeGreaterThan(0);
      close(f.lambdaCost, f.lambda.reduce((n, i) => n + i.cost, 0));
      close(f.otherCost, f.other.reduce((n, i) => n + i.cost, 0));
      close(f.total, f.lambdaCost + f.otherCost);
    }
    close(e.totals.functions, e.functions.reduce((n, f) => n + f.total, 0));
    close(e.totals.shared, e.shared.reduce((n, i) => n + i.cost, 0));
    close(e.totals.total, e.totals.functions + e.totals.shared + e.totals.freeTier);
    expect(e.warnings).toEqual([]);
  });

  it('uses measured durations from a file of local REPORT records', async () => {
    const file = join(scratch, 'durations.json');
    writeFileSync(file, JSON.stringify({ 'object-audit': [{ durationMs: 12.5, initDurationMs: 280, cold: true }, { durationMs: 7.5, cold: false }] }));
    const e = JSON.parse((await cost('--json', '--durations', file)).stdout) as Estimate;
    expect(e.functions.find((f) => f.name === 'object-audit')?.duration).toMatchObject({ ms: 10, source: 'measured', initMs: 280, coldStartShare: 0.5 });
  });

  it('prices per region, and the free tier only on request', async () => {
    const [us, eu, free] = await Promise.all([cost('--json'), cost('--json', '--region', 'eu-west-1'), cost('--json', '--free-tier')]);
    const [u, e, f] = [us, eu, free].map((r) => JSON.parse(r.stdout) as Estimate) as [Estimate, Estimate, Estimate];
    expect(e.region).toBe('eu-west-1');
    expect(e.totals.total).not.toBe(u.totals.total);
    expect(u.totals.freeTier).toBe(0);
    expect(f.totals.freeTier).toBeLessThan(0);
    await expect(cost('--region', 'mars-1')).rejects.toMatchObject({ stderr: expect.stringMatching(/no prices for region "mars-1"/) });
  });

  it('docs/cost.md is the current markdown output (else run `pnpm cost --markdown --out docs/cost.md`)', async () => {
    const { stdout } = await cost('--markdown', '--check', 'docs/cost.md');
    expect(stdout).toMatch(/docs\/cost.md is up to date/);
  });
});
