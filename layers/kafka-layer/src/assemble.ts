import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, posix, sep } from 'node:path';
import { byCodePoint } from '@laminar/spec';
import { isNativePackage, missingAddonMessage } from './native-package.ts';
import { type ElfInfo, isElf, readElf } from './readelf.ts';
import { ARCHITECTURES, type Architecture, LAYER_LIB_DIR, LAYER_NODE_MODULES, RUNTIME_LIBRARIES } from './runtime.ts';

export interface LayerEntry {
  /** Path inside the layer zip, '/'-separated. */
  name: string;
  data: Buffer;
  mode: number;
  /** Where it came from on this machine (for the build's summary, never written into the zip). */
  source: string;
}

export interface PlacedPackage {
  name: string;
  version: string;
  /** Directory inside the layer. */
  path: string;
}

export interface Assembled {
  entries: LayerEntry[];
  packages: PlacedPackage[];
  /** Shared libraries copied from this system into lib/: soname → file they were read from. */
  systemLibraries: { soname: string; from: string }[];
  /** NEEDED libraries found nowhere: the check reports them with context. */
  unresolved: { needed: string; by: string }[];
}

interface PackageJson {
  name: string;
  version: string;
  main?: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  gypfile?: unknown;
  binary?: unknown;
}

const readJson = (file: string) => JSON.parse(readFileSync(file, 'utf8')) as PackageJson;

/**
 * Node's lookup of a bare package name from `fromDir`: each ancestor's node_modules. Through pnpm's
 * layout (symlinks into node_modules/.pnpm/<pkg>/node_modules, siblings = dependencies) this finds
 * exactly the copy Node would load. Returns the real directory.
 */
export function findPackageDir(name: string, fromDir: string): string | undefined {
  let dir = realpathSync(fromDir);
  for (;;) {
    if (basename(dir) !== 'node_modules') {
      const candidate = join(dir, 'node_modules', ...name.split('/'));
      if (existsSync(join(candidate, 'package.json'))) return realpathSync(candidate);
    }
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

const LICENSE = /^(licen[cs]e|copying|notice)([.-].*)?$/i;
const SKIP_DIRS = new Set(['test', 'tests', '__tests__', 'docs', 'doc', 'example', 'examples', 'benchmark', 'benchmarks', 'bench', 'coverage', 'node_modules']);
// Never loaded at run time: docs, type declarations, source maps, TypeScript and C/C++ sources, build files.
const SKIP_FILES = /\.(md|markdown|d\.[cm]?ts|ts|[cm]ts|map|h|hh|hpp|c|cc|cpp|gyp|gypi)$|^(makefile|tsconfig.*\.json|changelog.*|history.*|authors.*|contributing.*)$/i;

/** A dependency's files minus tests, docs and sources. */
function dependencyFiles(pkgDir: string, rel = ''): string[] {
  const out: string[] = [];
  const entries = readdirSync(join(pkgDir, rel), { withFileTypes: true }).sort((a, b) => byCodePoint(a.name, b.name));
  for (const entry of entries) {
    const p = rel ? `${rel}/${entry.name}` : entry.name;
    const isDir = entry.isDirectory() || (entry.isSymbolicLink() && statSync(join(pkgDir, p)).isDirectory());
    if (isDir) {
      if (!SKIP_DIRS.has(entry.name.toLowerCase()) && !entry.name.startsWith('.')) out.push(...dependencyFiles(pkgDir, p));
    } else if (LICENSE.test(entry.name) || (!entry.name.startsWith('.') && !SKIP_FILES.test(entry.name))) {
      out.push(p);
    }
  }
  return out;
}

const RELATIVE_REQUIRE = /\brequire\(\s*['"](\.{1,2}(?:\/[^'"]*)?)['"]\s*\)/g;

/** Resolves a relative require the way Node does for files inside one package. */
function resolveRelative(pkgDir: string, fromFile: string, spec: string): string | undefined {
  const base = posix.normalize(posix.join(posix.dirname(fromFile), spec));
  for (const candidate of [base, `${base}.js`, `${base}.json`, `${base}.node`, `${base}/index.js`, `${base}/index.json`]) {
    if (candidate.startsWith('..')) return undefined;
    const abs = join(pkgDir, candidate);
    if (existsSync(abs) && statSync(abs).isFile()) return candidate;
  }
  return undefined;
}

/**
 * The JavaScript a module package loads: every script in its `main` directory (lib/ here) plus
 * whatever those scripts require relatively from outside it (lib/ requires ../librdkafka.js).
 * Throws on a relative require that points at nothing, rather than ship a layer that fails on it.
 */
export function moduleScripts(pkgDir: string, pkg: PackageJson): string[] {
  const main = posix.normalize(pkg.main ?? 'index.js');
  const mainFile = resolveRelative(pkgDir, 'package.json', `./${main}`);
  if (!mainFile) throw new Error(`${pkg.name}: its main ${main} does not exist in ${pkgDir}`);
  const mainDir = posix.dirname(mainFile);
  const seeds =
    mainDir === '.'
      ? [mainFile]
      : dependencyFiles(join(pkgDir, mainDir))
          .filter((f) => /\.(c?js|json)$/.test(f))
          .map((f) => `${mainDir}/${f}`);
  const found = new Set<string>(seeds);
  const queue = [...seeds];
  while (queue.length > 0) {
    const file = queue.shift()!;
    if (!file.endsWith('js')) continue;
    const text = readFileSync(join(pkgDir, file), 'utf8');
    for (const m of text.matchAll(RELATIVE_REQUIRE)) {
      const target = resolveRelative(pkgDir, file, m[1]!);
      if (!target) throw new Error(`${pkg.name}: ${file} requires '${m[1]}', which does not exist in ${pkgDir}`);
      if (!found.has(target)) {
        found.add(target);
        queue.push(target);
      }
    }
  }
  return [...found].sort();
}

function ldconfigPath(): string {
  for (const p of ['/sbin/ldconfig', '/usr/sbin/ldconfig']) if (existsSync(p)) return p;
  return 'ldconfig';
}

/** soname → file, for the libraries the system loader finds (`ldconfig -p`) for one architecture. */
export function systemLibraries(arch: Architecture): Map<string, string> {
  const out = execFileSync(ldconfigPath(), ['-p'], { encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' } });
  const tag = ARCHITECTURES[arch].ldconfigTag;
  const map = new Map<string, string>();
  for (const line of out.split('\n')) {
    const m = /^\s+(\S+)\s+\(([^)]*)\)\s+=>\s+(\S+)$/.exec(line);
    if (!m) continue;
    const tags = m[2]!.split(',').map((t) => t.trim());
    // The first entry per soname is the one the loader picks from its cache.
    if (tags.includes(tag) && !map.has(m[1]!)) map.set(m[1]!, m[3]!);
  }
  return map;
}

/**
 * The library's bytes for the layer. Debug sections are dropped (`strip --strip-debug`): they are
 * most of librdkafka's size when built from source and they embed this checkout's absolute paths.
 * So is the GNU build-id of such a build: the linker hashed the whole file, debug paths included,
 * so the same sources compiled in another folder (another machine, CI) differed in those 20 bytes
 * and gave another layer zip. The symbol table stays, so stack traces and the addon's ABI stay
 * readable. Libraries without debug sections (the system's) are shipped as they are.
 */
function elfBytes(file: string, info: ElfInfo): Buffer {
  if (!info.sections.some((s) => s.name.startsWith('.debug_'))) return readFileSync(file);
  const dir = mkdtempSync(join(tmpdir(), 'kafka-layer-strip-'));
  try {
    const out = join(dir, basename(file));
    execFileSync('strip', ['--strip-debug', '--remove-section=.note.gnu.build-id', '-o', out, file], { stdio: ['ignore', 'ignore', 'pipe'] });
    return readFileSync(out);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const toPosix = (p: string) => p.split(sep).join('/');

/**
 * Collects the layer's files: each module's package.json, scripts and compiled addon, the shared
 * libraries the addon loads (at their relative place, so RUNPATH $ORIGIN/../deps still finds them,
 * or in lib/ when they come from the system), and every runtime dependency, walked through
 * `dependencies` as Node would resolve them.
 */
export interface AssembleOptions {
  /** The addon to ship in place of an installed one (one compiled for the layer's Node): addon.ts. */
  addonFor?: (installed: string, packageDir: string) => string;
}

/** The node_modules folders Node searches for a require from the package at `path`, nearest first. */
function lookupLevels(path: string): string[] {
  const levels: string[] = [];
  for (let p = path; ; ) {
    levels.push(`${p}/node_modules`);
    const i = p.lastIndexOf('/node_modules/');
    if (i < 0) return levels;
    p = p.slice(0, i);
  }
}

export function assembleLayer(fromDir: string, modules: readonly string[], arch: Architecture, options: AssembleOptions = {}): Assembled {
  const entries = new Map<string, LayerEntry>();
  const add = (name: string, source: string, data?: Buffer, mode?: number) => {
    if (entries.has(name)) return;
    const bytes = data ?? readFileSync(source);
    entries.set(name, { name, data: bytes, mode: mode ?? (isElf(bytes) ? 0o755 : 0o644), source });
  };
  const packages: PlacedPackage[] = [];
  const placed = new Map<string, string>(); // layer dir → name@version
  const nativeRoots: { source: string; name: string }[] = [];

  // Modules first, at the top of node_modules.
  const queue: { dir: string; parentPath: string; name: string }[] = [];
  for (const mod of [...modules].sort()) {
    const dir = findPackageDir(mod, fromDir);
    if (!dir) throw new Error(`${mod} is not installed for ${fromDir}: run pnpm install`);
    const pkg = readJson(join(dir, 'package.json'));
    const at = `${LAYER_NODE_MODULES}/${mod}`;
    placed.set(at, `${pkg.name}@${pkg.version}`);
    packages.push({ name: pkg.name, version: pkg.version, path: at });
    add(`${at}/package.json`, join(dir, 'package.json'));
    for (const f of readdirSync(dir).sort()) if (LICENSE.test(f)) add(`${at}/${f}`, join(dir, f));
    for (const f of moduleScripts(dir, pkg)) add(`${at}/${f}`, join(dir, f));
    if (isNativePackage(pkg)) {
      const release = join(dir, 'build', 'Release');
      const addons = existsSync(release) ? readdirSync(release).filter((f) => f.endsWith('.node')).sort() : [];
      if (addons.length === 0) throw new Error(missingAddonMessage(mod, dir));
      for (const f of addons) nativeRoots.push({ source: options.addonFor?.(join(release, f), dir) ?? join(release, f), name: `${at}/build/Release/${f}` });
    }
    for (const dep of Object.keys({ ...pkg.dependencies, ...pkg.optionalDependencies }).sort()) queue.push({ dir, parentPath: at, name: dep });
  }

  // Runtime dependencies, breadth-first: the first version of a name takes the top level; another
  // version goes into the requiring package's own node_modules, where Node looks first.
  // peerDependencies are the host's business and optional ones absent here are skipped.
  while (queue.length > 0) {
    const { dir: fromPkg, parentPath, name } = queue.shift()!;
    const depDir = findPackageDir(name, fromPkg);
    const parentPkg = readJson(join(fromPkg, 'package.json'));
    if (!depDir) {
      if (parentPkg.optionalDependencies?.[name] !== undefined) continue;
      throw new Error(`${parentPkg.name} depends on ${name}, which is not installed (looked up from ${fromPkg})`);
    }
    const pkg = readJson(join(depDir, 'package.json'));
    const id = `${pkg.name}@${pkg.version}`;
    // Node looks in the requirer's node_modules, then in each enclosing one up to the top: the
    // first `name` on that way is the one it loads. Nothing there: the top, shared by all.
    let at = `${LAYER_NODE_MODULES}/${name}`;
    let found = false;
    for (const level of lookupLevels(parentPath)) {
      const holder = placed.get(`${level}/${name}`);
      if (holder === undefined) continue;
      if (holder === id) found = true;
      else at = `${parentPath}/node_modules/${name}`;
      break;
    }
    if (found) continue;
    if (placed.has(at)) throw new Error(`cannot place ${id} at ${at}: ${placed.get(at)} is already there`);
    placed.set(at, id);
    packages.push({ name: pkg.name, version: pkg.version, path: at });
    for (const f of dependencyFiles(depDir)) {
      const data = readFileSync(join(depDir, f));
      // A dependency's own addon or library goes through the same library resolution below.
      if (isElf(data)) nativeRoots.push({ source: join(depDir, f), name: `${at}/${f}` });
      else add(`${at}/${f}`, join(depDir, f), data);
    }
    for (const dep of Object.keys({ ...pkg.dependencies, ...pkg.optionalDependencies }).sort()) queue.push({ dir: depDir, parentPath: at, name: dep });
  }

  // Shared libraries, breadth-first from each addon like the loader: a NEEDED library is taken from
  // the addon's RUNPATH inside its package (keeping the relative layout), else from this system
  // into lib/ (Lambda's /opt/lib). Libraries the runtime provides are left out.
  const system = systemLibraries(arch);
  const systemCopied: { soname: string; from: string }[] = [];
  const unresolved: { needed: string; by: string }[] = [];
  const sonames = new Set<string>();
  const elfQueue = [...nativeRoots];
  for (const e of elfQueue) sonames.add(basename(e.name));
  while (elfQueue.length > 0) {
    const { source, name } = elfQueue.shift()!;
    const info = readElf(source);
    add(name, source, elfBytes(source, info), 0o755);
    if (info.soname) sonames.add(info.soname);
    for (const needed of info.needed) {
      if (RUNTIME_LIBRARIES[needed] !== undefined || sonames.has(needed)) continue;
      let found: { source: string; name: string } | undefined;
      for (const entry of info.runpath.length ? info.runpath : info.rpath) {
        if (!entry.includes('$ORIGIN') && !entry.includes('${ORIGIN}')) continue;
        const rel = entry.replace(/\$\{ORIGIN\}|\$ORIGIN/g, '.');
        const candidate = join(dirname(source), rel, needed);
        const layerName = posix.normalize(posix.join(posix.dirname(name), toPosix(rel), needed));
        if (existsSync(candidate) && !layerName.startsWith('..')) {
          found = { source: realpathSync(candidate), name: layerName };
          break;
        }
      }
      if (!found) {
        const lib = system.get(needed);
        if (lib) {
          found = { source: realpathSync(lib), name: `${LAYER_LIB_DIR}/${needed}` };
          systemCopied.push({ soname: needed, from: lib });
        }
      }
      sonames.add(needed);
      if (found) elfQueue.push(found);
      else unresolved.push({ needed, by: name });
    }
  }

  const sorted = [...entries.values()].sort((a, b) => byCodePoint(a.name, b.name));
  return { entries: sorted, packages: packages.sort((a, b) => byCodePoint(a.path, b.path)), systemLibraries: systemCopied, unresolved };
}
