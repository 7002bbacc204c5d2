import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deterministicZip } from '@laminar/bundler';
import { afterAll, describe, expect, it } from 'vitest';
import { extractZip, readZip } from '../../src/unzip.ts';

const root = mkdtempSync(join(tmpdir(), 'kafka-layer-unzip-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

// 256 bytes that do not compress: deflate stores them as they are, so a flipped byte still
// inflates, to other bytes of the same length, and only the CRC-32 can tell.
const NOISE = Buffer.concat(Array.from({ length: 8 }, (_, i) => createHash('sha256').update(String(i)).digest()));

/** `zip` with byte `at` of an entry's compressed data flipped: the entry whose local header is at `header`. */
function flipped(zip: Buffer, at: number, header = 0): Buffer {
  const data = header + 30 + zip.readUInt16LE(header + 26) + zip.readUInt16LE(header + 28);
  expect(at).toBeLessThan(zip.readUInt32LE(header + 18));
  const bad = Buffer.from(zip);
  bad[data + at]! ^= 0x01;
  return bad;
}

describe('readZip', () => {
  it("reads back deterministicZip's entries with their modes, from a buffer or a file", async () => {
    const zip = await deterministicZip([
      { name: 'lib/libz.so.1', data: Buffer.from('\x7fELF...'), mode: 0o755 },
      { name: 'nodejs/node_modules/x/index.js', data: Buffer.from('x'.repeat(10_000)) },
    ]);
    const expected = [
      { name: 'lib/libz.so.1', data: Buffer.from('\x7fELF...'), mode: 0o755 },
      { name: 'nodejs/node_modules/x/index.js', data: Buffer.from('x'.repeat(10_000)), mode: 0o644 },
    ];
    expect(await readZip(zip)).toEqual(expected);
    const file = join(root, 'ok.zip');
    writeFileSync(file, zip);
    expect(await readZip(file)).toEqual(expected);
    await expect(readZip(Buffer.from('not a zip'))).rejects.toThrow(/^zip: not a zip file \(/);
  });

  it('refuses an entry whose data no longer matches its CRC-32, naming the zip and the entry', async () => {
    const zip = await deterministicZip([{ name: 'lib/libx.so', data: NOISE, mode: 0o755 }, { name: 'z.txt', data: Buffer.from('fine') }]);
    const file = join(root, 'flipped.zip');
    writeFileSync(file, flipped(zip, 100));
    const crc = zip.readUInt32LE(14).toString(16).padStart(8, '0');
    await expect(readZip(file)).rejects.toThrow(new RegExp(`^${file}: lib/libx\\.so: corrupted: its data's CRC-32 is [0-9a-f]{8}, the zip records ${crc}$`));
  });

  it('refuses a compressed entry with any one of its bytes flipped', async () => {
    // Compressible text: a flipped bit in its Huffman codes breaks the stream, its length or its CRC-32.
    const zip = await deterministicZip([{ name: 'a.txt', data: Buffer.from('hello kafka layer '.repeat(20)) }]);
    for (let at = 0; at < zip.readUInt32LE(18); at++) {
      await expect(readZip(flipped(zip, at))).rejects.toThrow(/^zip: a\.txt: corrupted[,:] /);
    }
  });
});

describe('extractZip', () => {
  it('unpacks with permission bits', async () => {
    const dir = join(root, 'out');
    await extractZip(await deterministicZip([{ name: 'lib/libx.so', data: NOISE, mode: 0o755 }, { name: 'nodejs/a.js', data: Buffer.from('a') }]), dir);
    expect(readFileSync(join(dir, 'lib/libx.so')).equals(NOISE)).toBe(true);
    expect(statSync(join(dir, 'lib/libx.so')).mode & 0o777).toBe(0o755);
    expect(statSync(join(dir, 'nodejs/a.js')).mode & 0o777).toBe(0o644);
  });

  it('writes nothing from a corrupted zip', async () => {
    const dir = join(root, 'corrupted');
    const zip = await deterministicZip([{ name: 'a.txt', data: Buffer.from('fine') }, { name: 'lib/libx.so', data: NOISE }]);
    // lib/libx.so is the second entry (after its local header's signature): a.txt, before it, is good and still not written.
    const bad = flipped(zip, 100, zip.indexOf(Buffer.from('PK\x03\x04'), 4));
    await expect(extractZip(bad, dir)).rejects.toThrow(/^zip: lib\/libx\.so: corrupted: /);
    expect(existsSync(dir)).toBe(false);
  });

  it('refuses a name that climbs out of the target folder', async () => {
    const zip = await deterministicZip([{ name: 'zz/evil', data: Buffer.from('x') }]);
    // The same name in the local header and the central directory, renamed in both.
    const bad = Buffer.from(zip);
    for (let at = bad.indexOf('zz/evil'); at >= 0; at = bad.indexOf('zz/evil', at + 1)) bad.write('../evil', at);
    const dir = join(root, 'climb', 'in');
    await expect(extractZip(bad, dir)).rejects.toThrow(/^zip: .*\.\.\/evil/);
    expect(existsSync(join(root, 'climb'))).toBe(false);
  });
});
