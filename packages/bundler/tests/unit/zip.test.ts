import yauzl from 'yauzl';
import { describe, expect, it } from 'vitest';
import { assertWithinLambdaLimits, deterministicZip, LAMBDA_PACKAGE_LIMITS, PackageTooLargeError, sourceCodeHash } from '../../src/index.ts';

function entriesOf(zip: Buffer): Promise<{ name: string; mode: number; date: string; dos: [number, number] }[]> {
  return new Promise((resolve, reject) => {
    yauzl.fromBuffer(zip, { lazyEntries: false }, (err, file) => {
      if (err || !file) return reject(err);
      const out: { name: string; mode: number; date: string; dos: [number, number] }[] = [];
      file.on('entry', (e: yauzl.Entry) =>
        out.push({
          name: e.fileName,
          mode: (e.externalFileAttributes >>> 16) & 0o777,
          date: e.getLastModDate().toString(),
          dos: [e.lastModFileDate, e.lastModFileTime],
        }),
      );
      file.on('end', () => resolve(out));
      file.on('error', reject);
    });
  });
}

describe('deterministicZip', () => {
  it('gives the same bytes for the same entries in any order and sorts them', async () => {
    const a = await deterministicZip([
      { name: 'b.txt', data: Buffer.from('bee') },
      { name: 'a.txt', data: Buffer.from('ay') },
    ]);
    const b = await deterministicZip([
      { name: 'a.txt', data: Buffer.from('ay') },
      { name: 'b.txt', data: Buffer.from('bee') },
    ]);
    expect(a.equals(b)).toBe(true);
    expect(sourceCodeHash(a)).toBe(sourceCodeHash(b));
    const entries = await entriesOf(a);
    expect(entries.map((e) => e.name)).toEqual(['a.txt', 'b.txt']);
    expect(entries.every((e) => e.mode === 0o644)).toBe(true);
    // No clock in the bytes: every entry carries the DOS time of 1980-01-01 00:00:00 (date 33, time 0).
    expect(entries.map((e) => e.dos)).toEqual([
      [33, 0],
      [33, 0],
    ]);
  });

  it('changes when content changes and refuses duplicate names', async () => {
    const a = await deterministicZip([{ name: 'a', data: Buffer.from('1') }]);
    const b = await deterministicZip([{ name: 'a', data: Buffer.from('2') }]);
    expect(a.equals(b)).toBe(false);
    await expect(
      deterministicZip([
        { name: 'a', data: Buffer.from('1') },
        { name: 'a', data: Buffer.from('1') },
      ]),
    ).rejects.toThrow(/duplicate/);
  });

  it('does not depend on the time zone', async () => {
    const { execFileSync } = await import('node:child_process');
    const script =
      "import('./src/zip.ts').then(async m=>process.stdout.write(m.sourceCodeHash(await m.deterministicZip([{name:'x',data:Buffer.from('y')}]))))";
    const run = (tz: string) =>
      execFileSync(process.execPath, ['--import', 'tsx', '-e', script], { env: { ...process.env, TZ: tz }, encoding: 'utf8', timeout: 50_000 });
    expect(run('Pacific/Kiritimati')).toBe(run('America/Los_Angeles'));
  });
});

describe('the zip bytes across machines', () => {
  it("are the ones every build so far gave: Node's deflate did not change", async () => {
    const lines: string[] = [];
    for (let i = 0; i < 4000; i++) lines.push(`export const value${i} = { id: ${i}, name: "item-${(i * 7919) % 1000}", tags: ["a${i % 13}", "b${i % 29}"] };`);
    const zip = await deterministicZip([
      { name: 'index.mjs', data: Buffer.from(lines.join('\n')) },
      { name: 'index.mjs.map', data: Buffer.from('{"version":3}') },
    ]);
    // Measured on Node 20.20.2 and 22.23.3 (zlib 1.3.1-e00f703, Chromium's fork, which Node ships).
    // Deflate's output is no standard: another zlib gives other bytes for the same entries (stock
    // zlib 1.2.13: 1,333 bytes fewer on object-audit's bundle), and every function's
    // source_code_hash, so every plan, with them. If this fails, the Node that builds the zips
    // changed its zlib (${process.versions.zlib} here): zips built here differ from those built
    // before with the same sources — pin the toolchain's Node, or rebuild and deploy them all.
    expect({ bytes: zip.length, sha256: sourceCodeHash(zip), zlib: process.versions.zlib }).toEqual({
      bytes: 38_790,
      sha256: 'N4o2JhaVfQIgGdYWZRciGgX/+Tk2Oa7aBVDHSGmEWxI=',
      zlib: process.versions.zlib,
    });
  });
});

describe('Lambda package limits', () => {
  it('refuses a zip over 50 MB uploaded directly, or contents over 250 MB unzipped, naming the package', () => {
    const small = Buffer.alloc(10);
    expect(() => assertWithinLambdaLimits('function f', small, [{ data: Buffer.alloc(LAMBDA_PACKAGE_LIMITS.unzippedBytes) }])).not.toThrow();
    expect(() => assertWithinLambdaLimits('function f', small, [{ data: Buffer.alloc(LAMBDA_PACKAGE_LIMITS.unzippedBytes) }, { data: Buffer.alloc(1) }])).toThrow(
      /^function f: 262144001 bytes = 250\.0 MiB unzipped; Lambda takes at most 262144000 bytes = 250\.0 MiB/,
    );
    expect(() => assertWithinLambdaLimits('layer l', Buffer.alloc(LAMBDA_PACKAGE_LIMITS.zipBytes + 1), [])).toThrow(PackageTooLargeError);
    expect(() => assertWithinLambdaLimits('layer l', Buffer.alloc(LAMBDA_PACKAGE_LIMITS.zipBytes + 1), [])).toThrow(/^layer l: the zip is 52428801 bytes = 50\.0 MiB; Lambda takes at most 52428800 bytes = 50\.0 MiB uploaded directly/);
  });
});
