import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { deterministicZip } from '@laminar/bundler';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CheckTarget, checkLayer } from '../../src/check.ts';

// Tiny ELF files compiled here with cc, placed into throw-away layer directories.
const PACKAGE_DIR = resolve(import.meta.dirname, '../..');
const PKG = 'nodejs/node_modules/@confluentinc/kafka-javascript';
const ADDON = `${PKG}/build/Release/confluent-kafka-javascript.node`;
const plain: CheckTarget = { name: 'crafted', architectures: ['x86_64'], runtimes: ['nodejs20.x'], modules: [] };

let work: string;
const src = (name: string) => join(work, 'src', name);

function cc(out: string, code: string, ...args: string[]) {
  const c = `${out}.c`;
  writeFileSync(c, code);
  execFileSync('cc', ['-shared', '-fPIC', '-o', out, c, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A layer directory holding the given files (layer path → source file). */
function layer(files: Record<string, string>): string {
  const dir = mkdtempSync(join(work, 'layer-'));
  for (const [to, from] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, to)), { recursive: true });
    copyFileSync(from, join(dir, to));
  }
  return dir;
}

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'kafka-layer-crafted-'));
  mkdirSync(join(work, 'src'));
  // glibc 2.36 added arc4random: any caller needs GLIBC_2.36, newer than Amazon Linux 2023's 2.34.
  cc(src('libarc.so'), '#include <stdlib.h>\nunsigned pick(void) { return arc4random(); }\n');
  // libbar needs libfoo.so.1 (its soname); tests decide whether libfoo ships.
  cc(src('libfoo.so.1'), 'int foo(void) { return 1; }\n', '-Wl,-soname,libfoo.so.1');
  cc(src('libbar.so'), 'int foo(void);\nint bar(void) { return foo() + 1; }\n', src('libfoo.so.1'));
  // An "addon" finding libfoo through RUNPATH $ORIGIN/../deps, as the Kafka addon finds librdkafka.
  cc(src('addon.node'), 'int foo(void);\nint init(void) { return foo(); }\n', src('libfoo.so.1'), '-Wl,-rpath,$ORIGIN/../deps', '-Wl,--enable-new-dtags');
  writeFileSync(src('package.json'), readFileSync(join(PACKAGE_DIR, 'node_modules/@confluentinc/kafka-javascript/package.json')));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('the layer check on crafted ELF files', () => {
  it('fails a library that needs glibc 2.36, from the command line, naming file, version, symbol and why', () => {
    const dir = layer({ [`${PKG}/package.json`]: src('package.json'), [ADDON]: src('libarc.so') });
    const run = spawnSync(process.execPath, ['--import', 'tsx', 'src/check.ts', dir], { cwd: PACKAGE_DIR, encoding: 'utf8', timeout: 50_000 });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('kafka-layer: FAILED the Lambda compatibility check');
    expect(run.stderr).toContain(
      `${ADDON}: needs GLIBC_2.36 (arc4random) from libc.so.6 but Lambda's nodejs22.x (Amazon Linux 2023) has glibc 2.34`,
    );
    // A hand-made .node has no NODE_MODULE struct: said, not fatal.
    expect(run.stderr).toContain('Node ABI cannot be read');
  });

  it('checks a zip the same way as a directory', async () => {
    const zip = join(work, 'arc.zip');
    writeFileSync(zip, await deterministicZip([{ name: 'lib/libarc.so', data: readFileSync(src('libarc.so')), mode: 0o755 }]));
    const r = await checkLayer(zip, plain);
    expect(r.problems).toEqual([`lib/libarc.so: needs GLIBC_2.36 (arc4random) from libc.so.6 but Lambda's nodejs20.x (Amazon Linux 2023) has glibc 2.34`]);
  });

  it('refuses a zip with a corrupted entry, from the command line, naming the zip and the entry', async () => {
    const zip = await deterministicZip([{ name: 'lib/libfoo.so.1', data: readFileSync(src('libfoo.so.1')), mode: 0o755 }]);
    // A byte in the middle of the entry's compressed data (its local header is at 0).
    const data = 30 + zip.readUInt16LE(26) + zip.readUInt16LE(28);
    zip[data + Math.floor(zip.readUInt32LE(18) / 2)]! ^= 0x01;
    const file = join(work, 'corrupted.zip');
    writeFileSync(file, zip);
    const run = spawnSync(process.execPath, ['--import', 'tsx', 'src/check.ts', file], { cwd: PACKAGE_DIR, encoding: 'utf8', timeout: 50_000 });
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(new RegExp(`^${file}: lib/libfoo\\.so\\.1: corrupted[,:] `));
  });

  it('fails a library whose NEEDED library was left out, and passes once it ships in lib/', async () => {
    const without = await checkLayer(layer({ 'lib/libbar.so': src('libbar.so') }), plain);
    expect(without.ok).toBe(false);
    expect(without.problems).toEqual([
      "lib/libbar.so: needs libfoo.so.1, which neither the layer (searched lib/) nor Lambda's nodejs20.x (Amazon Linux 2023) runtime provides: ship it in lib/",
    ]);
    const withIt = await checkLayer(layer({ 'lib/libbar.so': src('libbar.so'), 'lib/libfoo.so.1': src('libfoo.so.1') }), plain);
    expect(withIt.problems).toEqual([]);
    expect(withIt.rows.find((r) => r.path === 'lib/libbar.so')!.resolutions).toContainEqual({
      needed: 'libfoo.so.1',
      from: 'layer, lib/ (/opt/lib on LD_LIBRARY_PATH)',
      target: 'lib/libfoo.so.1',
    });
  });

  it('follows RUNPATH $ORIGIN/../deps inside the layer, and fails when the library is not there', async () => {
    const ok = await checkLayer(layer({ 'x/build/Release/addon.node': src('addon.node'), 'x/build/deps/libfoo.so.1': src('libfoo.so.1') }), plain);
    expect(ok.problems).toEqual([]);
    expect(ok.rows[0]).toMatchObject({ path: 'x/build/Release/addon.node' });
    expect(ok.rows[0]!.resolutions[0]).toMatchObject({ needed: 'libfoo.so.1', from: 'layer, RUNPATH $ORIGIN/../deps' });
    const missing = await checkLayer(layer({ 'x/build/Release/addon.node': src('addon.node') }), plain);
    expect(missing.problems).toEqual([
      "x/build/Release/addon.node: needs libfoo.so.1, which neither the layer (searched RUNPATH $ORIGIN/../deps, lib/) nor Lambda's nodejs20.x (Amazon Linux 2023) runtime provides: ship it in lib/",
    ]);
  });

  it('fails an x86_64 file in a layer declared for arm64', async () => {
    const r = await checkLayer(layer({ 'lib/libfoo.so.1': src('libfoo.so.1') }), { ...plain, architectures: ['arm64'] });
    expect(r.problems).toEqual([
      'lib/libfoo.so.1: is built for "Advanced Micro Devices X86-64" but the layer spec says arm64 ("AArch64"); a function on arm64 cannot load it',
    ]);
  });

  it('says how to fix a Kafka package without its compiled addon', () => {
    const dir = layer({ [`${PKG}/package.json`]: src('package.json') });
    const run = spawnSync(process.execPath, ['--import', 'tsx', 'src/check.ts', dir], { cwd: PACKAGE_DIR, encoding: 'utf8', timeout: 50_000 });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('@confluentinc/kafka-javascript has no compiled addon (no build/Release/*.node)');
    expect(run.stderr).toContain('CKJS_LINKING=dynamic npm_config_nodedir=');
    expect(run.stderr).toContain('downloads the prebuilt addon');
    expect(run.stderr).toContain('the layer cannot be built from it');
  });
});
