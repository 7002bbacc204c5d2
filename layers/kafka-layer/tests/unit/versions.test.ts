import { describe, expect, it } from 'vitest';
import { compareVersions, maxVersion, parseSymbolVersion } from '../../src/versions.ts';

describe('symbol versions', () => {
  it('splits a version into namespace and number', () => {
    expect(parseSymbolVersion('GLIBC_2.34')).toEqual({ name: 'GLIBC_2.34', namespace: 'GLIBC', version: '2.34' });
    expect(parseSymbolVersion('GLIBCXX_3.4.29')).toMatchObject({ namespace: 'GLIBCXX', version: '3.4.29' });
    expect(parseSymbolVersion('CXXABI_1.3')).toMatchObject({ namespace: 'CXXABI', version: '1.3' });
    expect(parseSymbolVersion('CXXABI_TM_1')).toMatchObject({ namespace: 'CXXABI_TM', version: '1' });
    expect(parseSymbolVersion('OPENSSL_3.0.0')).toMatchObject({ namespace: 'OPENSSL', version: '3.0.0' });
    expect(parseSymbolVersion('GLIBC_PRIVATE')).toMatchObject({ namespace: 'GLIBC', version: undefined });
  });

  it('compares numerically, component by component', () => {
    expect(compareVersions('2.4', '2.17')).toBe(-1);
    expect(compareVersions('2.34', '2.34')).toBe(0);
    expect(compareVersions('2.35', '2.34')).toBe(1);
    expect(compareVersions('3.4.29', '3.4.3')).toBe(1);
    expect(compareVersions('1.3', '1.3.0')).toBe(0);
    expect(compareVersions('2.2.5', '2.3')).toBe(-1);
  });

  it('finds the highest version of one namespace', () => {
    const needs = ['GLIBC_2.2.5', 'GLIBC_2.34', 'GLIBC_2.4', 'GLIBCXX_3.4.30', 'GLIBC_PRIVATE', 'GLIBC_2.17'];
    expect(maxVersion(needs, 'GLIBC')).toBe('2.34');
    expect(maxVersion(needs, 'GLIBCXX')).toBe('3.4.30');
    expect(maxVersion(needs, 'CXXABI')).toBeUndefined();
  });
});
