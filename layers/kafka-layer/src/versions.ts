/**
 * ELF symbol versions such as `GLIBC_2.34`, `GLIBCXX_3.4.29`, `CXXABI_1.3.13`, `CXXABI_TM_1`,
 * `OPENSSL_3.0.0`: a namespace, an underscore, then dotted numbers. `GLIBC_PRIVATE` has no number.
 */
export interface SymbolVersion {
  name: string;
  namespace: string;
  /** Dotted numeric part, or undefined for names like GLIBC_PRIVATE. */
  version: string | undefined;
}

export function parseSymbolVersion(name: string): SymbolVersion {
  const m = /^(.+?)_(\d+(?:\.\d+)*)$/.exec(name);
  if (m) return { name, namespace: m[1]!, version: m[2]! };
  const i = name.lastIndexOf('_');
  return { name, namespace: i > 0 ? name.slice(0, i) : name, version: undefined };
}

/** Numeric, component by component: 2.4 < 2.17 < 2.34 (a string compare gets this wrong). */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return 0;
}

/** The highest numeric version of one namespace among `names`, e.g. the highest GLIBC_x.y. */
export function maxVersion(names: Iterable<string>, namespace: string): string | undefined {
  let best: string | undefined;
  for (const n of names) {
    const v = parseSymbolVersion(n);
    if (v.namespace !== namespace || v.version === undefined) continue;
    if (best === undefined || compareVersions(v.version, best) > 0) best = v.version;
  }
  return best;
}
