import { closeSync, mkdtempSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A record whose id the filter had (maybe) seen: held back until the end of the file. */
export interface DeferredRecord {
  line: number;
  id: string;
  raw: string[];
  /** The silver line if the record is otherwise valid, null if it is rejected anyway. */
  silver: string | null;
  reasons: string[];
}

export interface DuplicateDetectorOptions {
  /** Rows the file probably holds: sizes the filter (it stays exact with more, just slower). */
  expectedRows: number;
  /** Where the spill files go (Lambda: /tmp); removed by close(). */
  tmpRoot?: string;
}

const BITS_PER_ID = 12;
const PROBES = 8;
const MAX_FILTER_BYTES = 64 * 1024 * 1024;
/** Write buffers (and read chunks) of the spill files. */
const BUFFER_BYTES = 1 << 18;
const NEEDS_ESCAPE = /[\n\r"\\]/;

/**
 * "order_id is unique within the file", exactly, in bounded memory, for files of any size.
 *
 * A Set of every id would cost ~60 bytes per row (600 MB for a 1 GB file); even 64-bit
 * fingerprints cost 8–10 bytes per row and are only probably right. Instead:
 *
 * 1. A blocked Bloom filter (12 bits per expected row, one cache line per lookup, well under 1 %
 *    false positives) answers "certainly new" for almost every id, and the record goes out at once.
 * 2. Every id is spilled to disk: its text to one file, its 32-bit hash and line to another. The
 *    few records the filter flags are held back in a third, with their silver line or reasons,
 *    instead of being decided.
 * 3. At the end of the file one sequential pass over the spill finds the first line of each
 *    flagged id — comparing hashes, and reading an id's text only when its hash is a flagged one's
 *    — which settles every held-back record: a duplicate of an earlier line, or a false alarm that
 *    goes to silver after all (after the other rows: silver keeps file order except for these).
 *
 * Memory: the filter (1.5 bytes per row, capped at 64 MiB) plus the flagged ids. Disk: the id's
 * length + 9 bytes per row. Writes and reads are synchronous, 256 KiB at a time: /tmp is a local
 * disk, and blocking a fraction of a millisecond per write is simpler than pacing more streams.
 */
export class DuplicateDetector {
  readonly #bits: Uint32Array;
  readonly #blocks: number;
  readonly #dir: string;
  readonly #ids: Spill;
  readonly #hashes: Spill;
  readonly #deferredFile: Spill;
  /** Per record: [hash, line]. */
  readonly #hashBuffer = new Uint32Array(BUFFER_BYTES / 4);
  #hashUsed = 0;
  /** Flagged id → first line seen (0 until resolve() scans the spill). */
  readonly #flagged = new Map<string, number>();
  readonly #flaggedHashes = new Set<number>();
  #deferred = 0;

  constructor(options: DuplicateDetectorOptions) {
    const bytes = Math.min(MAX_FILTER_BYTES, Math.max(64, Math.ceil((Math.max(1, options.expectedRows) * BITS_PER_ID) / 8)));
    this.#blocks = Math.ceil(bytes / 64);
    this.#bits = new Uint32Array(this.#blocks * 16);
    this.#dir = mkdtempSync(join(options.tmpRoot ?? tmpdir(), 'csv-validator-'));
    this.#ids = new Spill(join(this.#dir, 'ids'));
    this.#hashes = new Spill(join(this.#dir, 'hashes'));
    this.#deferredFile = new Spill(join(this.#dir, 'deferred'));
  }

  /** Bytes held by the filter. */
  get filterBytes(): number {
    return this.#bits.byteLength;
  }

  get deferredCount(): number {
    return this.#deferred;
  }

  /**
   * Records `id` as seen on `line` (lines must increase). True: the id may have been seen before,
   * so the record must be deferred, not decided.
   */
  add(id: string, line: number): boolean {
    // The id goes into the spill's buffer as it is hashed, when it is plain ASCII (nearly always);
    // others are written after the loop, escaped if they must be.
    const n = id.length;
    const ids = this.#ids;
    let p = n < BUFFER_BYTES / 3 ? ids.reserve(n + 1) : -1;
    const out = ids.buffer;
    // Two 32-bit hashes in one pass (FNV-1a and a multiply-xorshift), each finished with
    // murmur3's fmix32.
    let a = 0x811c9dc5;
    let b = 0x9747b28c ^ n;
    for (let i = 0; i < n; i++) {
      const c = id.charCodeAt(i);
      a = Math.imul(a ^ c, 0x01000193);
      b = Math.imul(b ^ c, 0x5bd1e995);
      b ^= b >>> 13;
      if (p < 0) continue;
      if (c < 0x80 && c !== 0x0a && c !== 0x0d && c !== 0x22 && c !== 0x5c) out[p++] = c;
      else p = -1;
    }
    a = fmix32(a);
    b = fmix32(b);
    if (p >= 0) {
      out[p++] = 0x0a;
      ids.commit(p);
    } else {
      // Ids with a line break, quote or backslash are written as JSON strings (rare: a valid order
      // id has none, and an invalid one is rejected anyway — but it is still a duplicate).
      ids.appendText(`${NEEDS_ESCAPE.test(id) ? JSON.stringify(id) : id}\n`);
    }

    this.#hashBuffer[this.#hashUsed++] = a;
    this.#hashBuffer[this.#hashUsed++] = line;
    if (this.#hashUsed === this.#hashBuffer.length) this.#commitHashes();

    // The block from a's high bits (exact: blocks < 2^21), probe positions by double hashing
    // inside the block's 512 bits with an odd step, so the PROBES positions are distinct.
    const base = Math.floor(((a >>> 0) * this.#blocks) / 4294967296) * 16;
    const step = (b >>> 16) | 1;
    let position = b & 511;
    let seen = true;
    for (let j = 0; j < PROBES; j++) {
      const word = base + (position >>> 5);
      const mask = 1 << (position & 31);
      const bits = this.#bits[word] as number;
      if ((bits & mask) === 0) {
        seen = false;
        this.#bits[word] = bits | mask;
      }
      position = (position + step) & 511;
    }
    if (seen) {
      // A copy: the parser's id is a slice of its whole chunk of text, which the map would keep alive.
      this.#flagged.set(` ${id}`.slice(1), 0);
      this.#flaggedHashes.add(a >>> 0);
    }
    return seen;
  }

  defer(record: DeferredRecord): void {
    this.#deferred++;
    this.#deferredFile.appendText(`${JSON.stringify(record)}\n`);
  }

  /**
   * The deferred records in file order, each with the line its id first appeared on if that is
   * earlier than its own (a duplicate), else undefined (a false alarm of the filter).
   */
  *resolve(): Generator<{ record: DeferredRecord; duplicateOf: number | undefined }> {
    if (this.#deferred === 0) return;
    this.#commitHashes();
    // One reading buffer per file, reused chunk after chunk: fresh ones would pile up as garbage
    // outside V8's heap (up to its external-memory limit, tens of MB) before a GC frees them.
    const ids = this.#ids.lines();
    const hashes = this.#hashes.open();
    try {
      const words = new Uint32Array(BUFFER_BYTES / 4);
      const bytes = Buffer.from(words.buffer);
      for (;;) {
        const n = hashes.read(bytes);
        if (n === 0) break;
        for (let i = 0; i < n / 4; i += 2) {
          if (!ids.next()) throw new Error('duplicate check: the id spill is shorter than the hash spill');
          // An id's text is decoded only when its hash is a flagged one's.
          if (!this.#flaggedHashes.has(words[i] as number)) continue;
          const text = ids.text();
          const id = text.startsWith('"') ? (JSON.parse(text) as string) : text;
          if (this.#flagged.get(id) === 0) this.#flagged.set(id, words[i + 1] as number);
        }
      }
    } finally {
      ids.close();
      hashes.close();
    }
    const deferred = this.#deferredFile.lines();
    try {
      while (deferred.next()) {
        const record = JSON.parse(deferred.text()) as DeferredRecord;
        const first = this.#flagged.get(record.id) ?? 0;
        yield { record, duplicateOf: first > 0 && first < record.line ? first : undefined };
      }
    } finally {
      deferred.close();
    }
  }

  close(): void {
    this.#ids.close();
    this.#hashes.close();
    this.#deferredFile.close();
    rmSync(this.#dir, { recursive: true, force: true });
  }

  #commitHashes(): void {
    if (this.#hashUsed === 0) return;
    this.#hashes.append(Buffer.from(this.#hashBuffer.buffer, 0, this.#hashUsed * 4));
    this.#hashUsed = 0;
  }
}

function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

/** An append-only file behind a write buffer, read back through SpillFile or SpillLines. */
class Spill {
  #fd: number | undefined;
  readonly #buffer = Buffer.allocUnsafe(BUFFER_BYTES);
  #used = 0;

  constructor(readonly path: string) {}

  append(data: Buffer): void {
    if (this.#used + data.length > BUFFER_BYTES) this.#flush();
    if (data.length > BUFFER_BYTES) this.#write(data);
    else this.#used += data.copy(this.#buffer, this.#used);
  }

  /** The write buffer, for callers that write into it directly: reserve(), write, commit(). */
  get buffer(): Buffer {
    return this.#buffer;
  }

  /** Room for `n` ≤ BUFFER_BYTES more bytes (flushing first if needed); returns where they go. */
  reserve(n: number): number {
    if (this.#used + n > BUFFER_BYTES) this.#flush();
    return this.#used;
  }

  /** The bytes up to `end` are written. */
  commit(end: number): void {
    this.#used = end;
  }

  /** Text as UTF-8, straight into the buffer when it surely fits (no Buffer in between). */
  appendText(text: string): void {
    if (this.#used + text.length * 3 > BUFFER_BYTES) this.#flush();
    if (text.length * 3 > BUFFER_BYTES) this.append(Buffer.from(text, 'utf8'));
    else this.#used += this.#buffer.write(text, this.#used, 'utf8');
  }

  /** The file for reading, from the start. */
  open(): SpillFile {
    this.#flush();
    return new SpillFile(this.#fd === undefined ? undefined : openSync(this.path, 'r'));
  }

  lines(): SpillLines {
    return new SpillLines(this.open());
  }

  close(): void {
    if (this.#fd !== undefined) closeSync(this.#fd);
    this.#fd = undefined;
    this.#used = 0;
  }

  #flush(): void {
    if (this.#used === 0) return;
    this.#write(this.#buffer.subarray(0, this.#used));
    this.#used = 0;
  }

  #write(data: Buffer): void {
    this.#fd ??= openSync(this.path, 'w');
    let offset = 0;
    while (offset < data.length) offset += writeSync(this.#fd, data, offset);
  }
}

/** A spill file opened for reading (no descriptor: nothing was ever written). */
class SpillFile {
  constructor(readonly fd: number | undefined) {}

  /** Fills `into` from the file; a multiple of 8 bytes unless the file ends; 0 at its end. */
  read(into: Buffer): number {
    if (this.fd === undefined) return 0;
    let n = 0;
    while (n < into.length) {
      const got = readSync(this.fd, into, n, into.length - n, null);
      if (got === 0) break;
      n += got;
    }
    return n;
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
  }
}

/** A spill file's lines, read through one buffer (grown only for a line longer than it). */
class SpillLines {
  readonly #file: SpillFile;
  #buffer = Buffer.allocUnsafe(BUFFER_BYTES);
  /** The buffer up to the end of what was read: indexOf never looks at stale bytes past it. */
  #filled = this.#buffer.subarray(0, 0);
  #start = 0;
  #lineStart = 0;
  #lineEnd = 0;
  #eof = false;

  constructor(file: SpillFile) {
    this.#file = file;
  }

  /** Moves to the next line; false at the end of the file. */
  next(): boolean {
    for (;;) {
      const newline = this.#filled.indexOf(10, this.#start);
      if (newline !== -1) {
        this.#lineStart = this.#start;
        this.#lineEnd = newline;
        this.#start = newline + 1;
        return true;
      }
      if (this.#eof) return false;
      this.#refill();
    }
  }

  /** The current line, decoded. */
  text(): string {
    return this.#filled.toString('utf8', this.#lineStart, this.#lineEnd);
  }

  close(): void {
    this.#file.close();
  }

  #refill(): void {
    const rest = this.#filled.length - this.#start;
    if (rest === this.#buffer.length) {
      // A line longer than the buffer (a junk id of a huge record).
      const grown = Buffer.allocUnsafe(this.#buffer.length * 2);
      this.#buffer.copy(grown, 0, this.#start, this.#filled.length);
      this.#buffer = grown;
    } else {
      this.#buffer.copyWithin(0, this.#start, this.#filled.length);
    }
    this.#start = 0;
    const n = this.#file.read(this.#buffer.subarray(rest));
    if (n === 0) this.#eof = true;
    this.#filled = this.#buffer.subarray(0, rest + n);
  }
}
