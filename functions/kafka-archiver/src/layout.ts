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

/** The UTC partition of a record timestamp; one before 1970 or unset (-1) is filed under 1970-01-01. */
export function partitionOf(timestampMs: number): { dt: string; hour: string } {
  const iso = new Date(Math.max(0, timestampMs)).toISOString();
  return { dt: iso.slice(0, 10), hour: iso.slice(11, 13) };
}
