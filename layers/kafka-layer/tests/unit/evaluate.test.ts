import { describe, expect, it } from 'vitest';
import { type CheckTarget, evaluateLayer, type LayerElf } from '../../src/check.ts';
import type { ElfInfo } from '../../src/readelf.ts';

const PKG = 'nodejs/node_modules/@confluentinc/kafka-javascript';
const target: CheckTarget = { name: 'kafka-layer', architectures: ['x86_64'], runtimes: ['nodejs20.x'], modules: ['@confluentinc/kafka-javascript'] };
const nativePkg = new Map([['@confluentinc/kafka-javascript', { name: '@confluentinc/kafka-javascript', binary: { module_name: 'x' } }]]);

function elf(path: string, info: Partial<ElfInfo>, nodeAbi?: LayerElf['nodeAbi']): LayerElf {
  return {
    path,
    nodeAbi,
    info: {
      elfClass: 'ELF64',
      machine: 'Advanced Micro Devices X86-64',
      needed: [],
      soname: undefined,
      runpath: [],
      rpath: [],
      versionNeeds: [],
      versionDefs: [],
      undefinedSymbols: [],
      napi: false,
      moduleSymbol: undefined,
      sections: [],
      ...info,
    },
  };
}

/** The shape of the layer built from source here. */
function goodLayer(): LayerElf[] {
  return [
    elf(
      `${PKG}/build/Release/confluent-kafka-javascript.node`,
      {
        needed: ['librdkafka.so.1', 'librdkafka++.so.1', 'libstdc++.so.6', 'libm.so.6', 'libc.so.6'],
        runpath: ['$ORIGIN/../deps'],
        versionNeeds: [
          { file: 'libc.so.6', versions: ['GLIBC_2.14', 'GLIBC_2.2.5'] },
          { file: 'libstdc++.so.6', versions: ['GLIBCXX_3.4.29', 'CXXABI_1.3.9'] },
        ],
      },
      115,
    ),
    elf(`${PKG}/build/deps/librdkafka.so.1`, {
      soname: 'librdkafka.so.1',
      needed: ['libssl.so.3', 'libz.so.1', 'libc.so.6', 'ld-linux-x86-64.so.2'],
      versionNeeds: [
        { file: 'libc.so.6', versions: ['GLIBC_2.34', 'GLIBC_2.2.5'] },
        { file: 'libssl.so.3', versions: ['OPENSSL_3.0.0'] },
      ],
    }),
    elf(`${PKG}/build/deps/librdkafka++.so.1`, { soname: 'librdkafka++.so.1', needed: ['librdkafka.so.1', 'libstdc++.so.6', 'libgcc_s.so.1'] }),
    elf('lib/libssl.so.3', { soname: 'libssl.so.3', needed: ['libc.so.6'], versionDefs: ['OPENSSL_3.0.0'] }),
    elf('lib/libz.so.1', { soname: 'libz.so.1', needed: ['libc.so.6'] }),
  ];
}

describe('evaluateLayer', () => {
  it('passes the layer and tells where every NEEDED library comes from', () => {
    const r = evaluateLayer(target, goodLayer(), nativePkg);
    expect(r.problems).toEqual([]);
    expect(r.ok).toBe(true);
    const row = (p: string) => r.rows.find((x) => x.path === p)!;
    const addon = row(`${PKG}/build/Release/confluent-kafka-javascript.node`);
    expect(addon).toMatchObject({ glibc: '2.14', glibcxx: '3.4.29', cxxabi: '1.3.9' });
    expect(addon.resolutions.map((x) => x.from)).toEqual([
      'layer, RUNPATH $ORIGIN/../deps',
      'layer, RUNPATH $ORIGIN/../deps',
      'runtime',
      'runtime',
      'runtime',
    ]);
    expect(row(`${PKG}/build/deps/librdkafka.so.1`).resolutions[0]!.from).toBe('layer, lib/ (/opt/lib on LD_LIBRARY_PATH)');
    // librdkafka++ has no RUNPATH: only the addon having loaded librdkafka.so.1 first satisfies it.
    expect(row(`${PKG}/build/deps/librdkafka++.so.1`).resolutions[0]!.from).toBe(`layer, already loaded: ${PKG}/build/deps/librdkafka.so.1`);
    // Rows follow the loader: the addon first.
    expect(r.rows[0]!.path).toMatch(/\.node$/);
    expect(r.report).toMatch(/^kafka-layer: OK on x86_64 for nodejs20\.x \(Amazon Linux 2023\)/);
    expect(r.report).toMatch(/\n\$pkg\/build\/deps\/librdkafka\.so\.1 +2\.34 +- +- +libssl\.so\.3 +layer, lib\//);
    expect(r.report).toContain('NODE_MODULE_VERSION 115, matches nodejs20.x (Node 20)');
  });

  it('fails a symbol version newer than Amazon Linux 2023 has, naming file, version, symbol and why', () => {
    const layer = goodLayer();
    layer[1]!.info.versionNeeds[0]!.versions.push('GLIBC_2.36');
    layer[1]!.info.undefinedSymbols.push({ name: 'arc4random', version: 'GLIBC_2.36' });
    layer[0]!.info.versionNeeds[1]!.versions.push('GLIBCXX_3.4.30');
    const r = evaluateLayer(target, layer, nativePkg);
    expect(r.ok).toBe(false);
    expect(r.problems).toContain(
      `${PKG}/build/deps/librdkafka.so.1: needs GLIBC_2.36 (arc4random) from libc.so.6 but Lambda's nodejs20.x (Amazon Linux 2023) has glibc 2.34`,
    );
    expect(r.problems).toContain(
      `${PKG}/build/Release/confluent-kafka-javascript.node: needs GLIBCXX_3.4.30 from libstdc++.so.6 but Lambda's nodejs20.x (Amazon Linux 2023) has GCC 11's libstdc++ (GLIBCXX_3.4.29)`,
    );
    expect(r.report).toMatch(/^kafka-layer: FAILED/);
  });

  it('fails GLIBC_PRIVATE and version families it cannot vouch for', () => {
    const layer = goodLayer();
    layer[1]!.info.versionNeeds[0]!.versions.push('GLIBC_PRIVATE');
    layer[2]!.info.versionNeeds.push({ file: 'libgcc_s.so.1', versions: ['GCC_12.0.0'] });
    layer[2]!.info.versionNeeds.push({ file: 'libstdc++.so.6', versions: ['WEIRD_1.0'] });
    const r = evaluateLayer(target, layer, nativePkg);
    expect(r.problems.join('\n')).toContain('needs GLIBC_PRIVATE from libc.so.6: private versions');
    expect(r.problems.join('\n')).toContain("needs GCC_12.0.0 from libgcc_s.so.1 but Lambda's nodejs20.x (Amazon Linux 2023) has GCC 11's libgcc_s (GCC_7.0.0)");
    expect(r.problems.join('\n')).toContain('needs WEIRD_1.0 from the runtime');
  });

  it('fails a NEEDED library that neither the layer nor the runtime provides', () => {
    const layer = goodLayer().filter((e) => e.path !== 'lib/libz.so.1');
    const r = evaluateLayer(target, layer, nativePkg);
    expect(r.problems).toEqual([
      `${PKG}/build/deps/librdkafka.so.1: needs libz.so.1, which neither the layer (searched lib/) nor Lambda's nodejs20.x (Amazon Linux 2023) runtime provides: ship it in lib/`,
    ]);
  });

  it('does not follow RUNPATH out of the layer and fails a library missing at its RUNPATH', () => {
    const layer = goodLayer().filter((e) => !e.path.endsWith('librdkafka++.so.1'));
    layer[0]!.info.runpath = ['$ORIGIN/../deps', '/usr/local/lib'];
    const r = evaluateLayer(target, layer, nativePkg);
    expect(r.problems).toEqual([
      `${PKG}/build/Release/confluent-kafka-javascript.node: needs librdkafka++.so.1, which neither the layer (searched RUNPATH $ORIGIN/../deps:/usr/local/lib, lib/) nor Lambda's nodejs20.x (Amazon Linux 2023) runtime provides: ship it in lib/`,
    ]);
  });

  it('fails a version the layer library does not define', () => {
    const layer = goodLayer();
    layer[1]!.info.versionNeeds[1]!.versions.push('OPENSSL_3.2.0');
    const r = evaluateLayer(target, layer, nativePkg);
    expect(r.problems).toEqual([`${PKG}/build/deps/librdkafka.so.1: needs OPENSSL_3.2.0 from libssl.so.3, but the layer's lib/libssl.so.3 does not define it`]);
  });

  it("notes that Lambda's Node may replace the shipped OpenSSL, and warns when the layer needs more than OpenSSL 3.0", () => {
    const ok = evaluateLayer(target, goodLayer(), nativePkg);
    expect(ok.notes).toEqual([
      "lib/libssl.so.3: on Lambda, Node's own OpenSSL 3 in /var/lang/lib is searched first and likely used instead; the layer needs OPENSSL_3.0.0 from it, which every OpenSSL 3 has",
    ]);
    expect(ok.report).toContain('note: lib/libssl.so.3');
    const layer = goodLayer();
    layer[1]!.info.versionNeeds[1]!.versions.push('OPENSSL_3.2.0');
    layer[3]!.info.versionDefs.push('OPENSSL_3.2.0');
    const newer = evaluateLayer(target, layer, nativePkg);
    expect(newer.ok).toBe(true);
    expect(newer.warnings).toEqual([
      "lib/libssl.so.3: the runtime likely loads Node's own OpenSSL 3 in /var/lang/lib instead, and the layer needs OPENSSL_3.2.0 from it, which an OpenSSL 3.0 lacks",
    ]);
  });

  it('fails a machine other than the layer spec architecture', () => {
    const r = evaluateLayer({ ...target, architectures: ['arm64'] }, goodLayer().slice(3), new Map([[target.modules[0]!, { name: 'x' }]]));
    expect(r.problems).toContain(
      'lib/libssl.so.3: is built for "Advanced Micro Devices X86-64" but the layer spec says arm64 ("AArch64"); a function on arm64 cannot load it',
    );
  });

  it('fails an addon compiled for another Node major than a listed runtime', () => {
    const r = evaluateLayer({ ...target, runtimes: ['nodejs20.x', 'nodejs22.x'] }, goodLayer(), nativePkg);
    expect(r.problems).toEqual([
      `${PKG}/build/Release/confluent-kafka-javascript.node: was compiled for NODE_MODULE_VERSION 115 (Node 20) but nodejs22.x runs Node 22 (NODE_MODULE_VERSION 127), which refuses to load it: build the layer with Node 22 or drop nodejs22.x from layer.ts`,
    ]);
    const napi = goodLayer();
    napi[0]!.nodeAbi = 'napi';
    expect(evaluateLayer({ ...target, runtimes: ['nodejs20.x', 'nodejs22.x'] }, napi, nativePkg).ok).toBe(true);
    const unknown = goodLayer();
    unknown[0]!.nodeAbi = undefined;
    const r2 = evaluateLayer(target, unknown, nativePkg);
    expect(r2.ok).toBe(true);
    expect(r2.warnings[0]).toMatch(/Node ABI cannot be read/);
  });

  it('says exactly what to do when the native package has no compiled addon', () => {
    const r = evaluateLayer(target, goodLayer().filter((e) => !e.path.endsWith('.node')), nativePkg);
    expect(r.ok).toBe(false);
    expect(r.problems[0]).toContain('@confluentinc/kafka-javascript has no compiled addon (no build/Release/*.node)');
    expect(r.problems[0]).toContain('CKJS_LINKING=dynamic');
    expect(r.problems[0]).toContain('prebuilt addon');
    const missing = evaluateLayer(target, [], new Map());
    expect(missing.problems).toEqual([`${PKG}: missing from the layer, but layer.ts lists it in modules`]);
  });
});
