/** Where a run of records of one topic-partition and hour goes. */
export interface ObjectGroup {
  kind: 'archive' | 'quarantine';
  topic: string;
  partition: number;
  /** UTC date and hour of the records' timestamps: the Hive-style partition. */
  dt: string;
  hour: string;
  firstOffset: number;
  lastOffset: number;
  lines: string[];
}

/**
 * `<prefix><topic>/dt=YYYY-MM-DD/hour=HH/<topic>+<partition>+<first>-<last>.jsonl`: named by the
 * offsets it holds, so a redelivered batch writes the same keys again (an overwrite, not a copy).
 * Offsets are zero-padded to int64's 19 digits so keys sort in offset order.
 */
export function objectKey(prefix: string, g: Pick<ObjectGroup, 'topic' | 'partition' | 'dt' | 'hour' | 'firstOffset' | 'lastOffset'>): string {
  const pad = (n: number) => String(n).padStart(19, '0');
  return `${prefix}${g.topic}/dt=${g.dt}/hour=${g.hour}/${g.topic}+${g.partition}+${pad(g.firstOffset)}-${pad(g.lastOffset)}.jsonl`;
}

/** 9999-12-31T23:59:59.999Z: past it a date no longer has a four-digit year (Hive's dt= format). */
export const LATEST_TIMESTAMP_MS = 253_402_300_799_999;

/** Kafka's "no timestamp" (a record from before message format v1, timestampType NO_TIMESTAMP_TYPE). */
export const NO_TIMESTAMP = -1;

/**
 * The earliest timestamp filed as a time: 10^11 ms, 1973-03-03. Below it a timestamp is far more
 * likely a producer's seconds than a real millisecond time (now is ~1.8·10^9 in seconds, and will be
 * under 10^11 for three thousand years): filed as 1970-01-21, say, it would land in an hour readers
 * processed long ago.
 */
export const EARLIEST_TIMESTAMP_MS = 100_000_000_000;

/**
 * A record timestamp the layout can file: whole milliseconds from 1973 (EARLIEST_TIMESTAMP_MS) up
 * to year 9999, or unset (-1). Kafka has no other negative timestamps; one would be filed as 1970
 * and archived as a time the record never had.
 */
export function isFileableTimestamp(timestampMs: unknown): timestampMs is number {
  return (
    Number.isSafeInteger(timestampMs) &&
    (timestampMs === NO_TIMESTAMP || ((timestampMs as number) >= EARLIEST_TIMESTAMP_MS && (timestampMs as number) <= LATEST_TIMESTAMP_MS))
  );
}

/**
 * The record's timestamp as written to its line (ISO 8601, UTC), or null when it has none: unset
 * (-1), or one the layout cannot file (then quarantined, with the value as delivered). The 1970 it
 * is filed under is where it is stored, never when it happened.
 */
export function recordTime(timestampMs: unknown): string | null {
  return isFileableTimestamp(timestampMs) && timestampMs !== NO_TIMESTAMP ? new Date(timestampMs).toISOString() : null;
}

/**
 * The UTC partition of a record timestamp; one unset (-1) is filed under 1970-01-01, and so is one
 * the layout cannot file (microseconds, say: such a record is quarantined).
 */
export function partitionOf(timestampMs: unknown): { dt: string; hour: string } {
  return partitionAt(fileTime(timestampMs));
}

/** The time a record is filed at (ISO 8601, UTC): its timestamp, or 1970-01-01 as partitionOf says. */
export function fileTime(timestampMs: unknown): string {
  return new Date(isFileableTimestamp(timestampMs) ? Math.max(0, timestampMs) : 0).toISOString();
}

/** The partition of a fileTime. */
export function partitionAt(iso: string): { dt: string; hour: string } {
  return { dt: iso.slice(0, 10), hour: iso.slice(11, 13) };
}
