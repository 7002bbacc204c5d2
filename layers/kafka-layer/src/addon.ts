import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import { nodeForRuntime } from '@laminar/lambda-node';
import type { LambdaRuntime } from '@laminar/spec';
import { nodeModuleVersion, readElf } from './readelf.ts';
import { RUNTIMES } from './runtime.ts';

const require = createRequire(import.meta.url);

/** An addon for the layer's runtime: the installed one, or one compiled for that runtime's Node. */
export interface RuntimeAddon {
  path: string;
  /** How it came to be, for the build's report. */
  origin: 'installed' | 'compiled' | 'cached';
}

export interface AddonOptions {
  /** The installed package (its build/Release addon, build/deps libraries, sources and binding.gyp). */
  packageDir: string;
  /** The compiled addon as installed (build/Release/<name>.node). */
  installedAddon: string;
  runtime: LambdaRuntime;
  /** Where compiled addons are kept, one folder per inputs' hash. */
  cacheDir: string;
}

/**
 * The Kafka client's addon for `runtime`. It is a NAN module, not Node-API: Node loads it only when
 * compiled for its own NODE_MODULE_VERSION. pnpm installs it for the workspace's Node; when the
 * layer's runtime runs another major, it is compiled again here, against that Node's headers (the
 * npm build `@laminar/lambda-node` installs ships them in include/node) with node-gyp.
 *
 * Why by hand rather than `pnpm rebuild`: that rebuilds librdkafka too (~3 min) and replaces the
 * workspace's own addon, which its tests and the local runner's Node load. Here only the client's
 * 11 C++ files compile (~50 s on 2 cores), linked against the librdkafka the install built
 * (build/deps, found at run time through the same `$ORIGIN/../deps` RUNPATH), and the result is
 * kept per hash of its inputs, so a layer build after the first takes no compiler at all.
 */
export function addonForRuntime(options: AddonOptions): RuntimeAddon {
  const { nodeModuleVersion: want, nodeMajor: major } = RUNTIMES[options.runtime];
  const installedAbi = nodeModuleVersion(options.installedAddon, readElf(options.installedAddon));
  // An addon whose version cannot be read (a stripped symbol table) is taken when installed for this very major.
  if (installedAbi === want || (installedAbi === undefined && Number(process.versions.node.split('.')[0]) === major)) {
    return { path: options.installedAddon, origin: 'installed' };
  }
  const node = exactNode(options.runtime, major);
  const nodeDir = dirname(dirname(node.path));
  if (!existsSync(join(nodeDir, 'include', 'node', 'node_version.h'))) {
    throw new Error(`cannot compile the Kafka addon for Node ${major}: no headers at ${join(nodeDir, 'include', 'node')} (beside ${node.path})`);
  }
  const name = basename(options.installedAddon);
  const deps = join(options.packageDir, 'build', 'deps');
  const libraries = existsSync(deps) ? readdirSync(deps).filter((f) => /^librdkafka(\+\+)?\.so/.test(f)) : [];
  if (!libraries.includes('librdkafka.so') || !libraries.includes('librdkafka++.so')) {
    throw new Error(
      `cannot compile the Kafka addon for Node ${major}: ${deps} has no librdkafka.so to link against (an install that downloaded a prebuilt, statically linked addon); install with CKJS_LINKING=dynamic, as ./run does`,
    );
  }
  const key = inputsHash(options.packageDir, node.version);
  const entry = join(options.cacheDir, `node${node.version}-${process.arch}-${key}`);
  const cached = join(entry, 'build', 'Release', name);
  if (existsSync(cached)) {
    // The libraries beside it link to the installed package, whose folder may have moved since.
    linkLibraries(deps, libraries, join(entry, 'build', 'deps'));
    return { path: cached, origin: 'cached' };
  }

  mkdirSync(options.cacheDir, { recursive: true });
  // A build killed mid-compile leaves its stage behind; one an hour old is nobody's any more.
  for (const f of readdirSync(options.cacheDir)) {
    const old = join(options.cacheDir, f);
    if (f.startsWith('stage-') && Date.now() - statSync(old).mtimeMs > 3_600_000) rmSync(old, { recursive: true, force: true });
  }
  const stage = mkdtempSync(join(options.cacheDir, 'stage-'));
  chmodSync(stage, 0o755);
  try {
    for (const f of ['binding.gyp', 'package.json', 'src', 'util']) cpSync(join(options.packageDir, f), join(stage, f), { recursive: true });
    // binding.gyp finds NAN's headers with require('nan') from its own folder.
    cpSync(dirname(require.resolve('nan/package.json', { paths: [options.packageDir] })), join(stage, 'node_modules', 'nan'), { recursive: true });
    linkLibraries(deps, libraries, join(stage, 'build', 'deps'));
    // Without BUILD_LIBRDKAFKA, binding.gyp puts a system librdkafka's header folders first; the
    // headers must be those of the librdkafka linked (given below), whatever the host has installed.
    const gyp = join(stage, 'binding.gyp');
    writeFileSync(gyp, readFileSync(gyp, 'utf8').replace(/\s*"\/(usr|usr\/local|opt)\/include\/librdkafka",?/g, ''));
    const librdkafka = join(options.packageDir, 'deps', 'librdkafka');
    try {
      execFileSync(process.execPath, [require.resolve('node-gyp/bin/node-gyp.js'), 'configure', 'build', `--nodedir=${nodeDir}`, `--jobs=${availableParallelism()}`], {
        cwd: stage,
        stdio: ['ignore', 'pipe', 'pipe'],
        maxBuffer: 64 * 1024 * 1024,
        env: {
          // node-gyp lets npm_config_* settings (./run exports npm_config_nodedir for the install)
          // override its command line: none of them, but the headers of the Node compiled for.
          ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_(package_)?config_/i.test(k))),
          npm_config_nodedir: nodeDir,
          // Link the librdkafka already built (build/deps) instead of building it again.
          BUILD_LIBRDKAFKA: '0',
          // No path of this machine in the addon (assert() keeps __FILE__): the same sources give the same bytes anywhere.
          CXXFLAGS: [
            `-I${join(librdkafka, 'src')}`,
            `-I${join(librdkafka, 'src-cpp')}`,
            `-ffile-prefix-map=${options.packageDir}=kafka-javascript`,
            `-ffile-prefix-map=${nodeDir}=node`,
            `-ffile-prefix-map=${stage}=stage`,
          ].join(' '),
          // make would expand a bare $ORIGIN: $$ for make, quotes for the shell.
          LDFLAGS: `-L${join(stage, 'build', 'deps')} -Wl,-rpath,'$$ORIGIN/../deps'`,
        },
      });
    } catch (err) {
      const e = err as { stdout?: Buffer; stderr?: Buffer; message: string };
      const said = `${e.stdout?.toString() ?? ''}${e.stderr?.toString() ?? ''}`.trimEnd().split('\n').slice(-20).join('\n');
      throw new Error(`compiling the Kafka addon for Node ${node.version} (headers in ${nodeDir}) failed; node-gyp's last lines:\n${said || e.message}`, { cause: err });
    }
    const built = join(stage, 'build', 'Release', name);
    const abi = nodeModuleVersion(built, readElf(built));
    if (abi !== want) {
      throw new Error(`the addon compiled with the headers in ${nodeDir} reports NODE_MODULE_VERSION ${abi ?? '(unreadable)'}, not ${want} (Node ${major})`);
    }
    // Keep only what the layer takes: the addon and the libraries its RUNPATH finds.
    for (const f of readdirSync(join(stage, 'build'))) if (f !== 'Release' && f !== 'deps') rmSync(join(stage, 'build', f), { recursive: true, force: true });
    for (const f of readdirSync(join(stage, 'build', 'Release'))) if (f !== name) rmSync(join(stage, 'build', 'Release', f), { recursive: true, force: true });
    for (const f of readdirSync(stage)) if (f !== 'build') rmSync(join(stage, f), { recursive: true, force: true });
    try {
      renameSync(stage, entry);
    } catch (err) {
      // Another build compiled the same inputs meanwhile: its result is the same bytes.
      if (!existsSync(cached)) throw err;
    }
    return { path: cached, origin: 'compiled' };
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
}

/** Links the installed package's librdkafka libraries into `dir` (again, where a link no longer resolves). */
function linkLibraries(from: string, libraries: readonly string[], dir: string): void {
  mkdirSync(dir, { recursive: true });
  for (const lib of libraries) {
    const link = join(dir, lib);
    if (existsSync(link)) continue;
    rmSync(link, { force: true });
    try {
      symlinkSync(join(from, lib), link);
    } catch (err) {
      // Another build linked it meanwhile.
      if (!existsSync(link)) throw err;
    }
  }
}

function exactNode(runtime: LambdaRuntime, major: number): { path: string; version: string } {
  const node = nodeForRuntime(runtime);
  if (!node.exact) throw new Error(`cannot compile the Kafka addon for ${runtime}: ${node.note ?? `no Node ${major} here`}`);
  return node;
}

/**
 * What the compiled addon depends on: the client's sources, build file and scripts, NAN, the Node
 * version, the CPU, the compiler, node-gyp, and how this file drives them.
 */
function inputsHash(packageDir: string, nodeVersion: string): string {
  const hash = createHash('sha256').update(`${nodeVersion}\n${process.arch}\n`);
  const files = ['binding.gyp', 'package.json', ...['src', 'util'].flatMap((d) => readdirSync(join(packageDir, d)).sort().map((f) => join(d, f)))];
  for (const f of files) hash.update(`${f}\n`).update(readFileSync(join(packageDir, f)));
  hash.update(readFileSync(require.resolve('nan/package.json', { paths: [packageDir] })));
  hash.update(readFileSync(require.resolve('node-gyp/package.json')));
  hash.update(readFileSync(import.meta.filename));
  for (const variable of ['CXX', 'CC', 'CXXFLAGS', 'CPPFLAGS', 'LDFLAGS']) hash.update(`${variable}=${process.env[variable] ?? ''}\n`);
  hash.update(execFileSync(process.env.CXX || 'g++', ['--version'], { encoding: 'utf8' }));
  return hash.digest('hex').slice(0, 16);
}
