import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { nodeForRuntime } from '@laminar/lambda-node';
import { ExecutionEnvironment } from '../../src/environment.ts';
import { type InvokeResult, Invoker, ThrottledError, UnknownFunctionError } from '../../src/invoker.ts';
import type { Output } from '../../src/output.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture, sources, tempRoot } from './fixtures.ts';

const root = tempRoot();
const lines: string[] = [];
const output: Output = { line: (fn, text) => lines.push(`[${fn}] ${text}`) };
let invoker: Invoker;

/** The kernel's state of a process: R running, S sleeping, T stopped (frozen). */
function processState(pid: number): string {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
}

function alive(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

beforeAll(async () => {
  process.env.LAMINAR_RUNNER_ONLY_SECRET = 'must not leak';
  const dir = root.dir;
  invoker = new Invoker({
    root: dir,
    region: 'eu-west-1',
    credentials: { accessKeyId: 'AKIDLOCAL', secretAccessKey: 'local-secret', sessionToken: 'local-token' },
    serviceEnv: { AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:9', LAMINAR_S3_FORCE_PATH_STYLE: 'true' },
    output,
    functions: await Promise.all([
      // The env as resolveEnv gives it: the platform's NODE_OPTIONS with the spec's own after them.
      fixture(dir, { name: 'counter', memoryMb: 256 }, sources.counter, { TABLE: 'laminar-local-table', NODE_OPTIONS: '--enable-source-maps --stack-trace-limit=50' }),
      fixture(dir, { name: 'sleepy', timeoutS: 1 }, sources.counter),
      fixture(dir, { name: 'node20', runtime: 'nodejs20.x' }, sources.counter),
      fixture(dir, { name: 'parallel' }, sources.counter),
      fixture(dir, { name: 'hog', memoryMb: 128 }, sources.hog),
      fixture(dir, { name: 'init-throws' }, sources.initThrows),
      fixture(dir, { name: 'import-fails' }, sources.importFails),
      fixture(dir, { name: 'no-handler' }, sources.noHandler),
      fixture(dir, { name: 'typed-error' }, sources.typedError),
      // Functions of one test each, whose first invocation must find no warm environment left by
      // another test (the suite passes in any order: vitest --sequence.shuffle.tests).
      fixture(dir, { name: 'module-scope', memoryMb: 256 }, sources.counter),
      fixture(dir, { name: 'warm-errors' }, sources.typedError),
      fixture(dir, { name: 'callback' }, sources.callback),
      fixture(dir, { name: 'custom-handler', handler: 'main' }, 'export const main = async () => "custom";'),
      fixture(dir, { name: 'sync-return' }, 'export const handler = (event) => ({ answer: 42, event });'),
      fixture(dir, { name: 'unserializable' }, sources.unserializable),
      fixture(dir, { name: 'idle-rejection' }, sources.typedError),
    ]),
  });
});

afterAll(async () => {
  await invoker.stop();
  root.remove();
  delete process.env.LAMINAR_RUNNER_ONLY_SECRET;
});

type CounterResult = {
  count: number;
  pid: number;
  cwd: string;
  remainingMs: number;
  memoryLimitInMB: string;
  requestId: string;
  functionName: string;
  arn: string;
  env: Record<string, string>;
  sourceMaps: boolean;
  execArgv: string[];
  gcExposed: boolean;
  nodeVersion: string;
  event: unknown;
};

describe('execution environments', () => {
  it('runs module scope once and reuses the warm environment', async () => {
    const first = await invoker.invoke('module-scope', { n: 1 });
    const second = await invoker.invoke('module-scope', { n: 2 });
    const a = first.result as CounterResult;
    const b = second.result as CounterResult;
    expect(a.count).toBe(1);
    expect(b.count).toBe(2);
    expect(b.pid).toBe(a.pid);
    expect(first.report.cold).toBe(true);
    expect(first.report.initDurationMs).toBeGreaterThan(0);
    expect(second.report.cold).toBe(false);
    expect(second.report.initDurationMs).toBeUndefined();
    expect(second.report).toMatchObject({ memorySizeMb: 256, billedMs: Math.ceil(second.report.durationMs) });
    expect(second.report.maxMemoryUsedMb).toBeGreaterThan(10);
    expect(second.report.maxMemoryUsedMb).toBeLessThan(256);
    expect(b.event).toEqual({ n: 2 });
    // Module-scope output belongs to the cold invocation, as it precedes START in CloudWatch.
    expect(first.logs.some((l) => /\tundefined\tINFO\tinit in module-scope$/.test(l.text))).toBe(true);
    expect(second.logs.some((l) => l.text.includes('init in'))).toBe(false);
  });

  it('gives the handler a Lambda context and a Lambda environment, not the runner’s', async () => {
    const res = await invoker.invoke('counter', {});
    const r = res.result as CounterResult;
    expect(r.requestId).toBe(res.requestId);
    expect(r.functionName).toBe('counter');
    expect(r.arn).toBe('arn:aws:lambda:eu-west-1:000000000000:function:counter');
    expect(r.memoryLimitInMB).toBe('256');
    expect(r.remainingMs).toBeGreaterThan(9_000);
    expect(r.remainingMs).toBeLessThanOrEqual(10_000);
    expect(r.cwd).toMatch(/\.laminar\/envs\/counter-[0-9a-f]{12}$/);
    expect(r.env).toMatchObject({
      TABLE: 'laminar-local-table',
      AWS_LAMBDA_FUNCTION_NAME: 'counter',
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '256',
      AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
      AWS_LAMBDA_LOG_GROUP_NAME: '/aws/lambda/counter',
      AWS_REGION: 'eu-west-1',
      AWS_DEFAULT_REGION: 'eu-west-1',
      AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs22.x',
      AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
      _HANDLER: 'index.handler',
      LAMBDA_TASK_ROOT: r.cwd,
      TZ: ':UTC',
      NODE_OPTIONS: '--enable-source-maps --stack-trace-limit=50',
      AWS_ACCESS_KEY_ID: 'AKIDLOCAL',
      AWS_SECRET_ACCESS_KEY: 'local-secret',
      AWS_SESSION_TOKEN: 'local-token',
      AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:9',
      LAMINAR_S3_FORCE_PATH_STYLE: 'true',
      // As infra sets it on every function: the runtime makes it the `stage` dimension of each metric.
      LAMINAR_STAGE: 'local',
    });
    expect(r.env.AWS_LAMBDA_LOG_STREAM_NAME).toMatch(/^\d{4}\/\d\d\/\d\d\/\[\$LATEST\][0-9a-f]{32}$/);
    expect(r.env._X_AMZN_TRACE_ID).toMatch(/^Root=1-[0-9a-f]{8}-[0-9a-f]{24};/);
    expect(r.env.LAMINAR_RUNNER_ONLY_SECRET).toBeUndefined();
    expect(r.env.VITEST).toBeUndefined();
    expect(r.sourceMaps).toBe(true);
    // Lambda bootstrap's flags only: none of the runner's own (tsx, vitest) reach the function.
    expect(r.execArgv).toEqual(['--expose-gc', '--max-http-header-size=81920', '--max-semi-space-size=12', '--max-old-space-size=231']);
    expect(r.gcExposed).toBe(true);
  });

  it('runs each function on its runtime’s Node, as Lambda does', async () => {
    // nodejs22.x (the default): Node 22 from @laminar/lambda-node's packaged build on Linux x64 and
    // arm64 hosts (CI's); nodejs20.x: this workspace's Node 20. Elsewhere the runner's Node stands in.
    const major = (runtime: 'nodejs20.x' | 'nodejs22.x') => `v${nodeForRuntime(runtime).version.split('.')[0]}.`;
    if (process.platform === 'linux' && process.version.startsWith('v20.')) expect(nodeForRuntime('nodejs22.x').exact).toBe(true);
    expect(((await invoker.invoke('counter', {})).result as CounterResult).nodeVersion.startsWith(major('nodejs22.x'))).toBe(true);
    lines.length = 0;
    const on20 = (await invoker.invoke('node20', {})).result as CounterResult;
    expect(on20.nodeVersion.startsWith(major('nodejs20.x'))).toBe(true);
    expect(on20.env.AWS_EXECUTION_ENV).toBe('AWS_Lambda_nodejs20.x');
    expect(on20.execArgv).toEqual(['--expose-gc', '--max-http-header-size=81920', '--max-semi-space-size=6', '--max-old-space-size=116']);
    expect(lines[0]).toBe('[node20] INIT_START Runtime Version: nodejs:20.local\tRuntime Version ARN: local');
  });

  it('fails an init whose node binary cannot start, instead of waiting for it', async () => {
    // Before, the spawn's 'error' (no 'exit' follows it) left init pending past its own timeout.
    const env = new ExecutionEnvironment({ functionName: 'no-node', taskRoot: root.dir, handler: 'index.handler', memoryMb: 128, env: {}, nodePath: join(root.dir, 'no-such-node') });
    const init = await env.init(30_000);
    expect(init).toMatchObject({ ok: false, cause: 'error', error: { errorType: 'Runtime.ExitError', errorMessage: expect.stringMatching(/^Runtime failed to start: spawn .*no-such-node ENOENT/) } });
  });

  it('captures the invocation’s log lines in Lambda’s console format and prints platform lines', async () => {
    lines.length = 0;
    const res = await invoker.invoke('counter', {});
    const texts = res.logs.map((l) => l.text);
    expect(texts.some((t) => new RegExp(`^\\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z\\t${res.requestId}\\tINFO\\tinvocation \\d+$`).test(t))).toBe(true);
    // Run alone (-t), the environment starts cold: INIT_START and the module's own lines come first.
    const start = lines.indexOf(`[counter] START RequestId: ${res.requestId} Version: $LATEST`);
    expect(start).toBeGreaterThanOrEqual(0);
    if (start > 0) expect(lines[0]).toMatch(/^\[counter\] INIT_START /);
    expect(lines.at(-2)).toBe(`[counter] END RequestId: ${res.requestId}`);
    expect(lines.at(-1)).toMatch(new RegExp(`^\\[counter\\] REPORT RequestId: ${res.requestId}\\tDuration: [\\d.]+ ms\\tBilled Duration: \\d+ ms\\tMemory Size: 256 MB\\tMax Memory Used: \\d+ MB(?:\\tInit Duration: [\\d.]+ ms)?$`));
    expect(lines.some((l) => l.includes('\tINFO\tinvocation'))).toBe(true);
  });

  it('supports callback-style handlers', async () => {
    const res = await invoker.invoke('callback', { n: 7 });
    expect(res.result).toEqual({ via: 'callback', got: 7 });
    expect(res.report.cold).toBe(true);
  });

  it('scales out: a concurrent invocation gets a second environment', async () => {
    const [a, b] = await Promise.all([invoker.invoke('parallel', { sleepMs: 300 }), invoker.invoke('parallel', { sleepMs: 300 })]);
    const ra = a?.result as CounterResult;
    const rb = b?.result as CounterResult;
    expect(ra.pid).not.toBe(rb.pid);
    expect([ra.count, rb.count]).toEqual([1, 1]);
    expect(a?.report.cold && b?.report.cold).toBe(true);
    expect(invoker.environments('parallel')).toHaveLength(2);
  });

  it('kills a timed-out invocation and cold-starts the next one', async () => {
    const warm = await invoker.invoke('sleepy', {});
    const before = warm.result as CounterResult;
    const timedOut = await invoker.invoke('sleepy', { sleepMs: 5_000 });
    expect(timedOut.error).toEqual({
      errorType: 'Sandbox.Timedout',
      errorMessage: `RequestId: ${timedOut.requestId} Error: Task timed out after 1.00 seconds`,
      trace: [],
    });
    expect(timedOut.report).toMatchObject({ status: 'timeout', durationMs: 1_000, billedMs: 1_000, cold: false });
    expect(lines.some((l) => l.includes(`${timedOut.requestId} Task timed out after 1.00 seconds`))).toBe(true);
    expect(lines.some((l) => l.startsWith(`[sleepy] REPORT RequestId: ${timedOut.requestId}\tDuration: 1000.00 ms`) && l.endsWith('Status: timeout'))).toBe(true);
    expect(alive(before.pid)).toBe(false);
    expect(invoker.environments('sleepy')).toHaveLength(0);
    const next = await invoker.invoke('sleepy', {});
    const after = next.result as CounterResult;
    expect(next.report.cold).toBe(true);
    expect(next.report.initDurationMs).toBeGreaterThan(0);
    expect(after.count).toBe(1);
    expect(after.pid).not.toBe(before.pid);
  });

  it('kills an environment that goes over its memory with Runtime.OutOfMemory', async () => {
    const ok = await invoker.invoke('hog', { chunks: 0 });
    const pid = (ok.result as { pid: number }).pid;
    const res = await invoker.invoke('hog', { chunks: 64 });
    expect(res.error?.errorType).toBe('Runtime.OutOfMemory');
    expect(res.error?.errorMessage).toBe(`RequestId: ${res.requestId} Error: Runtime exited with error: signal: killed`);
    expect(res.report).toMatchObject({ status: 'error', errorType: 'Runtime.OutOfMemory', maxMemoryUsedMb: 128, memorySizeMb: 128 });
    expect(alive(pid)).toBe(false);
    const next = await invoker.invoke('hog', { chunks: 1 });
    expect(next.error).toBeUndefined();
    expect(next.report.cold).toBe(true);
    expect(lines.some((l) => /REPORT .*Max Memory Used: 128 MB.*Status: error\tError Type: Runtime\.OutOfMemory/.test(l))).toBe(true);
    const heap = await invoker.invoke('hog', { objects: true });
    expect(heap.error?.errorType).toBe('Runtime.OutOfMemory');
    expect(heap.report.maxMemoryUsedMb).toBe(128);
  });

  it('reports an error thrown at init with its own name, and discards the environment', async () => {
    const first = await invoker.invoke('init-throws', {});
    expect(first.error).toMatchObject({ errorType: 'ConfigError', errorMessage: 'invalid configuration: TABLE_NAME missing' });
    expect(first.error?.trace[0]).toBe('ConfigError: invalid configuration: TABLE_NAME missing');
    expect(first.report).toMatchObject({ initError: true, cold: true, status: 'error' });
    expect(first.logs.some((l) => l.text.includes('Uncaught Exception') && l.text.includes('"errorType":"ConfigError"'))).toBe(true);
    expect(invoker.environments('init-throws')).toHaveLength(0);
    const second = await invoker.invoke('init-throws', {});
    expect(second.report.cold).toBe(true);
    expect(lines.some((l) => l.startsWith('[init-throws] INIT_REPORT Init Duration:') && l.endsWith('Status: error\tError Type: Runtime.Unknown'))).toBe(true);
  });

  it('names a module that cannot load Runtime.ImportModuleError, a missing export Runtime.HandlerNotFound', async () => {
    const imp = await invoker.invoke('import-fails', {});
    expect(imp.error?.errorType).toBe('Runtime.ImportModuleError');
    expect(imp.error?.errorMessage).toMatch(/not-a-real-package-anywhere/);
    const nohandler = await invoker.invoke('no-handler', {});
    expect(nohandler.error).toMatchObject({
      errorType: 'Runtime.HandlerNotFound',
      errorMessage: 'index.handler is undefined or not exported',
    });
    expect((await invoker.invoke('custom-handler', {})).result).toBe('custom');
  });

  it('returns a typed error as Lambda does and keeps the environment warm', async () => {
    const res = await invoker.invoke('warm-errors', { kind: 'typed' });
    expect(res.error).toMatchObject({ errorType: 'ValidationError', errorMessage: 'amount must be positive' });
    expect(res.error?.trace[0]).toBe('ValidationError: amount must be positive');
    expect(res.error?.trace[1]).toMatch(/^\s+at .*index\.mjs/);
    expect(res.report.status).toBeUndefined();
    expect(res.logs.some((l) => l.text.includes(`${res.requestId}\tERROR\tInvoke Error`) && l.text.includes('"stack":['))).toBe(true);
    const str = await invoker.invoke('warm-errors', { kind: 'string' });
    expect(str.error).toEqual({ errorType: 'string', errorMessage: 'plain string', trace: [] });
    const ok = await invoker.invoke('warm-errors', {});
    expect(ok.report.cold).toBe(false);
    expect(ok.result).toMatchObject({ invocations: 3 });
  });

  it('reports an uncaught exception or unhandled rejection, then starts over', async () => {
    const late = await invoker.invoke('typed-error', { kind: 'late' });
    expect(late.error).toMatchObject({ errorType: 'RangeError', errorMessage: 'thrown from a timer' });
    expect(late.report).toMatchObject({ status: 'error', errorType: 'Runtime.ExitError' });
    const rejection = await invoker.invoke('typed-error', { kind: 'rejection' });
    expect(rejection.report.cold).toBe(true);
    expect(rejection.error).toMatchObject({ errorType: 'Runtime.UnhandledPromiseRejection', errorMessage: 'nobody awaits me' });
    const next = await invoker.invoke('typed-error', {});
    expect(next.result).toMatchObject({ invocations: 1 });
  });

  it('freezes an environment between invocations, as Lambda does: a timer the handler left fires in the next invocation, and fails it', async () => {
    lines.length = 0;
    const res = await invoker.invoke('typed-error', { kind: 'after' });
    const { pid, armedAt } = res.result as { pid: number; armedAt: number };
    // The stop takes effect once the process is next scheduled: a moment after the answer.
    await expect.poll(() => processState(pid)).toBe('T');
    // The handler's timer (1.5 s, room for a loaded machine to freeze it first) would have fired
    // by now in a running process.
    await new Promise((r) => setTimeout(r, Math.max(0, armedAt + 1_800 - Date.now())));
    expect(alive(pid)).toBe(true);
    expect(processState(pid)).toBe('T');
    expect(lines.some((l) => l.includes('environment exited between invocations'))).toBe(false);
    const next = await invoker.invoke('typed-error', {});
    // The timer fires on thaw, before this invocation reaches the handler: the runtime dies of an
    // error that is not this invocation's, and Lambda answers with the exit, not with that error.
    expect(next.error).toEqual({
      errorType: 'Runtime.ExitError',
      errorMessage: `RequestId: ${next.requestId} Error: Runtime exited with error: exit status 129`,
      trace: [],
    });
    expect(next.report).toMatchObject({ status: 'error', errorType: 'Runtime.ExitError' });
    // What was thrown is still in the invocation's log, as in CloudWatch.
    expect(next.logs.some((l) => l.text.includes('Uncaught Exception') && l.text.includes('thrown while idle'))).toBe(true);
    expect(alive(pid)).toBe(false);
    const after = await invoker.invoke('typed-error', {});
    expect(after.report.cold).toBe(true);
    // The stop takes effect once the process is next scheduled: a moment after the answer.
    await expect.poll(() => processState((after.result as { pid: number }).pid)).toBe('T');
  });

  it('reports a rejection an earlier invocation left, surfacing on thaw, as Runtime.ExitError with the exit status Lambda\'s runtime gives rejections', async () => {
    const res = await invoker.invoke('idle-rejection', { kind: 'after-rejection' });
    const { pid, armedAt } = res.result as { pid: number; armedAt: number };
    await expect.poll(() => processState(pid)).toBe('T');
    await new Promise((r) => setTimeout(r, Math.max(0, armedAt + 1_800 - Date.now())));
    const next = await invoker.invoke('idle-rejection', {});
    // Lambda's Node.js runtime exits 128 after an unhandled rejection (129 after an uncaught exception).
    expect(next.error).toEqual({
      errorType: 'Runtime.ExitError',
      errorMessage: `RequestId: ${next.requestId} Error: Runtime exited with error: exit status 128`,
      trace: [],
    });
    expect(next.logs.some((l) => l.text.includes('rejected while idle'))).toBe(true);
  });

  it('drops an environment whose process dies between invocations', async () => {
    const res = await invoker.invoke('typed-error', {});
    const { pid } = res.result as { pid: number };
    // Ended from outside while frozen (the kernel's OOM killer, say): a stopped process takes a
    // SIGTERM once it runs again.
    process.kill(pid, 'SIGTERM');
    process.kill(pid, 'SIGCONT');
    const exitLine = '[typed-error] environment exited between invocations: Runtime exited with error: signal: SIGTERM';
    for (let i = 0; i < 500 && !lines.includes(exitLine); i++) await new Promise((r) => setTimeout(r, 20));
    expect(lines).toContain(exitLine);
    expect(alive(pid)).toBe(false);
    const next = await invoker.invoke('typed-error', {});
    expect(next.report.cold).toBe(true);
  });

  it('refuses a response over 6 MB and maps undefined to null', async () => {
    const big = await invoker.invoke('typed-error', { kind: 'big' });
    expect(big.error?.errorType).toBe('Function.ResponseSizeTooLarge');
    const none = await invoker.invoke('typed-error', { kind: 'callback' });
    expect(none.result).toBeNull();
  });

  it('fails a result JSON cannot carry as Lambda\'s Node.js runtime does, and keeps the environment warm', async () => {
    // Its response serializer throws Error("Unable to stringify response body") in place of JSON's
    // own TypeError, and the handler's promise failing that way is reported as an invoke error.
    const bigint = await invoker.invoke('unserializable', { kind: 'bigint' });
    expect(bigint.error).toMatchObject({ errorType: 'Error', errorMessage: 'Unable to stringify response body' });
    expect(bigint.report.status).toBeUndefined();
    const circular = await invoker.invoke('unserializable', { kind: 'circular' });
    expect(circular.error).toMatchObject({ errorType: 'Error', errorMessage: 'Unable to stringify response body' });
    expect(circular.logs.some((l) => l.text.includes('\tERROR\tInvoke Error') && l.text.includes('Unable to stringify response body'))).toBe(true);
    expect(circular.report.cold).toBe(false);
  });

  it('answers null for a handler that returns a plain value, as Lambda drops any return that is not a promise', async () => {
    const r = await invoker.invoke('sync-return', { n: 1 });
    expect(r.error).toBeUndefined();
    expect(r.result).toBeNull();
  });

  it('names the known functions when asked for an unknown one', async () => {
    const err = await invoker.invoke('nope', {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnknownFunctionError);
    expect((err as Error).message).toMatch(/^Function not found: nope\. Known functions: callback, counter, custom-handler, hog,/);
  });

  it('throttles beyond the concurrency limit', async () => {
    const small = new Invoker({
      root: root.dir,
      region: 'us-east-1',
      maxConcurrency: 1,
      functions: [await fixture(root.dir, { name: 'one-at-a-time' }, sources.counter)],
    });
    try {
      const first = small.invoke('one-at-a-time', { sleepMs: 5_000 });
      // No pause: the second arrives while the first's environment is still being created, which must count.
      await expect(small.invoke('one-at-a-time', {})).rejects.toBeInstanceOf(ThrottledError);
      expect(((await first) as InvokeResult).error).toBeUndefined();
    } finally {
      await small.stop();
    }
  });

  it('runs an init that outlasts the init phase again inside the first invocation, on the function\'s timeout, as Lambda does', async () => {
    const slowLines: string[] = [];
    const slow = new Invoker({
      root: root.dir,
      region: 'us-east-1',
      // Stands for Lambda's 10 s init phase, so the test is quick.
      initTimeoutMs: 500,
      output: { line: (fn, text) => void slowLines.push(`[${fn}] ${text}`) },
      functions: await Promise.all([
        fixture(root.dir, { name: 'slow-init', timeoutS: 5 }, 'await new Promise((r) => setTimeout(r, 800)); export const handler = async () => "ready";'),
        fixture(root.dir, { name: 'slower-init', timeoutS: 1 }, 'await new Promise((r) => setTimeout(r, 1500)); export const handler = async () => "never";'),
        fixture(
          root.dir,
          { name: 'slow-init-slow-handler', timeoutS: 2 },
          'await new Promise((r) => setTimeout(r, 800)); export const handler = async () => new Promise((r) => setTimeout(r, 5_000));',
        ),
      ]),
    });
    try {
      const first = await slow.invoke('slow-init', {});
      expect(first.error).toBeUndefined();
      expect(first.result).toBe('ready');
      // Cold, with the second init counted in its Duration and no Init Duration.
      expect(first.report).toMatchObject({ cold: true });
      expect(first.report.initDurationMs).toBeUndefined();
      expect(first.report.durationMs).toBeGreaterThanOrEqual(800);
      expect(slowLines.join('\n')).toMatch(/INIT_REPORT Init Duration: [\d.]+ ms\tPhase: init\tStatus: timeout/);
      expect((await slow.invoke('slow-init', {})).report.cold).toBe(false);
      // Longer than the function's own timeout too: then the invocation times out.
      const never = await slow.invoke('slower-init', {}, { requestId: 'init-timeout' });
      expect(never.error).toMatchObject({ errorType: 'Sandbox.Timedout', errorMessage: 'RequestId: init-timeout Error: Task timed out after 1.00 seconds' });
      // A handler that then times out is said to have outlasted the function's timeout, not what the init left of it.
      const late = await slow.invoke('slow-init-slow-handler', {}, { requestId: 'late' });
      expect(late.error).toMatchObject({ errorType: 'Sandbox.Timedout', errorMessage: 'RequestId: late Error: Task timed out after 2.00 seconds' });
      expect(slowLines.filter((l) => l.includes('late Task timed out'))).toEqual([expect.stringMatching(/late Task timed out after 2\.00 seconds$/)]);
    } finally {
      await slow.stop();
    }
  });

  it('runs an init that outlasted the init phase again inside the first invocation even when the function\'s timeout is shorter than the init phase', async () => {
    const retryLines: string[] = [];
    const flag = join(root.dir, 'short-timeout-first-init');
    // Slow only the first time (the second init finds the flag), so the retry can succeed within the timeout.
    const slowOnce = `
import { existsSync, writeFileSync } from 'node:fs';
const first = !existsSync(${JSON.stringify(flag)});
console.log(first ? 'first init' : 'init again');
if (first) {
  writeFileSync(${JSON.stringify(flag)}, '');
  await new Promise((r) => setTimeout(r, 15_000));
}
export const handler = async () => 'ready';
`;
    const short = new Invoker({
      root: root.dir,
      region: 'us-east-1',
      // Lambda's 10 s init phase and a function timeout under it (3 s, say), both scaled down, with
      // room for node to start (twice, within the timeout) on a loaded machine.
      initTimeoutMs: 6_000,
      timeoutMs: 4_000,
      output: { line: (fn, text) => void retryLines.push(`[${fn}] ${text}`) },
      functions: await Promise.all([
        fixture(root.dir, { name: 'short-timeout-slow-once' }, slowOnce),
        fixture(root.dir, { name: 'short-timeout-always-slow' }, 'console.log("init"); await new Promise((r) => setTimeout(r, 15_000)); export const handler = async () => "never";'),
      ]),
    });
    try {
      const ok = await short.invoke('short-timeout-slow-once', {});
      expect(ok.error).toBeUndefined();
      expect(ok.result).toBe('ready');
      expect(ok.report.cold).toBe(true);
      expect(ok.report.initDurationMs).toBeUndefined();
      expect(ok.logs.map((l) => l.text.split('\t').at(-1))).toEqual(['first init', 'init again']);
      expect(retryLines.join('\n')).toMatch(/\[short-timeout-slow-once\] INIT_REPORT Init Duration: [\d.]+ ms\tPhase: init\tStatus: timeout/);
      // Slow the second time too: the invocation times out, on the function's timeout.
      const never = await short.invoke('short-timeout-always-slow', {}, { requestId: 'short' });
      expect(never.error).toMatchObject({ errorType: 'Sandbox.Timedout', errorMessage: 'RequestId: short Error: Task timed out after 4.00 seconds' });
      expect(never.logs.filter((l) => l.text.endsWith('\tinit'))).toHaveLength(2);
    } finally {
      await short.stop();
    }
  }, 60_000);

  it('keeps the concurrency slot taken while an init that outlasted the init phase starts again', async () => {
    const one = new Invoker({
      root: root.dir,
      region: 'us-east-1',
      maxConcurrency: 1,
      initTimeoutMs: 300,
      functions: [await fixture(root.dir, { name: 'slow-init-alone', timeoutS: 5 }, 'await new Promise((r) => setTimeout(r, 500)); export const handler = async () => process.pid;')],
    });
    try {
      let settled = false;
      const first = one.invoke('slow-init-alone', {}).finally(() => {
        settled = true;
      });
      // Knocks all through the first one's cold start, the hand-over between its two inits included.
      const started = performance.now();
      const knocks: { at: number; answer: string }[] = [];
      while (!settled) {
        const answer = await one.invoke('slow-init-alone', {}).then(
          () => 'ran',
          (e: unknown) => (e instanceof ThrottledError ? 'throttled' : String(e)),
        );
        knocks.push({ at: performance.now() - started, answer });
        await new Promise((r) => setTimeout(r, 2));
      }
      expect((await first).result).toEqual(expect.any(Number));
      // Some knocked after the first init's 300 ms, while the second init ran.
      expect(knocks.some((k) => k.at > 300 && k.answer === 'throttled')).toBe(true);
      expect(new Set(knocks.slice(0, -1).map((k) => k.answer))).toEqual(new Set(['throttled']));
    } finally {
      await one.stop();
    }
  });

  it('kills every environment on stop', async () => {
    const other = new Invoker({
      root: root.dir,
      region: 'us-east-1',
      functions: [await fixture(root.dir, { name: 'stopper' }, sources.counter)],
    });
    const results = await Promise.all([other.invoke('stopper', { sleepMs: 100 }), other.invoke('stopper', { sleepMs: 100 })]);
    const pids = results.map((r) => (r.result as CounterResult).pid);
    expect(pids.every(alive)).toBe(true);
    await other.stop();
    expect(pids.some(alive)).toBe(false);
    await expect(other.invoke('stopper', {})).rejects.toThrow(/stopped/);
  });

  it('marks an invocation the stop kills as interrupted: the runner cut it short, the function did not fail', async () => {
    const other = new Invoker({
      root: root.dir,
      region: 'us-east-1',
      functions: [await fixture(root.dir, { name: 'cut-short' }, sources.counter)],
    });
    const done = await other.invoke('cut-short', {});
    expect(done.interrupted).toBeUndefined();
    const held = other.invoke('cut-short', { sleepMs: 60_000 });
    while (!other.environments('cut-short').some((e) => e.state === 'busy')) await new Promise((r) => setTimeout(r, 10));
    await other.stop();
    const res = await held;
    expect(res.error?.errorType).toBe('Runtime.ExitError');
    expect(res.interrupted).toBe(true);
  });
});
