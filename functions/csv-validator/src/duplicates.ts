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
const BUFFER_BYTES = 1 << 20;
/** Ids are joined and copied to the spill's buffer this many at a time. */
const ID_BATCH = 1024;
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
 * length + 9 bytes per row. Writes and reads are synchronous, 1 MiB at a time: /tmp is a local
 * disk, and blocking a millisecond per MiB is simpler than pacing more streams.
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
  #batch: string[] = [];
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
    // Two 32-bit hashes in one pass (FNV-1a and a multiply-xorshift), each finished with
    // murmur3's fmix32.
    let a = 0x811c9dc5;
    let b = 0x9747b28c ^ id.length;
    for (let i = 0; i < id.length; i++) {
      const c = id.charCodeAt(i);
      a = Math.imul(a ^ c, 0x01000193);
      b = Math.imul(b ^ c, 0x5bd1e995);
      b ^= b >>> 13;
    }
    a = fmix32(a);
    b = fmix32(b);

    this.#batch.push(id);
    if (this.#batch.length === ID_BATCH) this.#commitIds();
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
    this.#deferredFile.append(Buffer.from(`${JSON.stringify(record)}\n`));
  }

  /**
   * The deferred records in file order, each with the line its id first appeared on if that is
   * earlier than its own (a duplicate), else undefined (a false alarm of the filter).
   */
  *resolve(): Generator<{ record: DeferredRecord; duplicateOf: number | undefined }> {
    if (this.#deferred === 0) return;
    this.#commitIds();
    this.#commitHashes();
    const ids = this.#ids.chunks();
    let text = Buffer.alloc(0);
    let position = 0;
    /** The next id's line in the ids file: its bytes, without decoding unless asked to. */
    const nextId = (decode: boolean): string | undefined => {
      for (;;) {
        const end = text.indexOf(10, position);
        if (end !== -1) {
          const id = decode ? text.toString('utf8', position, end) : undefined;
          position = end + 1;
          return id === undefined ? undefined : id.startsWith('"') ? (JSON.parse(id) as string) : id;
        }
        const next = ids.next();
        if (next.done) throw new Error('duplicate check: the id spill is shorter than the hash spill');
        text = Buffer.concat([text.subarray(position), next.value]);
        position = 0;
      }
    };
    for (const chunk of this.#hashes.chunks()) {
      const words = new Uint32Array(chunk.buffer, chunk.byteOffset, chunk.byteLength / 4);
      for (let i = 0; i < words.length; i += 2) {
        const candidate = this.#flaggedHashes.has(words[i] as number);
        const id = nextId(candidate);
        if (id !== undefined && this.#flagged.get(id) === 0) this.#flagged.set(id, words[i + 1] as number);
      }
    }
    let carry = '';
    for (const chunk of this.#deferredFile.chunks()) {
      const lines = (carry + chunk.toString('utf8')).split('\n');
      carry = lines.pop() as string;
      for (const line of lines) {
        const record = JSON.parse(line) as DeferredRecord;
        const first = this.#flagged.get(record.id) ?? 0;
        yield { record, duplicateOf: first > 0 && first < record.line ? first : undefined };
      }
    }
  }

  close(): void {
    this.#ids.close();
    this.#hashes.close();
    this.#deferredFile.close();
    rmSync(this.#dir, { recursive: true, force: true });
  }

  #commitIds(): void {
    if (this.#batch.length === 0) return;
    let text = `${this.#batch.join('\n')}\n`;
    // Ids with a line break, quote or backslash are written as JSON strings (rare: a valid
    // order id has none, and an invalid one is rejected anyway — but it is still a duplicate).
    if (NEEDS_ESCAPE.test(text.slice(0, -1))) {
      text = `${this.#batch.map((id) => (NEEDS_ESCAPE.test(id) || id.startsWith('"') ? JSON.stringify(id) : id)).join('\n')}\n`;
    }
    this.#batch = [];
    this.#ids.append(Buffer.from(text, 'utf8'));
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

/** An append-only file behind a 1 MiB buffer, read back in chunks. */
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

  *chunks(): Generator<Buffer> {
    this.#flush();
    if (this.#fd === undefined) return;
    const fd = openSync(this.path, 'r');
    try {
      for (;;) {
        // A fresh buffer per chunk: callers may keep a view of it while reading the next.
        const chunk = Buffer.allocUnsafe(BUFFER_BYTES);
        const n = readSync(fd, chunk, 0, BUFFER_BYTES, null);
        if (n === 0) break;
        yield chunk.subarray(0, n);
      }
    } finally {
      closeSync(fd);
    }
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
