/** One quarantine line: where the record is, what it held, and every reason it was refused. */
export interface RejectedRecord {
  /** 1-based line of the file on which the record starts (the header is line 1). */
  row: number;
  /** The record's fields as parsed (quotes removed), in the file's column order. */
  raw: string[];
  reasons: string[];
}

/**
 * One silver line. Plain JSON.stringify: records from the row parser all share one object shape,
 * which V8's serializer handles faster (~1M rows/s here) than a hand-written writer did. Absent
 * optional values are left out, as JSON.stringify does with undefined.
 */
export function silverLine(record: object): string {
  return `${JSON.stringify(record)}\n`;
}

export function rejectedLine(row: number, raw: string[], reasons: string[]): string {
  return `${JSON.stringify({ row, raw, reasons } satisfies RejectedRecord)}\n`;
}
