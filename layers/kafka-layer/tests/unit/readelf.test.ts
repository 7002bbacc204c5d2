import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isElf, parseReadelf } from '../../src/readelf.ts';

// Real `readelf -W -h -S -d -V -s` output (GNU binutils 2.40), trimmed of most symbol rows.
const fixture = (name: string) => readFileSync(join(import.meta.dirname, 'fixtures', name), 'utf8');

describe('parseReadelf', () => {
  it('reads the addon: machine, NEEDED, RUNPATH, version needs per library, NODE_MODULE struct', () => {
    const info = parseReadelf(fixture('addon.readelf.txt'));
    expect(info.elfClass).toBe('ELF64');
    expect(info.machine).toBe('Advanced Micro Devices X86-64');
    expect(info.needed).toEqual(['librdkafka.so.1', 'librdkafka++.so.1', 'libstdc++.so.6', 'libm.so.6', 'libc.so.6']);
    expect(info.soname).toBe('confluent-kafka-javascript.node');
    expect(info.runpath).toEqual(['$ORIGIN/../deps']);
    expect(info.rpath).toEqual([]);
    expect(info.versionNeeds.map((n) => n.file)).toEqual(['libm.so.6', 'libc.so.6', 'libstdc++.so.6']);
    expect(info.versionNeeds[2]!.versions).toContain('GLIBCXX_3.4.29');
    expect(info.versionNeeds[0]!.versions).toEqual(['GLIBC_2.29', 'GLIBC_2.2.5']);
    // The version-symbols table's "(GLIBCXX_3.4)" cells are not mistaken for definitions.
    expect(info.versionDefs).toEqual([]);
    expect(info.undefinedSymbols).toContainEqual({ name: '_ZSt28__throw_bad_array_new_lengthv', version: 'GLIBCXX_3.4.29' });
    expect(info.napi).toBe(false);
    expect(info.moduleSymbol).toEqual({ value: 0x78020n, section: 23 });
    expect(info.sections.find((s) => s.index === 23)).toEqual({ index: 23, name: '.data', addr: 0x78000n, offset: 0x77000n });
  });

  it('reads a library: its soname, the versions it defines (without BASE) and needs', () => {
    const info = parseReadelf(fixture('libssl.readelf.txt'));
    expect(info.soname).toBe('libssl.so.3');
    expect(info.needed).toEqual(['libcrypto.so.3', 'libc.so.6']);
    expect(info.versionDefs).toEqual(['OPENSSL_3.0.0']);
    expect(info.versionNeeds).toEqual([
      { file: 'libc.so.6', versions: ['GLIBC_2.4', 'GLIBC_2.33', 'GLIBC_2.14', 'GLIBC_2.3.4', 'GLIBC_2.2.5'] },
      { file: 'libcrypto.so.3', versions: ['OPENSSL_3.0.3', 'OPENSSL_3.0.0'] },
    ]);
    expect(info.moduleSymbol).toBeUndefined();
  });

  it('names the undefined symbols behind a version (arc4random needs GLIBC_2.36)', () => {
    const info = parseReadelf(fixture('arc4random.readelf.txt'));
    expect(info.needed).toEqual(['libc.so.6']);
    expect(info.runpath).toEqual([]);
    expect(info.versionNeeds).toEqual([{ file: 'libc.so.6', versions: ['GLIBC_2.2.5', 'GLIBC_2.36'] }]);
    expect(info.undefinedSymbols).toEqual([
      { name: 'arc4random', version: 'GLIBC_2.36' },
      { name: '__cxa_finalize', version: 'GLIBC_2.2.5' },
    ]);
  });

  it('reads RPATH, several path entries and N-API addons', () => {
    const info = parseReadelf(
      [
        'Dynamic section at offset 0x2e08 contains 3 entries:',
        '  Tag        Type                         Name/Value',
        ' 0x000000000000000f (RPATH)              Library rpath: [$ORIGIN:/opt/lib]',
        ' 0x0000000000000001 (NEEDED)             Shared library: [libfoo.so.1]',
        '',
        "Symbol table '.dynsym' contains 2 entries:",
        '   Num:    Value          Size Type    Bind   Vis      Ndx Name',
        '     1: 0000000000001109    11 FUNC    GLOBAL DEFAULT   12 napi_register_module_v1',
      ].join('\n'),
    );
    expect(info.rpath).toEqual(['$ORIGIN', '/opt/lib']);
    expect(info.needed).toEqual(['libfoo.so.1']);
    expect(info.napi).toBe(true);
  });

  it('recognises ELF files by their magic number', () => {
    expect(isElf(Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2]))).toBe(true);
    expect(isElf(Buffer.from('#!/bin/sh'))).toBe(false);
    expect(isElf(Buffer.alloc(0))).toBe(false);
  });
});
