import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { sourceCodeHash } from '@laminar/bundler';
import { nodeForRuntime } from '@laminar/lambda-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findPackageDir } from '../../src/assemble.ts';
import { type BuildResult, buildLayer } from '../../src/build.ts';
import { isElf, readElf } from '../../src/readelf.ts';
import spec from '../../layer.ts';
import { extractZip, readZip, type ZipRecord } from '../../src/unzip.ts';

// Builds the real layer from the installed client, twice, into temporary directories.
const PACKAGE_DIR = resolve(import.meta.dirname, '../..');
const REPO_ROOT = resolve(PACKAGE_DIR, '../..');
const PKG = 'nodejs/node_modules/@confluentinc/kafka-javascript';
const installed = findPackageDir('@confluentinc/kafka-javascript', PACKAGE_DIR)!;
const installedPkg = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')) as { librdkafka: string };
// Built from source here (CKJS_LINKING=dynamic): librdkafka is a shared library beside the addon.
// The prebuilt addon (GitHub Actions) links it statically and has no build/deps.
const dynamic = existsSync(join(installed, 'build/deps/librdkafka.so.1'));
// The layer is loaded by its runtime's Node (the addon loads on no other major).
const runtimeNode = nodeForRuntime(spec.runtimes[0]!);

let work: string;
let first: BuildResult;
let second: BuildResult;
let entries: ZipRecord[];
/** The zip unpacked, as Lambda unpacks a layer into /opt. */
let opt: string;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'kafka-layer-build-'));
  // An empty addon cache: the first build compiles the addon for the runtime's Node when the
  // workspace runs another major, the second takes it from the cache.
  const addonCacheDir = join(work, 'addon-cache');
  first = await buildLayer({ outDir: join(work, 'a'), addonCacheDir });
  second = await buildLayer({ outDir: join(work, 'b'), addonCacheDir });
  entries = await readZip(first.zipPath);
  opt = join(work, 'opt');
  await extractZip(first.zipPath, opt);
}, 300_000);
afterAll(() => rmSync(work, { recursive: true, force: true }));

/**
 * `script` on `node` with only the unpacked layer to load from, as Lambda's NODE_PATH and
 * LD_LIBRARY_PATH give it (/opt), from outside the repository so the workspace's copy cannot be found.
 */
function runInLayer(node: string, script: string, timeout: number) {
  return spawnSync(node, ['-e', script], {
    cwd: work,
    encoding: 'utf8',
    env: { PATH: process.env.PATH, NODE_PATH: join(opt, 'nodejs/node_modules'), LD_LIBRARY_PATH: join(opt, 'lib') },
    timeout,
  });
}

describe('the Kafka layer build', () => {
  it('is byte-identical across builds, with its base64 SHA-256 on one line', () => {
    const a = readFileSync(first.zipPath);
    expect(a.equals(readFileSync(second.zipPath))).toBe(true);
    expect(readFileSync(first.hashPath, 'utf8')).toBe(`${sourceCodeHash(a)}\n`);
    expect(first.hash).toMatch(/^[A-Za-z0-9+/]{43}=$/);
    expect(first.check.ok).toBe(true);
  });

  it("ships an addon compiled for its runtime's Node, which a Node of another major refuses", () => {
    const hostMajor = Number(process.versions.node.split('.')[0]);
    const runtimeMajor = Number(runtimeNode.version.split('.')[0]);
    expect(runtimeNode.exact).toBe(true);
    if (hostMajor === runtimeMajor) {
      expect(first.addons.map((a) => a.origin)).toEqual(['installed']);
      return;
    }
    expect(first.addons.map((a) => a.origin)).toEqual(['compiled']);
    expect(second.addons.map((a) => a.origin)).toEqual(['cached']);
    expect(first.check.report).toContain(`NODE_MODULE_VERSION 127, matches ${spec.runtimes[0]} (Node ${runtimeMajor})`);
    const refused = runInLayer(process.execPath, "require('@confluentinc/kafka-javascript')", 50_000);
    expect(refused.status).not.toBe(0);
    expect(refused.stderr).toContain('NODE_MODULE_VERSION 127');
  });

  it('holds the addon, its shared libraries and the system libraries they need', () => {
    const names = entries.map((e) => e.name);
    expect(names).toContain(`${PKG}/package.json`);
    expect(names).toContain(`${PKG}/lib/index.js`);
    expect(names).toContain(`${PKG}/librdkafka.js`);
    expect(names).toContain(`${PKG}/build/Release/confluent-kafka-javascript.node`);
    expect(names).toContain('nodejs/node_modules/bindings/bindings.js');
    if (dynamic) {
      expect(names).toEqual(expect.arrayContaining([`${PKG}/build/deps/librdkafka.so.1`, `${PKG}/build/deps/librdkafka++.so.1`]));
      expect(first.systemLibraries.map((l) => l.soname).sort()).toEqual(['libcrypto.so.3', 'libssl.so.3', 'libz.so.1']);
      expect(names).toEqual(expect.arrayContaining(['lib/libssl.so.3', 'lib/libcrypto.so.3', 'lib/libz.so.1']));
    }
    for (const lib of first.systemLibraries) expect(names).toContain(`lib/${lib.soname}`);
    expect(names.every((n) => n.startsWith('nodejs/node_modules/') || n.startsWith('lib/'))).toBe(true);
  });

  it('leaves out build leftovers, sources, types and docs', () => {
    const leftovers = entries
      .map((e) => e.name)
      .filter((n) => /obj\.target|\/\.deps\/|\.a$|\.o$|Makefile|\.mk$|\.gyp|\/deps\/librdkafka\/|\.(cc|cpp|h)$|\/types\/|\.d\.ts$|\.map$/.test(n))
      .concat(entries.map((e) => e.name).filter((n) => /\.md$/i.test(n) && !/\/licen[cs]e\.md$/i.test(n)))
      // The client's src/ is its C++ source; other packages' src/ is their JavaScript.
      .concat(entries.map((e) => e.name).filter((n) => n.startsWith(`${PKG}/`) && !/^(package\.json|LICENSE[^/]*|librdkafka\.js|lib\/.*\.js|build\/(Release\/[^/]+\.node|deps\/librdkafka(\+\+)?\.so\.1))$/.test(n.slice(PKG.length + 1))));
    expect(leftovers).toEqual([]);
    // The only ELF files are the addon and shared libraries; they are executable, the rest is not.
    for (const e of entries) expect([e.name, e.mode]).toEqual([e.name, isElf(e.data) ? 0o755 : 0o644]);
    expect(entries.filter((e) => isElf(e.data)).every((e) => /\.(node|so(\.\d+)*)$/.test(e.name))).toBe(true);
  });

  it('carries no path of this checkout (debug sections are stripped)', () => {
    const needle = Buffer.from(REPO_ROOT);
    expect(entries.filter((e) => e.data.includes(needle)).map((e) => e.name)).toEqual([]);
  });

  it.runIf(dynamic)('ships librdkafka without the GNU build-id its build folder shaped (another checkout would give another zip)', () => {
    const built = ['librdkafka.so.1', 'librdkafka++.so.1'];
    const shipped = entries.filter((e) => built.some((b) => e.name.endsWith(`/${b}`)));
    expect(shipped.map((e) => e.name.split('/').pop()).sort()).toEqual([...built].sort());
    for (const e of shipped) {
      const sections = readElf(join(opt, e.name)).sections.map((x) => x.name);
      expect(sections, e.name).not.toContain('.note.gnu.build-id');
      expect(sections.filter((x) => x.startsWith('.debug_')), e.name).toEqual([]);
    }
  });

  it('loads from the unpacked layer alone, as Lambda sees /opt', () => {
    const dir = opt;
    // The maps show which files the loader really used.
    const script = [
      "const k = require('@confluentinc/kafka-javascript');",
      'const maps = require("fs").readFileSync("/proc/self/maps", "utf8");',
      'const libs = [...new Set(maps.split("\\n").map((l) => l.split(/\\s+/)[5]).filter((p) => p && /(rdkafka|libssl|libcrypto|libz|\\.node$)/.test(p)))];',
      "console.log(JSON.stringify({ version: k.librdkafkaVersion, from: require.resolve('@confluentinc/kafka-javascript'), libs }));",
    ].join('\n');
    const run = runInLayer(runtimeNode.path, script, 50_000);
    expect(run.stderr).toBe('');
    const out = JSON.parse(run.stdout) as { version: string; from: string; libs: string[] };
    expect(out.version).toBe(installedPkg.librdkafka);
    expect(out.version).toBe('2.15.1');
    expect(out.from).toBe(join(dir, PKG, 'lib/index.js'));
    expect(out.libs.length).toBeGreaterThan(0);
    expect(out.libs.filter((l) => !l.startsWith(dir))).toEqual([]);
    if (dynamic) {
      expect(out.libs.map((l) => l.slice(dir.length + 1)).sort()).toEqual(
        ['lib/libcrypto.so.3', 'lib/libssl.so.3', 'lib/libz.so.1', `${PKG}/build/Release/confluent-kafka-javascript.node`, `${PKG}/build/deps/librdkafka++.so.1`, `${PKG}/build/deps/librdkafka.so.1`].sort(),
      );
    }
  });

  it('produces through librdkafka from the unpacked layer (mock cluster, idempotent, gzip via the shipped zlib)', () => {
    const script = `
      const { Producer } = require('@confluentinc/kafka-javascript');
      const p = new Producer({ 'bootstrap.servers': 'dummy:9092', 'test.mock.num.brokers': 1, dr_cb: true, 'enable.idempotence': true, 'compression.type': 'gzip' });
      const t = setTimeout(() => { console.log(JSON.stringify({ error: 'no delivery report in 20 s' })); process.exit(1); }, 20000);
      p.on('delivery-report', (err, r) => { clearTimeout(t); console.log(JSON.stringify({ err: err ? String(err) : null, topic: r.topic, offset: r.offset })); p.disconnect(); });
      p.on('ready', () => { p.produce('layer-smoke', null, Buffer.from('hello'.repeat(100)), 'key'); p.setPollInterval(20); });
      p.connect();`;
    const run = runInLayer(runtimeNode.path, script, 30_000);
    expect(JSON.parse(run.stdout)).toEqual({ err: null, topic: 'layer-smoke', offset: 0 });
  });

  it('passes the check from the command line on the zip and prints the verdict table', () => {
    const run = spawnSync(process.execPath, ['--import', 'tsx', 'src/check.ts', first.zipPath], { cwd: PACKAGE_DIR, encoding: 'utf8', timeout: 50_000 });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/^kafka-layer: OK on x86_64 for nodejs22\.x \(Amazon Linux 2023\)/);
    expect(run.stdout).toContain('file ');
    expect(run.stdout).toMatch(/\$pkg\/build\/Release\/confluent-kafka-javascript\.node +2\.\d+ +3\.4\.\d+/);
    expect(run.stdout).toContain('NODE_MODULE_VERSION 127, matches nodejs22.x (Node 22)');
  });
});
