import { closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, readSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type ElfInfo, isElf, nodeModuleVersion, readElf } from './readelf.ts';
import { isNativePackage, missingAddonMessage } from './native-package.ts';
import {
  ARCHITECTURES,
  type Architecture,
  describeRuntimes,
  LAYER_LIB_DIR,
  LAYER_NODE_MODULES,
  type LambdaRuntime,
  RUNTIME_LIBRARIES,
  RUNTIME_MAY_SHADOW,
  RUNTIME_SYMBOL_VERSIONS,
  RUNTIMES,
} from './runtime.ts';
import { extractZip } from './unzip.ts';
import { compareVersions, maxVersion, parseSymbolVersion } from './versions.ts';

/** The parts of a layer spec the check needs (layer.ts's defineLayer output fits). */
export interface CheckTarget {
  name: string;
  architectures: readonly Architecture[];
  runtimes: readonly LambdaRuntime[];
  modules: readonly string[];
}

export interface LayerElf {
  /** Path inside the layer, '/'-separated (what Lambda puts under /opt). */
  path: string;
  info: ElfInfo;
  /** For addons: 'napi', the NODE_MODULE_VERSION, or undefined when it cannot be read. */
  nodeAbi?: number | 'napi' | undefined;
}

export interface Resolution {
  needed: string;
  /** Short description of where the loader finds it; undefined when nothing provides it. */
  from: string | undefined;
  /** The layer file it resolves to, if any. */
  target?: string;
  runtime?: boolean;
}

export interface VerdictRow {
  path: string;
  glibc: string | undefined;
  glibcxx: string | undefined;
  cxxabi: string | undefined;
  resolutions: Resolution[];
}

export interface CheckResult {
  ok: boolean;
  problems: string[];
  warnings: string[];
  /** Facts worth knowing that do not fail the check (e.g. which shipped library the runtime shadows). */
  notes: string[];
  rows: VerdictRow[];
  /** Human verdict: the table on success, the problems on failure. */
  report: string;
}

/** Expands one RPATH/RUNPATH entry into a directory inside the layer, or undefined if it points elsewhere. */
function layerDir(entry: string, origin: string): string | undefined {
  let dir = entry.replace(/\$\{ORIGIN\}|\$ORIGIN/g, `/opt/${origin}`);
  if (!dir.startsWith('/opt/') && dir !== '/opt') return undefined;
  dir = posix.normalize(dir).replace(/^\/opt\/?/, '');
  return dir.startsWith('..') ? undefined : dir;
}

/**
 * Pure verdict over a layer's files: glibc/libstdc++ symbol versions, where the loader finds each
 * NEEDED library on Lambda, ELF machine, and the addon's Node ABI.
 */
export function evaluateLayer(
  target: CheckTarget,
  elfs: readonly LayerElf[],
  packageJsons: ReadonlyMap<string, Record<string, unknown> | undefined>,
): CheckResult {
  const problems: string[] = [];
  const warnings: string[] = [];
  const runtimes = describeRuntimes(target.runtimes);
  const byPath = new Map(elfs.map((e) => [e.path, e]));

  for (const mod of target.modules) {
    const pkg = packageJsons.get(mod);
    if (!pkg) {
      problems.push(`${LAYER_NODE_MODULES}/${mod}: missing from the layer, but layer.ts lists it in modules`);
      continue;
    }
    const prefix = `${LAYER_NODE_MODULES}/${mod}/`;
    if (isNativePackage(pkg) && !elfs.some((e) => e.path.startsWith(prefix) && e.path.endsWith('.node'))) {
      problems.push(missingAddonMessage(mod, `the layer (${prefix})`));
    }
  }

  // Where the loader finds `needed` for `obj`, in glibc's order as it applies on Lambda: DT_RPATH
  // (only without DT_RUNPATH), LD_LIBRARY_PATH (the runtime's /lib64 before the layer's /opt/lib),
  // then DT_RUNPATH. An object already loaded under that name satisfies it before any search.
  const resolveNeeded = (obj: LayerElf, needed: string, loaded: Map<string, string>): Resolution => {
    const origin = posix.dirname(obj.path);
    const inLayer = (entries: string[], label: string): Resolution | undefined => {
      for (const entry of entries) {
        const dir = layerDir(entry, origin);
        if (dir === undefined) continue;
        const candidate = posix.join(dir, needed);
        if (byPath.has(candidate)) return { needed, from: `layer, ${label} ${entry}`, target: candidate };
      }
      return undefined;
    };
    const viaRpath = obj.info.runpath.length === 0 ? inLayer(obj.info.rpath, 'RPATH') : undefined;
    if (viaRpath) return viaRpath;
    if (RUNTIME_LIBRARIES[needed] !== undefined) return { needed, from: 'runtime', runtime: true };
    const inLib = posix.join(LAYER_LIB_DIR, needed);
    if (byPath.has(inLib)) return { needed, from: `layer, ${LAYER_LIB_DIR}/ (/opt/lib on LD_LIBRARY_PATH)`, target: inLib };
    const viaRunpath = inLayer(obj.info.runpath, 'RUNPATH');
    if (viaRunpath) return viaRunpath;
    // Reported last although the loader checks it first: a search hit holds whatever the load
    // order, this one only because something loaded the library before (librdkafka++ relies on
    // the addon having loaded librdkafka.so.1 through its own RUNPATH).
    const already = loaded.get(needed);
    if (already !== undefined && already !== 'runtime') return { needed, from: `layer, already loaded: ${already}`, target: already };
    return { needed, from: undefined };
  };

  // Simulates the loader breadth-first from each addon (what Node dlopen()s), then from any ELF
  // nothing loads, so every file is judged in the context it is loaded in.
  const results = new Map<string, Map<string, Resolution>>();
  const loadOrder: LayerElf[] = [];
  const simulate = (root: LayerElf) => {
    const loaded = new Map<string, string>();
    const register = (e: LayerElf) => {
      loaded.set(posix.basename(e.path), e.path);
      if (e.info.soname) loaded.set(e.info.soname, e.path);
    };
    register(root);
    const queue = [root];
    const seen = new Set([root.path]);
    while (queue.length > 0) {
      const obj = queue.shift()!;
      if (!results.has(obj.path)) loadOrder.push(obj);
      const mine = results.get(obj.path) ?? new Map<string, Resolution>();
      results.set(obj.path, mine);
      for (const needed of obj.info.needed) {
        const res = resolveNeeded(obj, needed, loaded);
        const prev = mine.get(needed);
        if (!prev || (prev.from !== undefined && res.from === undefined)) mine.set(needed, res);
        if (res.runtime) loaded.set(needed, 'runtime');
        else if (res.target && !seen.has(res.target)) {
          const dep = byPath.get(res.target)!;
          seen.add(dep.path);
          register(dep);
          queue.push(dep);
        }
      }
    }
  };
  const sorted = [...elfs].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  for (const e of sorted) if (e.path.endsWith('.node')) simulate(e);
  for (const e of sorted) if (!results.has(e.path)) simulate(e);

  const rows: VerdictRow[] = [];
  // In the order the loader meets them: the addon first, then what it pulls in.
  for (const e of loadOrder) {
    const { info } = e;
    const resolutions = info.needed.map((n) => results.get(e.path)?.get(n) ?? { needed: n, from: undefined });

    if (info.elfClass !== 'ELF64') problems.push(`${e.path}: is ${info.elfClass || 'not a valid ELF'}; Lambda runs 64-bit code only`);
    for (const arch of target.architectures) {
      const want = ARCHITECTURES[arch].machine;
      if (info.machine !== want) {
        problems.push(`${e.path}: is built for "${info.machine}" but the layer spec says ${arch} ("${want}"); a function on ${arch} cannot load it`);
      }
    }

    for (const r of resolutions) {
      if (r.from !== undefined) continue;
      const searched = [
        ...(info.runpath.length ? [`RUNPATH ${info.runpath.join(':')}`] : info.rpath.length ? [`RPATH ${info.rpath.join(':')}`] : []),
        `${LAYER_LIB_DIR}/`,
      ].join(', ');
      problems.push(
        `${e.path}: needs ${r.needed}, which neither the layer (searched ${searched}) nor Lambda's ${runtimes} runtime provides: ship it in ${LAYER_LIB_DIR}/`,
      );
    }

    const allVersions = info.versionNeeds.flatMap((n) => n.versions);
    for (const need of info.versionNeeds) {
      const res = resolutions.find((r) => r.needed === need.file);
      const provider = res?.target ? byPath.get(res.target) : undefined;
      for (const name of need.versions) {
        const v = parseSymbolVersion(name);
        const culprits = info.undefinedSymbols.filter((s) => s.version === name).map((s) => s.name);
        const named = culprits.length ? ` (${culprits.slice(0, 4).join(', ')}${culprits.length > 4 ? ', …' : ''})` : '';
        const limit = RUNTIME_SYMBOL_VERSIONS[v.namespace];
        if (limit) {
          if (v.version === undefined) {
            problems.push(`${e.path}: needs ${name}${named} from ${need.file}: private versions only exist in the exact build it was linked against, not in Lambda's ${runtimes}`);
          } else if (compareVersions(v.version, limit.max) > 0) {
            problems.push(`${e.path}: needs ${name}${named} from ${need.file} but Lambda's ${runtimes} has ${limit.what}`);
          }
        } else if (res?.runtime) {
          problems.push(`${e.path}: needs ${name} from the runtime's ${need.file}, a version family this check has no limit for (add it to RUNTIME_SYMBOL_VERSIONS)`);
        }
        if (provider && !provider.info.versionDefs.includes(name)) {
          problems.push(`${e.path}: needs ${name}${named} from ${need.file}, but the layer's ${provider.path} does not define it`);
        }
      }
    }

    if (e.path.endsWith('.node')) {
      if (e.nodeAbi === undefined) {
        warnings.push(`${e.path}: its Node ABI cannot be read (no NODE_MODULE _module symbol: stripped, or not built with node.h's NODE_MODULE); unless it is a Node-API addon it loads only on the Node major it was compiled for`);
      } else if (e.nodeAbi !== 'napi') {
        for (const rt of target.runtimes) {
          const facts = RUNTIMES[rt];
          if (facts.nodeModuleVersion !== e.nodeAbi) {
            const built = Object.values(RUNTIMES).find((f) => f.nodeModuleVersion === e.nodeAbi);
            problems.push(
              `${e.path}: was compiled for NODE_MODULE_VERSION ${e.nodeAbi}${built ? ` (Node ${built.nodeMajor})` : ''} but ${rt} runs Node ${facts.nodeMajor} (NODE_MODULE_VERSION ${facts.nodeModuleVersion}), which refuses to load it: build the layer with Node ${facts.nodeMajor} or drop ${rt} from layer.ts`,
            );
          }
        }
      }
    }

    rows.push({
      path: e.path,
      glibc: maxVersion(allVersions, 'GLIBC'),
      glibcxx: maxVersion(allVersions, 'GLIBCXX'),
      cxxabi: maxVersion(allVersions, 'CXXABI'),
      resolutions,
    });
  }

  // A shipped library the runtime probably replaces must not be needed at a version the runtime's
  // copy may lack.
  const notes: string[] = [];
  for (const [soname, shadow] of Object.entries(RUNTIME_MAY_SHADOW)) {
    const shipped = posix.join(LAYER_LIB_DIR, soname);
    if (!byPath.has(shipped)) continue;
    const wanted = new Set<string>();
    for (const e of elfs) {
      if (e.path.startsWith(`${LAYER_LIB_DIR}/`) && RUNTIME_MAY_SHADOW[posix.basename(e.path)]) continue;
      for (const need of e.info.versionNeeds) if (need.file === soname) for (const v of need.versions) wanted.add(v);
    }
    const safe = parseSymbolVersion(shadow.safeMax);
    const risky = [...wanted].filter((v) => {
      const p = parseSymbolVersion(v);
      return p.namespace !== safe.namespace || p.version === undefined || compareVersions(p.version, safe.version!) > 0;
    });
    const needs = wanted.size ? [...wanted].sort().join(', ') : 'no versioned symbol';
    if (risky.length) {
      warnings.push(`${shipped}: the runtime likely loads ${shadow.by} instead, and the layer needs ${risky.sort().join(', ')} from it, which an OpenSSL 3.0 lacks`);
    } else {
      notes.push(`${shipped}: on Lambda, ${shadow.by} is searched first and likely used instead; the layer needs ${needs} from it, which every OpenSSL 3 has`);
    }
  }

  const ok = problems.length === 0;
  const report = ok ? formatVerdict(target, rows, elfs, warnings, notes) : formatProblems(target, problems, warnings);
  return { ok, problems, warnings, notes, rows, report };
}

function formatProblems(target: CheckTarget, problems: string[], warnings: string[]): string {
  return [
    `${target.name}: FAILED the Lambda compatibility check (${target.architectures.join(', ')}; ${describeRuntimes(target.runtimes)}):`,
    ...problems.map((p) => `  ✗ ${p.replace(/\n/g, '\n    ')}`),
    ...warnings.map((w) => `  ! ${w}`),
  ].join('\n');
}

function formatVerdict(target: CheckTarget, rows: VerdictRow[], elfs: readonly LayerElf[], warnings: string[], notes: string[]): string {
  const limits = `glibc ≤ ${RUNTIME_SYMBOL_VERSIONS.GLIBC!.max}, GLIBCXX ≤ ${RUNTIME_SYMBOL_VERSIONS.GLIBCXX!.max}, CXXABI ≤ ${RUNTIME_SYMBOL_VERSIONS.CXXABI!.max}`;
  const lines = [`${target.name}: OK on ${target.architectures.join(', ')} for ${describeRuntimes(target.runtimes)}: ${limits}`];
  // Long package paths would dominate the table: show them through a short alias.
  const aliases = target.modules.map((m, i) => [`${LAYER_NODE_MODULES}/${m}/`, target.modules.length === 1 ? '$pkg/' : `$pkg${i + 1}/`] as const);
  const show = (p: string) => {
    for (const [long, short] of aliases) if (p.startsWith(long)) return short + p.slice(long.length);
    return p;
  };
  for (const [long, short] of aliases) if (rows.some((r) => r.path.startsWith(long))) lines.push(`(${short.slice(0, -1)} = ${long.slice(0, -1)})`);
  const table: string[][] = [['file', 'max GLIBC', 'max GLIBCXX', 'max CXXABI', 'NEEDED', 'resolved from']];
  for (const r of rows) {
    const first = [show(r.path), r.glibc ?? '-', r.glibcxx ?? '-', r.cxxabi ?? '-'];
    if (r.resolutions.length === 0) table.push([...first, '-', '-']);
    r.resolutions.forEach((res, i) => {
      const from = res.from === undefined ? 'NOT FOUND' : aliases.reduce((f, [long, short]) => f.split(long).join(short), res.from);
      table.push([...(i === 0 ? first : ['', '', '', '']), res.needed, from]);
    });
  }
  const widths = table[0]!.map((_, c) => Math.max(...table.map((row) => row[c]!.length)));
  for (const row of table) lines.push(row.map((cell, c) => (c === row.length - 1 ? cell : cell.padEnd(widths[c]!))).join('  ').trimEnd());
  for (const e of elfs) {
    if (!e.path.endsWith('.node') || e.nodeAbi === undefined) continue;
    lines.push(
      e.nodeAbi === 'napi'
        ? `${show(e.path)}: Node-API addon, loads on any Node version`
        : `${show(e.path)}: NODE_MODULE_VERSION ${e.nodeAbi}, matches ${target.runtimes.map((r) => `${r} (Node ${RUNTIMES[r].nodeMajor})`).join(', ')}`,
    );
  }
  for (const n of notes) lines.push(`note: ${n}`);
  for (const w of warnings) lines.push(`! ${w}`);
  return lines.join('\n');
}

function listFiles(root: string, rel = ''): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(join(root, rel), { withFileTypes: true })) {
    const p = rel ? `${rel}/${entry.name}` : entry.name;
    const isDir = entry.isDirectory() || (entry.isSymbolicLink() && statSync(join(root, p)).isDirectory());
    if (isDir) out.push(...listFiles(root, p));
    else out.push(p);
  }
  return out;
}

function readHead(file: string): Buffer {
  const buf = Buffer.alloc(4);
  const fd = openSync(file, 'r');
  try {
    const n = readSync(fd, buf, 0, 4, 0);
    return buf.subarray(0, n);
  } finally {
    closeSync(fd);
  }
}

/** Checks a layer directory (the future /opt) or a layer zip. */
export async function checkLayer(dirOrZip: string, target: CheckTarget): Promise<CheckResult> {
  const path = resolve(dirOrZip);
  if (!existsSync(path)) throw new Error(`${dirOrZip}: no such layer directory or zip`);
  if (statSync(path).isFile()) {
    const dir = mkdtempSync(join(tmpdir(), 'kafka-layer-check-'));
    try {
      await extractZip(path, dir);
      return await checkLayer(dir, target);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  const files = listFiles(path);
  const elfs: LayerElf[] = [];
  for (const rel of files) {
    const abs = join(path, rel);
    if (!isElf(readHead(abs))) continue;
    const info = readElf(abs);
    elfs.push({ path: rel, info, nodeAbi: rel.endsWith('.node') ? (info.napi ? 'napi' : nodeModuleVersion(abs, info)) : undefined });
  }
  const packageJsons = new Map<string, Record<string, unknown> | undefined>();
  for (const mod of target.modules) {
    const p = join(path, LAYER_NODE_MODULES, mod, 'package.json');
    packageJsons.set(mod, existsSync(p) ? (JSON.parse(readFileSync(p, 'utf8')) as Record<string, unknown>) : undefined);
  }
  return evaluateLayer(target, elfs, packageJsons);
}

async function main(argv: string[]): Promise<number> {
  const arg = argv[0];
  if (!arg || argv.length > 1) {
    console.error('usage: tsx src/check.ts <layer-dir-or-zip>');
    return 2;
  }
  const spec = (await import(pathToFileURL(resolve(import.meta.dirname, '../layer.ts')).href)).default as CheckTarget;
  const result = await checkLayer(arg, spec);
  (result.ok ? console.log : console.error)(result.report);
  return result.ok ? 0 : 1;
}

if (process.argv[1] && resolve(process.argv[1]) === import.meta.filename) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error(err instanceof Error ? err.message : err);
      process.exit(1);
    },
  );
}
