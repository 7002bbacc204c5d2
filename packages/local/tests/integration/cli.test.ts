import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runLaminar } from './laminar-process.ts';
import { probeRoot } from './root-fixture.ts';

let root: Awaited<ReturnType<typeof probeRoot>>;

beforeAll(async () => {
  root = await probeRoot();
});
afterAll(() => root.remove());

const laminar = (args: string[], cwd = root.dir) => runLaminar(args, { cwd });

// Every call starts a runner process (tsx, the embedded S3, a function environment): about a second
// each on an idle machine, but a test of several took over 60 s while every package's suite ran.
describe('laminar CLI', { timeout: 180_000 }, () => {
  it('invoke --json prints one JSON object on stdout, logs on stderr', async () => {
    const r = await laminar(['invoke', 'probe', '--event', 'events/hello.json', '--json']);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const body = JSON.parse(lines[0] as string) as { requestId: string; result: { event: unknown; status: number }; report: { cold: boolean } };
    expect(Object.keys(body)).toEqual(['requestId', 'result', 'report']);
    expect(body.result).toMatchObject({ status: 200, event: { hello: 'world' } });
    expect(body.report.cold).toBe(true);
    expect(r.stderr).toMatch(new RegExp(`\\[probe\\] REPORT RequestId: ${body.requestId}\\tDuration: `));
  });

  it('invoke prints logs, REPORT and the pretty result; a failure exits 1', async () => {
    const ok = await laminar(['invoke', 'probe', '--event', '../events/hello.json'], `${root.dir}/functions`);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/\[probe\] START RequestId: [0-9a-f-]{36} Version: \$LATEST\n/);
    expect(ok.stdout).toMatch(/\[probe\] REPORT RequestId: .*Init Duration: [\d.]+ ms\n/);
    expect(ok.stdout).toContain('\nResult:\n{\n  "status": 200,');

    const failed = await laminar(['invoke', 'probe', '--event', 'events/fail.json', '--json']);
    expect(failed.code).toBe(1);
    const body = JSON.parse(failed.stdout) as { error: { errorType: string; errorMessage: string } };
    expect(body.error).toMatchObject({ errorType: 'TypeError', errorMessage: 'asked to fail' });
  });

  it('explains what is wrong: unknown function, missing or broken event file, unbuilt function', async () => {
    const unknown = await laminar(['invoke', 'nope', '--json']);
    expect(unknown.code).toBe(2);
    expect(unknown.stdout).toBe('');
    expect(unknown.stderr).toContain('Function not found: nope. Known functions: probe, unbuilt');

    const missing = await laminar(['invoke', 'probe', '--event', 'events/missing.json']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain(`event file not found: ${root.dir}/events/missing.json`);

    const broken = await laminar(['invoke', 'probe', '--event', 'events/broken.json']);
    expect(broken.code).toBe(2);
    expect(broken.stderr).toMatch(/is not valid JSON/);

    // A folder, and an event above Lambda's 6 MB: one line each, no stack, before anything starts.
    const folder = await laminar(['invoke', 'probe', '--event', 'events']);
    expect([folder.code, folder.stderr.trim()]).toEqual([2, `laminar: the event ${root.dir}/events is not a file (given "events")`]);
    writeFileSync(join(root.dir, 'events', 'huge.json'), JSON.stringify({ blob: 'x'.repeat(6_300_000) }));
    const huge = await laminar(['invoke', 'probe', '--event', 'events/huge.json']);
    expect([huge.code, huge.stderr.trim()]).toEqual([2, `laminar: the event in ${root.dir}/events/huge.json is 6300011 bytes; Lambda takes at most 6291456 in a synchronous invocation`]);

    const unbuilt = await laminar(['invoke', 'unbuilt']);
    expect(unbuilt.code).toBe(2);
    expect(unbuilt.stderr).toContain('run pnpm build');

    const usage = await laminar(['frobnicate']);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('unknown command "frobnicate"');
  });
});
