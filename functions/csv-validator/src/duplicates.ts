import { randomBytes } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readdirSync, readSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { TimeSlices } from './time-slices.ts';

/** What each detector's spill folder is named: this, then mkdtemp's six characters. */
const SPILL_FOLDER = 'csv-validator-';

/**
 * Removes the spill folders an earlier process left in `root` and returns their names. A crash
 * (out of memory, Lambda's timeout) skips close(), and the environment's /tmp outlives the process
 * Lambda starts again in it: each crash on a large file would leave up to gigabytes that the retry,
 * often in that same environment, then lacks. Only for a root that is one environment's own
 * (Lambda's /tmp, the local runner's TMPDIR for each environment), where one process runs at a
 * time: in a shared one, another process's live spill would be taken from under it.
 */
export function removeLeftSpills(root: string = tmpdir()): string[] {
  const left = readdirSync(root, { withFileTypes: true }).filter((e) => e.isDirectory() && e.name.startsWith(SPILL_FOLDER) && e.name.length === SPILL_FOLDER.length + 6);
  for (const e of left) rmSync(join(root, e.name), { recursive: true, force: true });
  return left.map((e) => e.name);
}

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
  /** Bytes of memory the end-of-file settling may hold at once (default 8 MiB). */
  settleBudgetBytes?: number;
}

const BITS_PER_ID = 12;
const PROBES = 8;
/**
 * 16 MiB: 12 bits for each of 11M rows (a ~1.1 GB file). Past that the filter flags more rows (~6 %
 * at 2 GB), which wait on disk: never more memory. (12 MiB measured no lower a peak at 2 GB — the
 * held-back rows' garbage made up for it — and 15 % slower.)
 */
export const MAX_FILTER_BYTES = 16 * 1024 * 1024;
const SETTLE_BUDGET_BYTES = 8 * 1024 * 1024;
/**
 * What one distinct id costs in a Map while settling: the string, the entry, the number. Measured
 * ~68 bytes for a 14-character id decoded on its own (readEntries); this errs high.
 */
const MAP_ENTRY_BYTES = 80;
/** Partitions per level when the flagged ids do not fit the budget at once. */
const FAN_OUT = 16;
/** Levels of partitioning: 16^6 partitions, far past what a file on Lambda's 10 GB of /tmp can need. */
const MAX_DEPTH = 6;
/** Words per row in the hash spill: hash, line, bytes of the row's id line. */
const ROW_WORDS = 3;
/** Write buffers (and read chunks) of the spill files. */
const BUFFER_BYTES = 1 << 18;
/** The partition files' buffers: FAN_OUT of them are open at once. */
const PARTITION_BUFFER_BYTES = 1 << 16;
/**
 * The window through which settling reads the flagged rows' ids: ~4,000 ids of ~16 bytes, so a
 * file's flagged ids (~0.5 % of its rows, plus its duplicates) cost a read per window at most.
 */
const WINDOW_BYTES = 1 << 16;
const NEEDS_ESCAPE = /[\n\r"\\]/;
/** Loop iterations of settling between two looks at the clock (see settle()). */
const STEP_ITERATIONS = 4096;

/**
 * "order_id is unique within the file", exactly, in bounded memory, for files of any size.
 *
 * A Set of every id would cost ~60 bytes per row (600 MB for a 1 GB file); even 64-bit
 * fingerprints cost 8–10 bytes per row and are only probably right. Instead:
 *
 * 1. A blocked Bloom filter (12 bits per expected row, one cache line per lookup, well under 1 %
 *    false positives) answers "certainly new" for almost every id, and the record goes out at once.
 * 2. Every id is spilled to disk: its text to one file, its 32-bit hash, line and length to
 *    another. The records the filter flags are held back in a third, with their silver line or
 *    reasons, and their ids, hashed, in a fourth — all that settling reads — instead of being
 *    decided.
 * 3. At the end of the file the held-back records are settled: for each flagged id, the first line
 *    it appears on, found by a join of the flagged ids with every row's (hash, line, id). When the
 *    flagged ids fit the settling budget (8 MiB: ~100k distinct ids) it is one sequential pass
 *    over the hashes, reading an id's text (at the offset its predecessors' lengths add up to)
 *    only when its hash is a flagged one's. Past that — a
 *    file far beyond the filter's size, or one with millions of repeated ids — both sides are
 *    partitioned on disk by hash, 16 ways per level, until each partition fits, and the verdicts
 *    are written to a file by record number. Then every held-back record comes out in file order:
 *    a duplicate of an earlier line, or a false alarm that goes to silver after all (after the
 *    other rows: silver keeps file order except for these).
 *
 * Memory: the filter (1.5 bytes per expected row, at most 16 MiB, kept for the next detector) plus
 * the settling budget (8 MiB), whatever the file. Disk: the id's length + 13 bytes per row, plus
 * the held-back records. Writes and reads are synchronous, 256 KiB at a time: /tmp is a local
 * disk, and blocking a fraction of a millisecond per write is simpler than pacing more streams.
 */
export class DuplicateDetector {
  /** The filter's words: a view of #filter, which may be larger (reused from an earlier detector). */
  #bits: Uint32Array;
  #filter: Uint32Array | undefined;
  readonly #blocks: number;
  readonly #dir: string;
  readonly #budget: number;
  readonly #ids: Spill;
  readonly #hashes: Spill;
  readonly #deferredFile: Spill;
  /** The held-back records' ids as entries (record index, hash, id): what settling reads. */
  #flagged: Spill | undefined;
  /** Per row: [hash, line, bytes of its id line]. */
  readonly #hashBuffer = new Uint32Array(ROW_WORDS * Math.floor(BUFFER_BYTES / 4 / ROW_WORDS));
  #hashUsed = 0;
  #deferred = 0;
  /** What settle() worked out, for resolve() to read back. */
  #settled: Settled | undefined;
  /** Settling's loop iterations, counted for its pauses (#step). */
  #steps = 0;
  /** FNV-1a's starting state, random per detector (see idHash). */
  readonly #seed = randomBytes(4).readUInt32LE(0);
  readonly #seed2 = randomBytes(4).readUInt32LE(0);
  /** Partition files not yet removed: close() removes them whatever happened. */
  readonly #partitions = new Set<Spill>();
  /** What the held-back records' ids would cost in a Map, were they all distinct. */
  #deferredIdBytes = 0;
  #files = 0;
  /**
   * Filter lookups queued by queue(), answered together by probeQueued(): each id's block (as a
   * word index) and probe hash. Sized by the largest batch seen (a few KiB).
   */
  #queuedBlocks = new Int32Array(1024);
  #queuedProbes = new Int32Array(1024);
  #queued = 0;
  /** probeQueued()'s answers (the queue's capacity). */
  #seen = new Uint8Array(1024);
  // biome-ignore lint/correctness/noUnusedPrivateClassMembers: a sink, never read: the touching pass's loads land here so that the compiler cannot drop them as unused.
  #touched = 0;

  constructor(options: DuplicateDetectorOptions) {
    const bytes = Math.min(MAX_FILTER_BYTES, Math.max(64, Math.ceil((Math.max(1, options.expectedRows) * BITS_PER_ID) / 8)));
    this.#blocks = Math.ceil(bytes / 64);
    const words = this.#blocks * 16;
    // The last detector's filter, cleared, when it is large enough: a warm invocation would
    // otherwise allocate a second one (up to 16 MiB) while the first still waits for a GC.
    const spare = spareFilter;
    if (spare && spare.length >= words) {
      spareFilter = undefined;
      this.#filter = spare;
      this.#bits = spare.subarray(0, words);
      this.#bits.fill(0);
    } else {
      // A spare too small for this file is let go now, not when this detector closes (its larger
      // filter then becomes the spare): held, it would sit beside this one for the whole run.
      spareFilter = undefined;
      this.#filter = new Uint32Array(words);
      this.#bits = this.#filter;
    }
    this.#budget = options.settleBudgetBytes ?? SETTLE_BUDGET_BYTES;
    this.#dir = mkdtempSync(join(options.tmpRoot ?? tmpdir(), SPILL_FOLDER));
    this.#ids = new Spill(join(this.#dir, 'ids'));
    this.#hashes = new Spill(join(this.#dir, 'hashes'));
    this.#deferredFile = new Spill(join(this.#dir, 'deferred'));
  }

  /** Bytes held by the filter. */
  get filterBytes(): number {
    return this.#bits.byteLength;
  }

  /** Bytes of memory behind the filter: more than filterBytes when it reuses a larger one. */
  get filterMemoryBytes(): number {
    return this.#filter?.byteLength ?? 0;
  }

  get deferredCount(): number {
    return this.#deferred;
  }

  /**
   * Records `id` as seen on `line` (lines must increase). True: the id may have been seen before,
   * so the record must be deferred, not decided. (One id at a time: a batch goes faster through
   * queue() and probeQueued().)
   */
  add(id: string, line: number): boolean {
    // Answers would come back for the ids queued before this one, and be lost.
    if (this.#queued !== 0) throw new Error('duplicate check: add() while ids are queued — call probeQueued() first');
    this.queue(id, line);
    return this.probeQueued()[0] === 1;
  }

  /**
   * Records `id` as seen on `line` (lines must increase), and queues its filter lookup for
   * probeQueued(), which answers for every id queued since the last call, in order.
   */
  queue(id: string, line: number): void {
    // The id goes into the spill's buffer as it is hashed, when it is plain ASCII (nearly always);
    // others are written after the loop, escaped if they must be.
    const n = id.length;
    const ids = this.#ids;
    const start = n < BUFFER_BYTES / 3 ? ids.reserve(n + 1) : -1;
    let p = start;
    const out = ids.buffer;
    // Two seeded 32-bit hashes in one pass (the first is the one idHash() computes), each
    // finished with murmur3's fmix32.
    let a = this.#seed;
    let b = this.#seed2 ^ n;
    for (let i = 0; i < n; i++) {
      const c = id.charCodeAt(i);
      a = Math.imul(a ^ c, 0x01000193);
      a ^= a >>> 15;
      b = Math.imul(b ^ c, 0x5bd1e995);
      b ^= b >>> 13;
      if (p < 0) continue;
      if (c < 0x80 && c !== 0x0a && c !== 0x0d && c !== 0x22 && c !== 0x5c) out[p++] = c;
      else p = -1;
    }
    a = fmix32(a);
    b = fmix32(b);
    let idBytes: number;
    if (p >= 0) {
      out[p++] = 0x0a;
      ids.commit(p);
      idBytes = p - start;
    } else {
      // Ids with a line break, quote or backslash are written as JSON strings (rare: a valid order
      // id has none, and an invalid one is rejected anyway — but it is still a duplicate).
      idBytes = ids.appendText(`${idLine(id)}\n`);
    }

    this.#hashBuffer[this.#hashUsed++] = a;
    this.#hashBuffer[this.#hashUsed++] = line;
    this.#hashBuffer[this.#hashUsed++] = idBytes;
    if (this.#hashUsed === this.#hashBuffer.length) this.#commitHashes();

    // The block from a's high bits (exact: blocks < 2^21); b places the probes inside it.
    if (this.#queued === this.#seen.length) this.#growQueue();
    this.#queuedBlocks[this.#queued] = Math.floor(((a >>> 0) * this.#blocks) / 4294967296) * 16;
    this.#queuedProbes[this.#queued++] = b;
  }

  /**
   * The filter's answers for the ids queued since the last call, in order: 1 where the id may have
   * been seen before (its record must be deferred, not decided), else 0. Valid until the next queue().
   */
  probeQueued(): Uint8Array {
    const n = this.#queued;
    const bits = this.#bits;
    const blocks = this.#queuedBlocks;
    const probes = this.#queuedProbes;
    const seen = this.#seen;
    // Why two passes: each id's block is a cache (and TLB) miss once the filter outgrows the
    // cache, and between two rows' lookups lies a row's parsing, which no miss overlaps. One load
    // per block in a loop of nothing else keeps several misses in flight (JavaScript has no
    // prefetch instruction); the probes then hit.
    // Both ends of the block: the filter's memory need not start on a cache line (an mmap'd
    // allocation starts 16 bytes in), so a 64-byte block may span two.
    let touched = 0;
    for (let k = 0; k < n; k++) {
      const base = blocks[k] as number;
      touched ^= (bits[base] as number) ^ (bits[base + 15] as number);
    }
    this.#touched = touched;
    for (let k = 0; k < n; k++) {
      const base = blocks[k] as number;
      const b = probes[k] as number;
      // Double hashing inside the block's 512 bits with an odd step: the PROBES positions are
      // distinct. Branch-free: whether a bit was set is as unpredictable as a coin.
      const step = (b >>> 16) | 1;
      let position = b & 511;
      let missing = 0;
      for (let j = 0; j < PROBES; j++) {
        const word = base + (position >>> 5);
        const mask = 1 << (position & 31);
        const value = bits[word] as number;
        missing |= ~value & mask;
        bits[word] = value | mask;
        position = (position + step) & 511;
      }
      seen[k] = missing === 0 ? 1 : 0;
    }
    this.#queued = 0;
    return seen.subarray(0, n);
  }

  #growQueue(): void {
    const size = this.#seen.length * 2;
    const blocks = new Int32Array(size);
    blocks.set(this.#queuedBlocks);
    this.#queuedBlocks = blocks;
    const probes = new Int32Array(size);
    probes.set(this.#queuedProbes);
    this.#queuedProbes = probes;
    this.#seen = new Uint8Array(size);
  }

  defer(record: DeferredRecord): void {
    this.#flagged ??= this.#partitionFile('d');
    appendEntry(this.#flagged, this.#deferred, idHash(record.id, this.#seed), record.id);
    this.#deferred++;
    this.#deferredIdBytes += mapBytes(record.id);
    this.#deferredFile.appendText(heldBackLine(record));
  }

  /**
   * Settles the held-back ids, for resolve() to read back: the same work resolve() does on its own
   * when not called first, but it gives the event loop a turn every 20 ms and calls `between()`
   * there (a deadline check, say). Why: settling millions of held-back rows — a file concatenated
   * with itself — is tens of seconds of synchronous work, during which no timer would fire: not
   * the claim's renewals (claim-lease.ts), whose lease would lapse under a live invocation, nor the
   * deadline's abort.
   */
  async settle(between: () => void = () => undefined): Promise<void> {
    if (this.#deferred === 0 || this.#settled) return;
    const steps = this.#settleSteps();
    try {
      const slices = new TimeSlices();
      for (;;) {
        const step = steps.next();
        if (step.done) {
          this.#settled = step.value;
          return;
        }
        if (slices.due) {
          await slices.turn();
          between();
        }
      }
    } finally {
      // Stopped part way (between() threw): the steps' own cleanup runs.
      steps.return(undefined as never);
    }
  }

  /**
   * The deferred records in file order, each with the line its id first appeared on if that is
   * earlier than its own (a duplicate), else undefined (a false alarm of the filter).
   */
  *resolve(): Generator<{ record: DeferredRecord; duplicateOf: number | undefined }> {
    if (this.#deferred === 0) return;
    let settled = this.#settled;
    if (!settled) {
      const steps = this.#settleSteps();
      let step = steps.next();
      while (!step.done) step = steps.next();
      settled = step.value;
    }
    this.#settled = undefined;
    let deferred: SpillLines | undefined;
    try {
      deferred = this.#deferredFile.lines();
      while (deferred.next()) {
        const record = readHeldBack(deferred.text());
        const first = settled.firstLine(record);
        yield { record, duplicateOf: first > 0 && first < record.line ? first : undefined };
      }
    } finally {
      deferred?.close();
      settled.close();
    }
  }

  /** Settling, as steps: it yields every STEP_ITERATIONS iterations of its loops (#step). */
  *#settleSteps(): Generator<void, Settled> {
    this.#commitHashes();
    return this.#deferredIdBytes <= this.#budget ? yield* this.#settleInMemory() : yield* this.#settlePartitioned();
  }

  /** True every STEP_ITERATIONS calls: where settling's loops yield. */
  #step(): boolean {
    return ++this.#steps % STEP_ITERATIONS === 0;
  }

  close(): void {
    if (this.#filter && (!spareFilter || spareFilter.length < this.#filter.length)) spareFilter = this.#filter;
    this.#filter = undefined;
    this.#bits = new Uint32Array(0);
    this.#ids.close();
    this.#hashes.close();
    this.#deferredFile.close();
    // A settling that failed (a full disk, say) leaves partitions open: a deleted file keeps its
    // blocks while a descriptor holds it, and a warm environment would keep /tmp full.
    for (const file of [...this.#partitions]) file.remove();
    rmSync(this.#dir, { recursive: true, force: true });
  }

  /** The held-back ids fit the budget: one Map, one pass over the spill. */
  *#settleInMemory(): Generator<void, Settled> {
    const flagged = new Map<string, number>();
    // The flagged hashes, sorted: 4 bytes each, where a Set of numbers costs ~40 (most 32-bit
    // hashes are no small integers to V8, so each would be a heap number of its own).
    const flaggedHashes = new Uint32Array(this.#deferred);
    const screen = new HashScreen();
    let n = 0;
    for (const { hash, id } of readEntries(this.#flagged as Spill)) {
      flagged.set(id, 0);
      flaggedHashes[n++] = hash;
      screen.add(hash);
      if (this.#step()) yield;
    }
    flaggedHashes.sort();
    // Few rows share a flagged id's hash: each one's id is read on its own, the rest skipped unread.
    for (const row of this.#rows((hash) => screen.has(hash) && sortedHas(flaggedHashes, hash), 'seek')) {
      if (flagged.get(row.id) === 0) flagged.set(row.id, row.line);
      if (this.#step()) yield;
    }
    return { firstLine: (record) => flagged.get(record.id) ?? 0, close: () => undefined };
  }

  /**
   * The held-back ids do not fit: a partitioned hash join on disk. Both sides are split by hash
   * into partition files until a partition's flagged ids fit the budget; each verdict (the id's
   * first line) lands in a file at its record's index, read back in order.
   */
  *#settlePartitioned(): Generator<void, Settled> {
    const verdictPath = join(this.#dir, 'verdicts');
    const verdicts = openSync(verdictPath, 'w+');
    let joined = false;
    try {
      // The flagged side is the entries defer() wrote; a bitmap of their hashes screens the rows.
      const flagged = this.#flagged as Spill;
      const screen = new HashScreen();
      for (const { hash } of readEntries(flagged)) {
        screen.add(hash);
        if (this.#step()) yield;
      }
      const rows = this.#partitionFile('a');
      // Many rows may pass the screen: the ids are read through, not sought one by one.
      for (const row of this.#rows((hash) => screen.has(hash), 'scan')) {
        appendEntry(rows, row.line, row.hash, row.id);
        if (this.#step()) yield;
      }
      yield* this.#join(flagged, this.#deferredIdBytes, rows, 0, verdicts);
      joined = true;
    } finally {
      // Failed, or stopped part way (settle()): the partitions go with close().
      if (!joined) closeSync(verdicts);
    }
    // Verdicts come back in record order, one per call, read 64 KiB at a time.
    const file = new SpillFile(verdicts, true);
    const chunk = new Uint32Array(1 << 14);
    const bytes = Buffer.from(chunk.buffer);
    let have = 0;
    let at = 0;
    return {
      firstLine: () => {
        if (at === have) {
          have = file.read(bytes) / 4;
          at = 0;
          if (have === 0) throw new Error('duplicate check: fewer verdicts than held-back records');
        }
        return chunk[at++] as number;
      },
      close: () => file.close(),
    };
  }

  /** Settles the flagged entries of `flagged` against `rows` (both partition files, consumed). */
  *#join(flagged: Spill, flaggedBytes: number, rows: Spill, depth: number, verdicts: number): Generator<void, void> {
    if (flaggedBytes <= this.#budget || depth >= MAX_DEPTH) {
      const first = new Map<string, number>();
      let bytes = 0;
      for (const entry of readEntries(flagged)) {
        if (this.#step()) yield;
        if (first.has(entry.id)) continue;
        first.set(entry.id, 0);
        bytes += mapBytes(entry.id);
        if (bytes > this.#budget * 2) {
          // Only when a split stopped shrinking: more distinct ids than the budget that share their
          // whole (seeded) hash — not seen short of a file built to do it against this seed.
          throw new Error(`duplicate check: ${first.size} distinct flagged ids share one partition after ${depth} levels — cannot settle them in bounded memory`);
        }
      }
      for (const row of readEntries(rows)) {
        const seen = first.get(row.id);
        if (seen === 0 || (seen !== undefined && row.number < seen)) first.set(row.id, row.number);
        if (this.#step()) yield;
      }
      const word = Buffer.alloc(4);
      for (const entry of readEntries(flagged)) {
        if (this.#step()) yield;
        word.writeUInt32LE(first.get(entry.id) ?? 0, 0);
        try {
          writeSync(verdicts, word, 0, 4, entry.number * 4);
        } catch (error) {
          throw diskFull(error, this.#dir);
        }
      }
      flagged.remove();
      rows.remove();
      return;
    }
    // Split both sides by hash bits of this level, then settle each partition on its own.
    const shift = 28 - depth * 4;
    const parts = Array.from({ length: FAN_OUT }, () => ({ flagged: this.#partitionFile('d'), rows: this.#partitionFile('a'), bytes: 0 }));
    for (const entry of readEntries(flagged)) {
      const part = parts[(entry.hash >>> shift) & (FAN_OUT - 1)] as (typeof parts)[number];
      appendEntry(part.flagged, entry.number, entry.hash, entry.id);
      part.bytes += mapBytes(entry.id);
      if (this.#step()) yield;
    }
    flagged.remove();
    for (const row of readEntries(rows)) {
      appendEntry((parts[(row.hash >>> shift) & (FAN_OUT - 1)] as (typeof parts)[number]).rows, row.number, row.hash, row.id);
      if (this.#step()) yield;
    }
    rows.remove();
    for (const part of parts) {
      // Every flagged entry fell in one part: the same few ids over and over (a Map holds each
      // once), or ids sharing their hash — splitting again would only copy them. Settle it now.
      const shrank = part.bytes < flaggedBytes;
      yield* this.#join(part.flagged, part.bytes, part.rows, shrank ? depth + 1 : MAX_DEPTH, verdicts);
    }
  }

  #partitionFile(kind: 'a' | 'd'): Spill {
    const file = new Spill(join(this.#dir, `${kind}${this.#files++}`), PARTITION_BUFFER_BYTES, this.#partitions);
    this.#partitions.add(file);
    return file;
  }

  /**
   * Every row's hash, line and id, read back from the spills; the id is decoded only when
   * `wanted(hash)`. `seek`: each wanted id is read at its offset (the offsets follow from the id
   * lengths in the hash spill) and the id spill is otherwise never read; `scan`: the id spill is
   * read through, line by line.
   */
  *#rows(wanted: (hash: number) => boolean, mode: 'seek' | 'scan'): Generator<{ hash: number; line: number; id: string }> {
    // One reading buffer per file, reused chunk after chunk: fresh ones would pile up as garbage
    // outside V8's heap (up to its external-memory limit, tens of MB) before a GC frees them.
    const ids = mode === 'scan' ? this.#ids.lines() : undefined;
    const idFile = mode === 'seek' ? new SpillWindow(this.#ids.open()) : undefined;
    const hashes = this.#hashes.open();
    try {
      const words = new Uint32Array(ROW_WORDS * Math.floor(BUFFER_BYTES / 4 / ROW_WORDS));
      const bytes = Buffer.from(words.buffer);
      let offset = 0;
      for (;;) {
        const n = hashes.read(bytes);
        if (n === 0) break;
        for (let i = 0; i < n / 4; i += ROW_WORDS) {
          const hash = words[i] as number;
          const length = words[i + 2] as number;
          if (ids && !ids.next()) throw new Error('duplicate check: the id spill is shorter than the hash spill');
          if (wanted(hash)) {
            let text: string;
            if (ids) {
              text = ids.text();
            } else {
              // Without the line's "\n".
              text = (idFile as SpillWindow).text(offset, length - 1);
            }
            yield { hash, line: words[i + 1] as number, id: parseIdLine(text) };
          }
          offset += length;
        }
      }
    } finally {
      ids?.close();
      idFile?.close();
      hashes.close();
    }
  }

  #commitHashes(): void {
    if (this.#hashUsed === 0) return;
    this.#hashes.append(Buffer.from(this.#hashBuffer.buffer, 0, this.#hashUsed * 4));
    this.#hashUsed = 0;
  }
}

/**
 * A bitmap over 23 bits of a hash (1 MiB): "certainly not one of these hashes" for most rows, with
 * one bit test instead of a Set lookup (a 32-bit hash is no small integer to V8: a Set hashes it anew).
 */
class HashScreen {
  readonly #bits = new Uint32Array(1 << 18);

  add(hash: number): void {
    const word = (hash >>> 5) & 0x3ffff;
    this.#bits[word] = (this.#bits[word] as number) | (1 << (hash & 31));
  }

  has(hash: number): boolean {
    return ((this.#bits[(hash >>> 5) & 0x3ffff] as number) & (1 << (hash & 31))) !== 0;
  }
}

/** A closed detector's filter, for the next one. */
let spareFilter: Uint32Array | undefined;

/**
 * A held-back record as one line of its spill file: line, id, silver line, raw fields and reasons,
 * tab-separated — a JSON text never holds a raw tab or line break, so none of the parts can.
 * The silver line (already JSON) goes in as it is: a record that turns out not to be a duplicate
 * (most of them: the filter's false positives) is written out again without being parsed, and its
 * raw fields are parsed only if it is quarantined after all. (One JSON document per record cost
 * twice as much: the silver line escaped inside it, everything parsed back.)
 */
function heldBackLine(record: DeferredRecord): string {
  const silver = record.silver === null ? '' : record.silver.endsWith('\n') ? record.silver.slice(0, -1) : record.silver;
  return `${record.line}\t${JSON.stringify(record.id)}\t${silver}\t${JSON.stringify(record.raw)}\t${JSON.stringify(record.reasons)}\n`;
}

function readHeldBack(text: string): DeferredRecord {
  const a = text.indexOf('\t');
  const b = text.indexOf('\t', a + 1);
  const c = text.indexOf('\t', b + 1);
  const d = text.indexOf('\t', c + 1);
  if (d < 0) throw new Error('duplicate check: a held-back record is cut short');
  const silver = text.slice(b + 1, c);
  return new HeldBack(Number(text.slice(0, a)), JSON.parse(text.slice(a + 1, b)) as string, silver === '' ? null : `${silver}\n`, text.slice(c + 1, d), text.slice(d + 1));
}

/**
 * A held-back record read back, its raw fields and reasons parsed when asked for. A class: getters
 * in an object literal would make a pair of accessors per record, which V8 puts straight into the
 * old generation — garbage that only a full GC frees (measured: a mark-compact every few
 * scavenges while settling, the heap at twice its size).
 */
class HeldBack implements DeferredRecord {
  #raw: string[] | undefined;
  #reasons: string[] | undefined;

  constructor(
    readonly line: number,
    readonly id: string,
    readonly silver: string | null,
    private readonly rawText: string,
    private readonly reasonsText: string,
  ) {}

  get raw(): string[] {
    this.#raw ??= JSON.parse(this.rawText) as string[];
    return this.#raw;
  }

  get reasons(): string[] {
    this.#reasons ??= this.reasonsText === '[]' ? [] : (JSON.parse(this.reasonsText) as string[]);
    return this.#reasons;
  }
}

/** The first line of each held-back record's id (0: none known), called in record order. */
interface Settled {
  firstLine(record: DeferredRecord): number;
  close(): void;
}

/**
 * The 32-bit hash add() files an id under (fmix32 of idHashState), unsigned. The seed is random
 * per detector: ids crafted to share one hash (a 32-bit hash is easy to collide on purpose) would
 * all land in one Bloom block and one partition, and be held back and settled the slow way.
 */
export function idHash(id: string, seed: number): number {
  return fmix32(idHashState(id, seed)) >>> 0;
}

/**
 * FNV-1a over UTF-16 units from `seed`, with a xorshift after each multiply. Plain FNV-1a is
 * no keyed hash: its low bits never see its high ones, so ids that collide from one basis still
 * collide from every basis with the same low byte — one seed in 256. The shift feeds the high
 * bits back, so a collision found for one seed says nothing about another.
 * (add() computes the same, inline.)
 */
export function idHashState(id: string, seed: number): number {
  let a = seed;
  for (let i = 0; i < id.length; i++) {
    a = Math.imul(a ^ id.charCodeAt(i), 0x01000193);
    a ^= a >>> 15;
  }
  return a;
}

/** An id as one line of a spill file: as is, or as a JSON string when it holds a line break, quote or backslash. */
function idLine(id: string): string {
  return NEEDS_ESCAPE.test(id) ? JSON.stringify(id) : id;
}

function parseIdLine(text: string): string {
  return text.startsWith('"') ? (JSON.parse(text) as string) : text;
}

/** What one distinct id costs in a settling Map. */
function mapBytes(id: string): number {
  return id.length * 2 + MAP_ENTRY_BYTES;
}

/** Whether sorted `values` holds `value` (binary search). */
function sortedHas(values: Uint32Array, value: number): boolean {
  let low = 0;
  let high = values.length - 1;
  while (low <= high) {
    const middle = (low + high) >>> 1;
    const at = values[middle] as number;
    if (at === value) return true;
    if (at < value) low = middle + 1;
    else high = middle - 1;
  }
  return false;
}

/** One entry of a partition file: "<number> <hash> <id line>" — number is a record index or a line. */
function appendEntry(file: Spill, number: number, hash: number, id: string): void {
  file.appendText(`${number} ${hash} ${idLine(id)}\n`);
}

/** A partition file's entries, as appendEntry() wrote them. */
function* readEntries(file: Spill): Generator<{ number: number; hash: number; id: string }> {
  const lines = file.lines();
  try {
    while (lines.next()) {
      const text = lines.text();
      const a = text.indexOf(' ');
      const b = text.indexOf(' ', a + 1);
      // The id decoded on its own (the two numbers before it are ASCII: chars are bytes there):
      // a slice of the line would keep the whole line alive in every Map that keeps the id.
      yield { number: Number(text.slice(0, a)), hash: Number(text.slice(a + 1, b)), id: parseIdLine(lines.textFrom(b + 1)) };
    }
  } finally {
    lines.close();
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
  readonly #size: number;
  /** Allocated on first use: a level of partitions is 32 files, most written little or never. */
  #bytes: Buffer | undefined;
  #used = 0;

  constructor(
    readonly path: string,
    bufferBytes = BUFFER_BYTES,
    /** The set this file is listed in until removed. */
    private readonly registry?: Set<Spill>,
  ) {
    this.#size = bufferBytes;
  }

  get #buffer(): Buffer {
    this.#bytes ??= Buffer.allocUnsafe(this.#size);
    return this.#bytes;
  }

  append(data: Buffer): void {
    if (this.#used + data.length > this.#size) this.#flush();
    if (data.length > this.#size) this.#write(data);
    else this.#used += data.copy(this.#buffer, this.#used);
  }

  /** The write buffer, for callers that write into it directly: reserve(), write, commit(). */
  get buffer(): Buffer {
    return this.#buffer;
  }

  /** Room for `n` ≤ BUFFER_BYTES more bytes (flushing first if needed); returns where they go. */
  reserve(n: number): number {
    if (this.#used + n > this.#size) this.#flush();
    return this.#used;
  }

  /** The bytes up to `end` are written. */
  commit(end: number): void {
    this.#used = end;
  }

  /** Text as UTF-8, straight into the buffer when it surely fits (no Buffer in between). */
  appendText(text: string): number {
    if (this.#used + text.length * 3 > this.#size) this.#flush();
    if (text.length * 3 > this.#size) {
      const bytes = Buffer.from(text, 'utf8');
      this.append(bytes);
      return bytes.length;
    }
    const n = this.#buffer.write(text, this.#used, 'utf8');
    this.#used += n;
    return n;
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

  /** Closes and deletes the file (a partition, once settled). */
  remove(): void {
    this.close();
    this.#bytes = undefined;
    rmSync(this.path, { force: true });
    this.registry?.delete(this);
  }

  #flush(): void {
    if (this.#used === 0) return;
    this.#write(this.#buffer.subarray(0, this.#used));
    this.#used = 0;
  }

  #write(data: Buffer): void {
    let offset = 0;
    try {
      this.#fd ??= openSync(this.path, 'w');
      while (offset < data.length) offset += writeSync(this.#fd, data, offset);
    } catch (error) {
      throw diskFull(error, dirname(this.path));
    }
  }
}

/** ENOSPC as an error that names the setting to raise; other errors as they are. */
function diskFull(error: unknown, dir: string): unknown {
  if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') return error;
  return new Error(
    `duplicate check: no space left in ${dir} for its spill files — give the function more ephemeral storage (ephemeralStorageMb, up to 10240)`,
    { cause: error },
  );
}

/**
 * Texts read at increasing offsets of a file through one window: the flagged rows' ids are a few
 * thousand reads far apart in a large file, and a system call each cost more than the join (~5 µs
 * apiece). The window refills from the offset asked for when that text is not inside it (grown
 * for a text longer than itself), so reading forward no byte is read twice.
 */
class SpillWindow {
  #window = Buffer.allocUnsafe(WINDOW_BYTES);
  #start = 0;
  #end = 0;

  constructor(readonly file: SpillFile) {}

  /** The UTF-8 text of `length` bytes at `offset` (which the caller knows exist). */
  text(offset: number, length: number): string {
    if (offset < this.#start || offset + length > this.#end) {
      if (length > this.#window.length) this.#window = Buffer.allocUnsafe(length);
      this.#start = offset;
      this.#end = offset + this.file.readFrom(this.#window, offset);
      if (offset + length > this.#end) throw new Error('duplicate check: the id spill ended early');
    }
    return this.#window.toString('utf8', offset - this.#start, offset - this.#start + length);
  }

  close(): void {
    this.file.close();
  }
}

/** A spill file opened for reading (no descriptor: nothing was ever written). */
class SpillFile {
  #position = 0;

  /** `positional`: read with explicit offsets from 0 (a descriptor also opened for writing). */
  constructor(
    readonly fd: number | undefined,
    readonly positional = false,
  ) {}

  /** Fills `into` from the file; a multiple of 8 bytes unless the file ends; 0 at its end. */
  read(into: Buffer): number {
    const n = this.#fill(into, this.positional ? this.#position : null);
    this.#position += n;
    return n;
  }

  /** Fills `into` from `position` on, or up to the file's end; returns the bytes read. */
  readFrom(into: Buffer, position: number): number {
    return this.#fill(into, position);
  }

  /** Reads until `into` is full or the file ends: at `position` on, or (null) where the descriptor is. */
  #fill(into: Buffer, position: number | null): number {
    if (this.fd === undefined) return 0;
    let n = 0;
    while (n < into.length) {
      const got = readSync(this.fd, into, n, into.length - n, position === null ? null : position + n);
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

  /** The current line from its `offset`-th byte, decoded into a string of its own. */
  textFrom(offset: number): string {
    return this.#filled.toString('utf8', this.#lineStart + offset, this.#lineEnd);
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
