import { execFileSync } from 'node:child_process';
import { closeSync, openSync, readSync } from 'node:fs';

export interface VersionNeed {
  /** The library the versions are required from, as named in DT_NEEDED (e.g. libc.so.6). */
  file: string;
  versions: string[];
}

export interface ElfInfo {
  elfClass: string;
  /** readelf's wording, e.g. "Advanced Micro Devices X86-64" or "AArch64". */
  machine: string;
  needed: string[];
  soname: string | undefined;
  runpath: string[];
  rpath: string[];
  versionNeeds: VersionNeed[];
  /** Versions this object defines (a library's own OPENSSL_3.0.0 …), without the BASE entry. */
  versionDefs: string[];
  /** Undefined dynamic symbols bound to a version, to name the culprits of a too-new requirement. */
  undefinedSymbols: { name: string; version: string }[];
  /** Node-API addons load on any Node version; others only on the one they were compiled for. */
  napi: boolean;
  /** Where NODE_MODULE's `_module` struct lives, if the symbol table survived (see nodeModuleVersion). */
  moduleSymbol: { value: bigint; section: number } | undefined;
  sections: { index: number; name: string; addr: bigint; offset: bigint }[];
}

const ELF_MAGIC = Buffer.from([0x7f, 0x45, 0x4c, 0x46]);

export function isElf(head: Buffer): boolean {
  return head.length >= 4 && head.subarray(0, 4).equals(ELF_MAGIC);
}

type Part = 'none' | 'header' | 'sections' | 'dynamic' | 'verdef' | 'verneed' | 'versym' | 'dynsym' | 'symtab';

/** Which block of `readelf -W -h -S -d -V -s` a top-level (unindented) line opens. */
function partOf(line: string): Part | undefined {
  if (/^\S/.test(line) === false) return undefined;
  if (line.startsWith('ELF Header')) return 'header';
  if (line.startsWith('Section Headers')) return 'sections';
  if (line.startsWith('Dynamic section')) return 'dynamic';
  if (line.startsWith('Version definition section')) return 'verdef';
  if (line.startsWith('Version needs section')) return 'verneed';
  if (line.startsWith('Version symbols section')) return 'versym';
  if (line.startsWith("Symbol table '.dynsym'")) return 'dynsym';
  if (line.startsWith('Symbol table')) return 'symtab';
  return 'none';
}

/**
 * Parses the combined output of `readelf -W -h -S -d -V -s` (GNU binutils, C locale). Pure, so
 * the parsing is tested on recorded output.
 */
export function parseReadelf(text: string): ElfInfo {
  const info: ElfInfo = {
    elfClass: '',
    machine: '',
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
  };
  let part: Part = 'none';
  let need: VersionNeed | undefined;
  for (const line of text.split('\n')) {
    const next = partOf(line);
    if (next) {
      part = next;
      need = undefined;
      continue;
    }
    switch (part) {
      case 'header': {
        const cls = /^\s*Class:\s+(\S+)/.exec(line);
        const machine = /^\s*Machine:\s+(.+?)\s*$/.exec(line);
        if (cls) info.elfClass = cls[1]!;
        if (machine) info.machine = machine[1]!;
        break;
      }
      case 'sections': {
        const m = /^\s*\[\s*(\d+)\]\s+(\S+)\s+\S+\s+([0-9a-f]+)\s+([0-9a-f]+)\s/.exec(line);
        if (m) info.sections.push({ index: Number(m[1]), name: m[2]!, addr: BigInt(`0x${m[3]}`), offset: BigInt(`0x${m[4]}`) });
        break;
      }
      case 'dynamic': {
        const m = /\((NEEDED|SONAME|RUNPATH|RPATH)\)\s+[\w ]+: \[(.*)\]/.exec(line);
        if (m?.[1] === 'NEEDED') info.needed.push(m[2]!);
        else if (m?.[1] === 'SONAME') info.soname = m[2]!;
        else if (m?.[1] === 'RUNPATH') info.runpath.push(...m[2]!.split(':').filter(Boolean));
        else if (m?.[1] === 'RPATH') info.rpath.push(...m[2]!.split(':').filter(Boolean));
        break;
      }
      case 'verdef': {
        // "000000: Rev: 1  Flags: BASE  Index: 1  Cnt: 1  Name: libssl.so.3": BASE is the soname itself.
        const m = /Rev:\s+\d+\s+Flags:\s+(\S+).*\bName:\s+(\S+)/.exec(line);
        if (m && m[1] !== 'BASE') info.versionDefs.push(m[2]!);
        break;
      }
      case 'verneed': {
        const file = /\bFile:\s+(\S+)/.exec(line);
        const name = /\bName:\s+(\S+)/.exec(line);
        if (file) {
          need = { file: file[1]!, versions: [] };
          info.versionNeeds.push(need);
        } else if (name && need) {
          need.versions.push(name[1]!);
        }
        break;
      }
      case 'dynsym':
      case 'symtab': {
        // "   12: 0000000000000000     0 FUNC    GLOBAL DEFAULT  UND arc4random@GLIBC_2.36 (3)"
        const m = /^\s*\d+:\s+([0-9a-f]+)\s+\S+\s+(\S+)\s+(\S+)\s+\S+\s+(\S+)\s+(\S+)/.exec(line);
        if (!m) break;
        const [, value, type, bind, ndx, full] = m as unknown as [string, string, string, string, string, string];
        const at = full.indexOf('@');
        const name = at < 0 ? full : full.slice(0, at);
        if (part === 'dynsym') {
          if (ndx === 'UND' && at >= 0) info.undefinedSymbols.push({ name, version: full.slice(full.lastIndexOf('@') + 1) });
          if ((ndx !== 'UND' && name === 'napi_register_module_v1') || (ndx === 'UND' && name === 'napi_module_register')) info.napi = true;
        } else if (type === 'OBJECT' && bind === 'LOCAL' && (name === '_module' || name === '_ZL7_module') && /^\d+$/.test(ndx)) {
          info.moduleSymbol = { value: BigInt(`0x${value}`), section: Number(ndx) };
        }
        break;
      }
      default:
        break;
    }
  }
  return info;
}

/** Runs readelf once per file; the C locale keeps its wording stable for the parser. */
export function readElf(file: string): ElfInfo {
  const out = execFileSync('readelf', ['-W', '-h', '-S', '-d', '-V', '-s', file], {
    encoding: 'utf8',
    env: { ...process.env, LC_ALL: 'C' },
    maxBuffer: 256 * 1024 * 1024,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return parseReadelf(out);
}

/**
 * The NODE_MODULE_VERSION a non-N-API addon was compiled for: the first int of the `_module`
 * struct that node.h's NODE_MODULE macro emits (Node refuses to load an addon whose number differs
 * from its own). Undefined when the symbol table was stripped.
 */
export function nodeModuleVersion(file: string, info: ElfInfo): number | undefined {
  const sym = info.moduleSymbol;
  if (!sym) return undefined;
  const section = info.sections.find((s) => s.index === sym.section);
  if (!section) return undefined;
  const offset = Number(section.offset + (sym.value - section.addr));
  const buf = Buffer.alloc(4);
  const fd = openSync(file, 'r');
  try {
    if (readSync(fd, buf, 0, 4, offset) !== 4) return undefined;
  } finally {
    closeSync(fd);
  }
  // Both architectures a layer can target are little-endian.
  return buf.readInt32LE(0);
}
