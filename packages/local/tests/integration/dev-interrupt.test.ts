import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempRoot, zipBuffer } from './fixtures.ts';
import { runLaminar } from './laminar-process.ts';

let root: ReturnType<typeof tempRoot>;
let holding: ReturnType<typeof tempRoot>;

/** A project of one scheduled function, built: its spec's settings and its index.mjs. */
async function oneFunctionProject(name: string, settings: string, source: string): Promise<ReturnType<typeof tempRoot>> {
  const project = tempRoot();
  writeFileSync(join(project.dir, 'pnpm-workspace.yaml'), 'packages: []\n');
  mkdirSync(join(project.dir, 'functions', name, 'dist'), { recursive: true });
  writeFileSync(
    join(project.dir, 'functions', name, 'spec.ts'),
    `import { defineFunction } from '@laminar/spec';
export default defineFunction({
  name: '${name}',
  memoryMb: 128,
${settings}
  async: { maxRetries: 2, maxEventAgeS: 3600, onFailure: 'dlq' },
});
`,
  );
  writeFileSync(join(project.dir, 'functions', name, 'dist', `${name}.zip`), await zipBuffer({ 'index.mjs': source }));
  return project;
}

beforeAll(async () => {
  // The first firing (dev fires each schedule once and waits for it) returns; the next one, on
  // schedule, holds its environment past the grace Ctrl-C gives it.
  const holder = `let n = 0;
export const handler = async () => {
  if (++n === 1) return { n };
  console.log('holding the event');
  await new Promise((r) => setTimeout(r, 50_000));
  return { n };
};
`;
  holding = await oneFunctionProject('holder', `  timeoutS: 60,
  triggers: [{ kind: 'schedule', expression: 'rate(1 minute)' }],`, holder);
  root = await oneFunctionProject(
    'flaky',
    `  timeoutS: 5,
  triggers: [{ kind: 'schedule', expression: 'rate(1 hour)' }],`,
    "export const handler = async () => { throw new Error('upstream is down'); };\n",
  );
});
afterAll(() => {
  root.remove();
  holding.remove();
});

describe('laminar dev stopped with Ctrl-C', { timeout: 120_000 }, () => {
  it('keeps an event waiting for its retry in the DLQ as Interrupted, says so and exits 1', async () => {
    // Retries as far apart as on Lambda (1 min): Ctrl-C comes while the first one is waiting.
    const run = await runLaminar(['dev', '--retry-delay-scale', '1'], { cwd: root.dir, interruptWhen: (out) => out.includes('retry in 60.0 s') });
    expect(run.signal, run.stdout + run.stderr).toBeNull();
    expect(run.code, run.stdout + run.stderr).toBe(1);
    expect(run.stdout).toContain('unfinished at stop, record (Interrupted) → laminar-local-flaky-dlq');
    expect(run.stdout).toContain('✘ stopped with 1 async event unfinished (flaky 1): kept in the DLQs as Interrupted');
    // The stage checks are left out, and the summary says so rather than leave them out unsaid.
    expect(run.stdout).toContain('Pipeline: not checked (stopped before the run finished: its counts would not reconcile)');

    const listed = await runLaminar(['dlq', 'list', 'flaky', '--json'], { cwd: root.dir });
    const [record] = (JSON.parse(listed.stdout) as Record<string, { body: Record<string, unknown> }[]>)['laminar-local-flaky-dlq'] ?? [];
    expect(record?.body).toMatchObject({
      requestContext: { condition: 'Interrupted', approximateInvokeCount: 1 },
      requestPayload: { 'detail-type': 'Scheduled Event', source: 'aws.events' },
      responsePayload: { errorType: 'Error', errorMessage: 'upstream is down' },
    });
  });

  it('stops before its summary: an attempt the stop cuts short after the grace is counted there, in its DLQ as Interrupted', async () => {
    // A minute in 4 s: a loaded machine's slow Ctrl-C still comes before a third firing.
    const run = await runLaminar(['dev', '--speed', '15', '--no-console'], { cwd: holding.dir, interruptWhen: (out) => out.includes('holding the event') });
    expect(run.signal, run.stdout + run.stderr).toBeNull();
    expect(run.code, run.stdout + run.stderr).toBe(1);
    const at = run.stdout.lastIndexOf('Summary (');
    expect(at, run.stdout).toBeGreaterThan(0);
    // Filed while the runner stopped, before the summary that counts it.
    expect(run.stdout.slice(0, at)).toContain('unfinished at stop, record (Interrupted) → laminar-local-holder-dlq');
    const summary = run.stdout.slice(at);
    expect(summary).toContain('✘ holder (rate(1 minute)): 2 scheduled invocations, 1 failed');
    expect(summary).toContain('laminar-local-holder-dlq: 1 message (on-failure of holder)');
    expect(summary).toContain('✘ stopped with 1 async event unfinished (holder 1): kept in the DLQs as Interrupted');
    expect(summary).not.toContain('still under way');
  });
});
