import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { assertWithinLambdaLimits, deterministicZip, sourceCodeHash } from '@laminar/bundler';
import { type LayerSpec, RUNTIME_NODE_MAJOR } from '@laminar/spec';
import spec from '../layer.ts';
import { addonForRuntime, type RuntimeAddon } from './addon.ts';
import { type Assembled, assembleLayer } from './assemble.ts';
import { type CheckResult, checkLayer } from './check.ts';

const PACKAGE_DIR = resolve(import.meta.dirname, '..');

export interface BuildOptions {
  /** Defaults to dist/ beside layer.ts. */
  outDir?: string;
  /** Where addons compiled for the layer's Node are kept; defaults to .addon/ beside layer.ts. */
  addonCacheDir?: string;
  spec?: LayerSpec;
}

export interface BuildResult {
  zipPath: string;
  hashPath: string;
  hash: string;
  zipBytes: number;
  unpackedBytes: number;
  files: number;
  packages: Assembled['packages'];
  systemLibraries: Assembled['systemLibraries'];
  /** Each addon shipped and where it came from (installed, or compiled for the layer's Node). */
  addons: RuntimeAddon[];
  check: CheckResult;
}

export class LayerCheckError extends Error {
  constructor(readonly check: CheckResult) {
    super(check.report);
    this.name = 'LayerCheckError';
  }
}

/**
 * Assembles the layer, runs the Lambda compatibility check on exactly the files that go into the
 * zip, then writes dist/<name>.zip and its base64 SHA-256. A failed check leaves no zip behind, so
 * nothing downstream can deploy a stale or broken layer.
 */
export async function buildLayer(options: BuildOptions = {}): Promise<BuildResult> {
  const layer = options.spec ?? spec;
  const outDir = resolve(options.outDir ?? join(PACKAGE_DIR, 'dist'));
  const zipPath = join(outDir, `${layer.name}.zip`);
  const hashPath = `${zipPath}.sha256`;
  rmSync(zipPath, { force: true });
  rmSync(hashPath, { force: true });

  const [arch, ...more] = layer.architectures;
  if (!arch || more.length > 0) {
    throw new Error(`${layer.name}: a native layer is built for exactly one architecture (layer.ts says ${layer.architectures.join(', ')})`);
  }
  if (process.arch !== (arch === 'x86_64' ? 'x64' : 'arm64')) {
    throw new Error(`${layer.name} is an ${arch} layer but this machine is ${process.arch}: its installed addon and system libraries are for the wrong CPU`);
  }

  // A NAN addon loads on one Node major only, so one layer serves the runtimes of one major.
  const majors = [...new Set(layer.runtimes.map((r) => RUNTIME_NODE_MAJOR[r]))];
  const [runtime] = layer.runtimes;
  if (majors.length !== 1 || !runtime) {
    throw new Error(`${layer.name}: a layer with a native addon serves the runtimes of one Node major (layer.ts says ${layer.runtimes.join(', ') || 'none'})`);
  }
  const addons: RuntimeAddon[] = [];
  const assembled = assembleLayer(PACKAGE_DIR, layer.modules, arch, {
    addonFor: (installedAddon, packageDir) => {
      const addon = addonForRuntime({ packageDir, installedAddon, runtime, cacheDir: options.addonCacheDir ?? join(PACKAGE_DIR, '.addon') });
      addons.push(addon);
      return addon.path;
    },
  });
  const stage = mkdtempSync(join(tmpdir(), `${layer.name}-`));
  let check: CheckResult;
  try {
    for (const e of assembled.entries) {
      const file = join(stage, e.name);
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, e.data);
      chmodSync(file, e.mode);
    }
    check = await checkLayer(stage, layer);
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
  if (!check.ok) throw new LayerCheckError(check);

  const zip = await deterministicZip(assembled.entries.map(({ name, data, mode }) => ({ name, data, mode })));
  assertWithinLambdaLimits(`layer ${layer.name}`, zip, assembled.entries);
  const hash = sourceCodeHash(zip);
  mkdirSync(outDir, { recursive: true });
  writeFileSync(zipPath, zip);
  writeFileSync(hashPath, `${hash}\n`);
  return {
    zipPath,
    hashPath,
    hash,
    zipBytes: zip.length,
    unpackedBytes: assembled.entries.reduce((n, e) => n + e.data.length, 0),
    files: assembled.entries.length,
    packages: assembled.packages,
    systemLibraries: assembled.systemLibraries,
    addons,
    check,
  };
}

function parseArgs(argv: string[]): BuildOptions {
  const options: BuildOptions = {};
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--out' && argv[i + 1]) options.outDir = argv[++i]!;
    else throw new Error(`usage: tsx src/build.ts [--out DIR] (unexpected ${argv[i]})`);
  }
  return options;
}

if (process.argv[1] && resolve(process.argv[1]) === import.meta.filename) {
  const started = performance.now();
  try {
    const r = await buildLayer(parseArgs(process.argv.slice(2)));
    const mib = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MiB`;
    console.log(r.check.report);
    console.log(
      `${spec.name}: ${relative(process.cwd(), r.zipPath)} ${mib(r.zipBytes)} (${mib(r.unpackedBytes)} unpacked, ${r.files} files, ` +
        `${r.packages.length} packages; from the system into lib/: ${r.systemLibraries.map((l) => l.soname).join(', ') || 'none'}; ` +
        `addons: ${r.addons.map((a) => `${relative(process.cwd(), a.path)} (${a.origin})`).join(', ')}) ` +
        `sha256=${r.hash} in ${Math.round(performance.now() - started)} ms`,
    );
  } catch (err) {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  }
}
