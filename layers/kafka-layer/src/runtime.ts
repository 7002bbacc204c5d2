/**
 * What Lambda's Node.js runtimes provide to a layer's native code. Both nodejs20.x and nodejs22.x
 * run on Amazon Linux 2023: glibc 2.34 and GCC 11's libstdc++/libgcc_s.
 */

import { type LambdaRuntime, RUNTIME_NODE_MAJOR } from '@laminar/spec';

export type { LambdaRuntime };
export type Architecture = 'x86_64' | 'arm64';

export interface RuntimeFacts {
  os: string;
  glibc: string;
  /** NODE_MODULE_VERSION of the runtime's Node major: a non-N-API addon must match it exactly. */
  nodeModuleVersion: number;
  nodeMajor: number;
}

export const RUNTIMES: Record<LambdaRuntime, RuntimeFacts> = {
  'nodejs20.x': { os: 'Amazon Linux 2023', glibc: '2.34', nodeModuleVersion: 115, nodeMajor: RUNTIME_NODE_MAJOR['nodejs20.x'] },
  'nodejs22.x': { os: 'Amazon Linux 2023', glibc: '2.34', nodeModuleVersion: 127, nodeMajor: RUNTIME_NODE_MAJOR['nodejs22.x'] },
};

/**
 * Libraries the runtime's own file system provides (found through /lib64 in LD_LIBRARY_PATH, which
 * Lambda searches before /opt/lib): a layer must not need to ship them and should not try.
 */
export const RUNTIME_LIBRARIES: Readonly<Record<string, string>> = {
  'libc.so.6': 'glibc itself: every process on Amazon Linux 2023 runs on it (2.34)',
  'libm.so.6': 'part of glibc 2.34',
  'libdl.so.2': 'part of glibc 2.34 (an empty stub since 2.34, kept for old binaries)',
  'libpthread.so.0': 'part of glibc 2.34 (an empty stub since 2.34, kept for old binaries)',
  'librt.so.1': 'part of glibc 2.34 (an empty stub since 2.34, kept for old binaries)',
  'ld-linux-x86-64.so.2': "glibc's dynamic loader on x86_64: it is what loads everything else",
  'ld-linux-aarch64.so.1': "glibc's dynamic loader on arm64: it is what loads everything else",
  'libstdc++.so.6': 'GCC 11 C++ runtime of Amazon Linux 2023 (the Node binary itself links it)',
  'libgcc_s.so.1': 'GCC 11 unwinder/support library, a dependency of libstdc++ on Amazon Linux 2023',
};

/**
 * The newest symbol version the runtime's libraries define, per namespace. A requirement above
 * these makes dlopen fail with "version `GLIBC_2.35' not found". A runtime library required with a
 * namespace missing here is reported, because this check cannot vouch for it.
 */
export const RUNTIME_SYMBOL_VERSIONS: Readonly<Record<string, { max: string; what: string }>> = {
  GLIBC: { max: '2.34', what: 'glibc 2.34' },
  GLIBCXX: { max: '3.4.29', what: "GCC 11's libstdc++ (GLIBCXX_3.4.29)" },
  CXXABI: { max: '1.3.13', what: "GCC 11's libstdc++ (CXXABI_1.3.13)" },
  CXXABI_TM: { max: '1', what: "GCC 11's libstdc++ (CXXABI_TM_1)" },
  // GCC 12 added GCC_12.0.0 (_Float16 helpers) to libgcc_s; GCC 11's newest is GCC_7.0.0.
  GCC: { max: '7.0.0', what: "GCC 11's libgcc_s (GCC_7.0.0)" },
};

export interface ArchitectureFacts {
  /** readelf's "Machine:" wording. */
  machine: string;
  /** The ABI tag `ldconfig -p` prints for this architecture's libraries. */
  ldconfigTag: string;
}

export const ARCHITECTURES: Record<Architecture, ArchitectureFacts> = {
  x86_64: { machine: 'Advanced Micro Devices X86-64', ldconfigTag: 'x86-64' },
  arm64: { machine: 'AArch64', ldconfigTag: 'AArch64' },
};

/**
 * Libraries a layer may ship but Lambda's Node runtimes most likely carry themselves: their Node is
 * linked against its own OpenSSL 3 in /var/lang/lib, the first LD_LIBRARY_PATH entry (before /lib64
 * and /opt/lib), and a soname already loaded by the process is reused. The layer's copy is then the
 * fallback, and what the layer needs from the library must be in every OpenSSL 3: OPENSSL_3.0.0.
 */
export const RUNTIME_MAY_SHADOW: Readonly<Record<string, { by: string; safeMax: string }>> = {
  'libssl.so.3': { by: "Node's own OpenSSL 3 in /var/lang/lib", safeMax: 'OPENSSL_3.0.0' },
  'libcrypto.so.3': { by: "Node's own OpenSSL 3 in /var/lang/lib", safeMax: 'OPENSSL_3.0.0' },
};

/** Lambda unpacks layers into /opt and puts /opt/lib on LD_LIBRARY_PATH (after the runtime's dirs). */
export const LAYER_LIB_DIR = 'lib';
export const LAYER_NODE_MODULES = 'nodejs/node_modules';

/** "nodejs20.x, nodejs22.x (Amazon Linux 2023)" for messages. */
export function describeRuntimes(runtimes: readonly LambdaRuntime[]): string {
  const byOs = new Map<string, LambdaRuntime[]>();
  for (const r of runtimes) byOs.set(RUNTIMES[r].os, [...(byOs.get(RUNTIMES[r].os) ?? []), r]);
  return [...byOs].map(([os, rs]) => `${rs.join('/')} (${os})`).join(', ');
}
