import { describe, expect, it } from 'vitest';
import { SniffingDecoder, utf8Read } from '../../src/decoding.ts';
import { FileRejection } from '../../src/outcome.ts';

/** Decodes `bytes` fed in pieces of `step` bytes (1 = every possible split point). */
function decode(bytes: Buffer, step = bytes.length || 1): { text: string; decoder: SniffingDecoder } {
  const decoder = new SniffingDecoder();
  let text = '';
  for (let i = 0; i < bytes.length; i += step) text += decoder.write(bytes.subarray(i, i + step));
  text += decoder.end();
  return { text, decoder };
}

const SAMPLE = 'order_id,email\nORD-1,zoë@example.com\nORD-2,søren@example.com — “quoted”\n';

describe('SniffingDecoder', () => {
  it('reads UTF-8 without a BOM, whatever the chunking', () => {
    for (const step of [1, 2, 3, 7, 4096]) {
      const { text, decoder } = decode(Buffer.from(SAMPLE, 'utf8'), step);
      expect(text).toBe(SAMPLE);
      expect(decoder.report).toMatchObject({ encoding: 'utf-8', bom: false, invalidBytes: false });
    }
  });

  it('strips a UTF-8 BOM and says so', () => {
    const { text, decoder } = decode(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(SAMPLE)]), 5);
    expect(text).toBe(SAMPLE);
    expect(decoder.report).toMatchObject({ encoding: 'utf-8', bom: true, evidence: 'byte-order mark' });
  });

  it('reads UTF-16 LE and BE by their BOM', () => {
    const le = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(SAMPLE, 'utf16le')]);
    const be = Buffer.from(le);
    be.swap16();
    expect(decode(le, 3).text).toBe(SAMPLE);
    expect(decode(le).decoder.report).toMatchObject({ encoding: 'utf-16le', bom: true });
    const big = decode(be, 3);
    expect(big.text).toBe(SAMPLE);
    expect(big.decoder.report).toMatchObject({ encoding: 'utf-16be', bom: true });
  });

  it('falls back to windows-1252 when the bytes are not UTF-8 (Latin-1 exports, € at 0x80)', () => {
    const latin = Buffer.from('name,price\nZoë,5 €\nMüller,6 €\n', 'latin1');
    latin[latin.indexOf('5 ') + 2] = 0x80;
    latin[latin.indexOf('6 ') + 2] = 0x80;
    const { text, decoder } = decode(latin, 4);
    expect(text).toBe('name,price\nZoë,5 €\nMüller,6 €\n');
    expect(decoder.report).toMatchObject({ encoding: 'windows-1252', bom: false, invalidBytes: false });
    expect(decoder.report.evidence).toBe('not UTF-8 from byte 13: 4 invalid sequence(s), 0 valid multi-byte one(s)');
  });

  it('decides at the first non-ASCII byte, however late it comes', () => {
    const ascii = 'id,name\n' + 'x,plain ascii\n'.repeat(20_000);
    const latin = Buffer.concat([Buffer.from(ascii), Buffer.from('y,Françoise\n', 'latin1')]);
    const { text, decoder } = decode(latin, 65_536);
    expect(text.endsWith('y,Françoise\n')).toBe(true);
    expect(decoder.report.encoding).toBe('windows-1252');
    expect(decoder.report.evidence).toMatch(new RegExp(`^not UTF-8 from byte ${ascii.length + 6}:`));

    const utf8 = Buffer.concat([Buffer.from(ascii), Buffer.from('y,Françoise\n', 'utf8')]);
    const u = decode(utf8, 65_536);
    expect(u.text.endsWith('y,Françoise\n')).toBe(true);
    expect(u.decoder.report).toMatchObject({ encoding: 'utf-8', evidence: `UTF-8 from byte ${ascii.length + 6}: 1 valid multi-byte sequence(s), 0 invalid one(s)` });
  });

  it('does not call a file UTF-8 on a lead byte cut off by the chunk end', () => {
    // "é" in windows-1252 is 0xE9 — also a UTF-8 lead byte: only what follows tells them apart.
    const bytes = Buffer.from('a,b\nRené,1\n', 'latin1');
    const { text, decoder } = decode(bytes, bytes.indexOf(0xe9) + 1);
    expect(text).toBe('a,b\nRené,1\n');
    expect(decoder.report.encoding).toBe('windows-1252');
  });

  it('reports ASCII-only files as UTF-8', () => {
    expect(decode(Buffer.from('a,b\n1,2\n')).decoder.report).toEqual({ encoding: 'utf-8', bom: false, evidence: 'ASCII only', invalidBytes: false });
  });

  it('keeps UTF-8 for a file with a damaged byte among valid sequences', () => {
    const bytes = Buffer.concat([Buffer.from('a,b\nzoë,1\nsøren,2\n'), Buffer.from([0x61, 0xff, 0x0a])]);
    const { text, decoder } = decode(bytes);
    expect(text).toBe('a,b\nzoë,1\nsøren,2\na\uFFFD\n');
    expect(decoder.report).toMatchObject({ encoding: 'utf-8', invalidBytes: true });
  });

  it('takes no accidental UTF-8 as evidence: an accented capital before a no-break space or ”, and C1 controls', () => {
    // windows-1252 bytes that happen to form valid UTF-8 pairs: É + NBSP is C9 A0 (U+0260 ɠ), É + ”
    // is C9 94 (U+0254 ɔ), Â + € is C2 80 (a C1 control). (É + ™, C9 99, is ə: evidence, below.)
    const latin = 'id,name\n1,RENÉ\u00a0DUPONT\n2,JOSÉ\u00a0ALVAREZ\n3,\u201cCAFÉ\u201d Ltd\n4,Â€\n';
    const { text, decoder } = decode(Buffer.from(latin.replace('\u201c', '\x93').replace('\u201d', '\x94').replace('€', '\x80'), 'latin1'));
    expect(decoder.report.encoding).toBe('windows-1252');
    expect(text).toBe(latin);
    expect(decoder.report.invalidBytes).toBe(false);
    // UTF-8 that holds such characters among others stays UTF-8.
    const utf8 = 'id,name\n1,ɠ Zoë\n2,\u0085 Søren\n';
    const mixed = decode(Buffer.from(utf8, 'utf8'));
    expect(mixed.text).toBe(utf8);
    expect(mixed.decoder.report.encoding).toBe('utf-8');
  });

  it('takes spacing modifier letters as UTF-8: an Uzbek or Hawaiian file whose only non-ASCII letter is ʻ (U+02BB)', () => {
    // Uzbek Latin is ASCII but for oʻ and gʻ; read as windows-1252 each ʻ (CA BB) became "Ê»" in silver.
    const uzbek = `id,name,city\n${Array.from({ length: 3000 }, (_, i) => `${i},Oʻktam Gʻulomov,Fargʻona`).join('\n')}\n`;
    for (const step of [1, 7, 4096]) {
      const { text, decoder } = decode(Buffer.from(uzbek, 'utf8'), step);
      expect(text, `pieces of ${step}`).toBe(uzbek);
      expect(decoder.report, `pieces of ${step}`).toMatchObject({ encoding: 'utf-8', invalidBytes: false });
    }
    for (const name of ['Keʻeaumoku', 'naʼo', 'ˈstres', 'aː']) expect(decode(Buffer.from(`id,name\n1,${name}\n`, 'utf8')).decoder.report.encoding, name).toBe('utf-8');
    // Joined onto a windows-1252 file, such a letter is UTF-8 read as windows-1252: its row is told so.
    expect(utf8Read('Oʻktam'.replace('ʻ', 'Ê»'))).toEqual({ shown: 'Ê»', meant: 'ʻ' });
  });

  it('takes ə (C9 99) as UTF-8: an Azerbaijani file whose only non-ASCII letter it is', () => {
    const azerbaijani = 'order_id,customer_name\nORD-1,Məmmədov\nORD-2,Həsənov\n';
    const { text, decoder } = decode(Buffer.from(azerbaijani, 'utf8'));
    expect(decoder.report.encoding).toBe('utf-8');
    expect(text).toBe(azerbaijani);
    // É before ” (C9 94) stays no evidence: a quoted “CAFÉ” in windows-1252.
    expect(decode(Buffer.from('id,name\n1,\x93CAFÉ\x94\n', 'latin1')).decoder.report.encoding).toBe('windows-1252');
  });

  it('keeps a windows-1252 Ë before a no-break space, ’ or » windows-1252 (CB A0, CB 92, CB BB are no evidence)', () => {
    const latin = 'id,name\n1,ZOË\u00a0DUPONT\n2,NOË’S\n3,«ZOË»\n';
    const { text, decoder } = decode(Buffer.from(latin.replace('’', '\x92'), 'latin1'));
    expect(decoder.report).toMatchObject({ encoding: 'windows-1252', invalidBytes: false });
    expect(decoder.report.utf8Inside).toBeUndefined();
    expect(text).toBe(latin);
    expect(utf8Read('ZOË\u00a0DUPONT, NOË’S, «ZOË»')).toBeUndefined();
    // ˈ ˌ ː (CB 88, CB 8C, CB 90) are letters of transcriptions: UTF-8.
    expect(decode(Buffer.from('id,name\n1,ˈstresː\n', 'utf8')).decoder.report.encoding).toBe('utf-8');
  });

  it('says when a windows-1252 file holds UTF-8 further on, however the stream is cut', () => {
    const latin = Buffer.from(`id,name\n${'x,Müller\n'.repeat(8000)}`, 'latin1');
    const joined = Buffer.concat([latin, Buffer.from('y,Müller\n', 'utf8')]);
    for (const step of [1, 2, 3, 4096, joined.length]) {
      const { text, decoder } = decode(joined, step);
      expect(decoder.report, `pieces of ${step}`).toMatchObject({ encoding: 'windows-1252', invalidBytes: false, utf8Inside: true });
      expect(text.endsWith('y,MÃ¼ller\n')).toBe(true);
    }
    expect(decode(latin, 7).decoder.report.utf8Inside).toBeUndefined();
    expect(utf8Read('y,MÃ¼ller â€™')).toEqual({ shown: 'Ã¼', meant: 'ü' });
    expect(utf8Read('RENÉ\u00a0DUPONT, \u201cCAFÉ\u201d, Â€')).toBeUndefined();
  });

  it('marks invalid bytes after the decision instead of failing the file', () => {
    // Decided on the first 4 KiB (valid UTF-8); a stray byte further on becomes U+FFFD.
    const head = `a,b\nzoë,1\n${'x,2\n'.repeat(2000)}`;
    const bytes = Buffer.concat([Buffer.from(head), Buffer.from([0x61, 0xff, 0x0a])]);
    const { text, decoder } = decode(bytes, 4096);
    expect(text).toBe(`${head}a\uFFFD\n`);
    expect(decoder.report).toMatchObject({ encoding: 'utf-8', invalidBytes: true });
  });

  it('decides on the same bytes however the stream is cut, and counts a damaged character once', () => {
    // ~4 KiB of ASCII, then one good "ë", a "€" cut short (E2 82) and a good "ü": UTF-8 with one
    // damaged character, which costs its row. Judged on the 64 KiB from the first non-ASCII byte,
    // not on what the first chunk happened to hold.
    const bytes = Buffer.concat([
      Buffer.from(`id,name\n${'x,plain ascii row\n'.repeat(240)}y,Zoë\n`),
      Buffer.from('z,Price '),
      Buffer.from([0xe2, 0x82]),
      Buffer.from(',2\nw,Müller\n'),
    ]);
    const first = bytes.indexOf(0xc3);
    for (const step of [1, 17, first + 3, first + 12, 4096, bytes.length]) {
      const { text, decoder } = decode(bytes, step);
      expect(decoder.report, `step ${step}`).toMatchObject({ encoding: 'utf-8', invalidBytes: true, evidence: `UTF-8 from byte ${first}: 2 valid multi-byte sequence(s), 1 invalid one(s)` });
      expect(text.endsWith('y,Zoë\nz,Price \uFFFD,2\nw,Müller\n'), `step ${step}`).toBe(true);
    }
  });

  it('keeps a U+FFFD the file itself holds as data, cut between chunks or not', () => {
    const own = Buffer.from(`a,b\nzoë,1\nx,a\uFFFDb\n${'y,2\n'.repeat(2000)}w,\uFFFD\n`);
    for (const step of [1, 2, 4096, own.length]) {
      const { text, decoder } = decode(own, step);
      expect(decoder.report.invalidBytes, `step ${step}`).toBe(false);
      expect(text, `step ${step}`).toBe(own.toString('utf8'));
      expect(decoder.report.invalidBytes, `step ${step}`).toBe(false);
    }
    // EF | BF | BD over three pieces, the middle one a byte, past the decision (64 KiB in).
    const long = Buffer.from(`a,b\nzoë,1\n${'y,2\n'.repeat(20_000)}w,\uFFFD\n`);
    const at = long.lastIndexOf(Buffer.from([0xef, 0xbf, 0xbd]));
    const pieces = new SniffingDecoder();
    const cuts = [long.subarray(0, at + 1), long.subarray(at + 1, at + 2), long.subarray(at + 2)];
    expect(cuts.map((c) => pieces.write(c)).join('') + pieces.end()).toBe(long.toString('utf8'));
    expect(pieces.report.invalidBytes).toBe(false);
    // Beside a byte that is invalid, the decoder's own U+FFFD still says so.
    const both = Buffer.concat([own, Buffer.from([0x61, 0xff, 0x0a])]);
    expect(decode(both, 4096).decoder.report.invalidBytes).toBe(true);
  });

  it('keeps a U+FFFD a UTF-16 file holds as data, and flags a lone surrogate, however the stream is cut', () => {
    const text = 'a,b\nx,\uFFFD\ny,z\uFFFD\n';
    for (const [encoding, bom] of [['utf16le', [0xff, 0xfe]], ['utf16be', [0xfe, 0xff]]] as const) {
      const units = Buffer.from(text, 'utf16le');
      if (encoding === 'utf16be') units.swap16();
      const file = Buffer.concat([Buffer.from(bom), units]);
      for (const step of [1, 2, 3, 5, file.length]) {
        const own = decode(file, step);
        expect(own.text, `${encoding} pieces of ${step}`).toBe(text);
        expect(own.decoder.report.invalidBytes, `${encoding} pieces of ${step}`).toBe(false);
      }
      // A lone high surrogate (D800) before the second row: the decoder's U+FFFD, beside the file's own.
      const lone = Buffer.from([0x00, 0xd8]);
      if (encoding === 'utf16be') lone.swap16();
      const damaged = Buffer.concat([Buffer.from(bom), units.subarray(0, 16), lone, units.subarray(16)]);
      for (const step of [1, 3, damaged.length]) expect(decode(damaged, step).decoder.report.invalidBytes, `${encoding} damaged, pieces of ${step}`).toBe(true);
    }
  });

  it('maps all of windows-1252 0x80–0x9F as WHATWG does (not as Latin-1)', () => {
    const bytes = Buffer.from(Array.from({ length: 32 }, (_, i) => 0x80 + i));
    const { text } = decode(Buffer.concat([Buffer.from('a\n'), bytes, Buffer.from([0xe9, 0x0a])]));
    expect(text).toBe('a\n€\u0081‚ƒ„…†‡ˆ‰Š‹Œ\u008DŽ\u008F\u0090‘’“”•–—˜™š›œ\u009DžŸé\n');
  });

  it('gives an empty file no text and no complaint (the header check reports it)', () => {
    const { text, decoder } = decode(Buffer.alloc(0));
    expect(text).toBe('');
    expect(decoder.bytesIn).toBe(0);
  });

  it.each([
    ['gzip', Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0x00])],
    ['zip', Buffer.from('PK\x03\x04rest', 'latin1')],
    ['PDF', Buffer.from('%PDF-1.7\n')],
    ['Parquet', Buffer.from('PAR1....')],
  ])('refuses a %s file by its signature', (name, bytes) => {
    expect(() => decode(bytes)).toThrow(FileRejection);
    expect(() => decode(bytes)).toThrow(new RegExp(name.slice(0, 3), 'i'));
  });

  it('refuses NUL bytes and hints at UTF-16 without a BOM', () => {
    const noBom = Buffer.from('order_id,amount\nORD-1,1\n', 'utf16le');
    expect(() => decode(noBom)).toThrow(/NUL byte.*UTF-16 without a byte-order mark/);
    expect(() => decode(Buffer.from('a,b\n1,\x002\n'))).toThrow(/1 NUL byte/);
  });

  it('refuses text that is mostly control characters, and UTF-32', () => {
    const junk = Buffer.alloc(2000);
    for (let i = 0; i < junk.length; i++) junk[i] = 1 + (i % 7);
    expect(() => decode(junk)).toThrow(/control characters/);
    expect(() => decode(Buffer.from([0xff, 0xfe, 0x00, 0x00, 0x61, 0, 0, 0]))).toThrow(/UTF-32/);
    try {
      decode(junk);
    } catch (e) {
      expect((e as FileRejection).reason).toBe('binary');
    }
  });
});
