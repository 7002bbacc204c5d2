import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineFunction, type FunctionSpecInput } from '@laminar/spec';
import yazl from 'yazl';
import type { FunctionDeployment } from '../../src/invoker.ts';

/** Temporary roots live inside the package, so a spec.ts written there resolves @laminar/spec. */
const TMP = fileURLToPath(new URL('../../.tmp/', import.meta.url));

export function tempRoot(): { dir: string; remove(): void } {
  mkdirSync(TMP, { recursive: true });
  const dir = mkdtempSync(join(TMP, 'root-'));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export async function zipBuffer(files: Record<string, string>): Promise<Buffer> {
  const zip = new yazl.ZipFile();
  for (const [name, text] of Object.entries(files)) zip.addBuffer(Buffer.from(text), name, { mode: 0o100644 });
  zip.end();
  const chunks: Buffer[] = [];
  for await (const chunk of zip.outputStream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Writes `<dir>/<name>.zip` holding index.mjs and returns what the invoker needs. */
export async function fixture(
  dir: string,
  spec: Partial<FunctionSpecInput> & { name: string },
  source: string,
  env: Record<string, string> = {},
): Promise<FunctionDeployment> {
  const zipPath = join(dir, 'zips', `${spec.name}.zip`);
  mkdirSync(join(dir, 'zips'), { recursive: true });
  writeFileSync(zipPath, await zipBuffer({ 'index.mjs': source }));
  return {
    spec: defineFunction({ memoryMb: 128, timeoutS: 10, triggers: [{ kind: 'invoke' }], ...spec }),
    zipPath,
    env,
  };
}

export const sources = {
  /** Counts invocations at module scope: a warm environment keeps counting. */
  counter: `
let count = 0;
console.log('init in', process.env.AWS_LAMBDA_FUNCTION_NAME);
export const handler = async (event, context) => {
  count++;
  if (event?.sleepMs) await new Promise((r) => setTimeout(r, event.sleepMs));
  console.log('invocation', count);
  return {
    count,
    pid: process.pid,
    cwd: process.cwd(),
    remainingMs: context.getRemainingTimeInMillis(),
    memoryLimitInMB: context.memoryLimitInMB,
    requestId: context.awsRequestId,
    functionName: context.functionName,
    arn: context.invokedFunctionArn,
    env: { ...process.env },
    sourceMaps: process.sourceMapsEnabled,
    execArgv: process.execArgv,
    gcExposed: typeof globalThis.gc === 'function',
    nodeVersion: process.version,
    event,
  };
};
`,
  /** Holds filled buffers (real resident pages) until the environment is killed. */
  hog: `
const held = [];
export const handler = async (event) => {
  if (event?.objects) {
    // Heap objects in a synchronous loop: the process cannot report anything until it dies.
    const list = [];
    for (let i = 0; ; i++) list.push({ i, s: 'item ' + i });
  }
  for (let i = 0; i < (event?.chunks ?? 0); i++) {
    held.push(Buffer.alloc(8 * 1024 * 1024, 1));
    // Slow enough (64 chunks: ~0.6 s) that the runner's memory sampler, every 20-25 ms, sees it
    // over its memory on a loaded machine too, before the handler could return.
    await new Promise((r) => setTimeout(r, 10));
  }
  return { held: held.length, pid: process.pid };
};
`,
  initThrows: `
class ConfigError extends Error { name = 'ConfigError'; }
throw new ConfigError('invalid configuration: TABLE_NAME missing');
export const handler = async () => 'unreachable';
`,
  importFails: `
import 'not-a-real-package-anywhere';
export const handler = async () => 'unreachable';
`,
  noHandler: `export const somethingElse = () => 1;`,
  typedError: `
class ValidationError extends Error { name = 'ValidationError'; }
let invocations = 0;
export const handler = async (event) => {
  invocations++;
  if (event.kind === 'typed') throw new ValidationError('amount must be positive');
  if (event.kind === 'string') throw 'plain string';
  if (event.kind === 'late') {
    setTimeout(() => { throw new RangeError('thrown from a timer'); }, 5);
    await new Promise((r) => setTimeout(r, 200));
    return 'late';
  }
  if (event.kind === 'rejection') {
    Promise.reject(new Error('nobody awaits me'));
    await new Promise((r) => setTimeout(r, 200));
    return 'rejected';
  }
  if (event.kind === 'after') {
    // Lambda freezes the environment once this returns: the timer fires in the next invocation.
    setTimeout(() => { throw new Error('thrown while idle'); }, 1500);
    return { pid: process.pid, armedAt: Date.now() };
  }
  if (event.kind === 'after-rejection') {
    // The same, with a promise nobody awaits: its rejection surfaces in the next invocation.
    setTimeout(() => { Promise.reject(new Error('rejected while idle')); }, 1500);
    return { pid: process.pid, armedAt: Date.now() };
  }
  if (event.kind === 'big') return 'x'.repeat(7 * 1024 * 1024);
  if (event.kind === 'callback') return undefined;
  return { invocations, pid: process.pid };
};
`,
  /** Results JSON cannot carry: a BigInt, a cycle. */
  unserializable: `
export const handler = async (event) => {
  if (event.kind === 'bigint') return { count: 10n };
  const node = { name: 'loop' };
  node.self = node;
  return node;
};
`,
  callback: `
export const handler = (event, context, callback) => {
  setTimeout(() => callback(null, { via: 'callback', got: event.n }), 5);
};
`,
};
