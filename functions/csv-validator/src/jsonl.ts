/** One quarantine line: where the record is, what it held, and every reason it was refused. */
export interface RejectedRecord {
  /** 1-based line of the file on which the record starts (the header is line 1). */
  row: number;
  /** The record's fields as parsed (quotes removed), in the file's column order. */
  raw: string[];
  reasons: string[];
}

/**
 * One quarantine line. Plain JSON.stringify: rejected rows are few, and their reasons (zod's
 * messages) cost far more than this. Silver lines, one per valid row, are written as bytes
 * instead (json-line.ts).
 */
export function rejectedLine(row: number, raw: string[], reasons: string[]): string {
  return `${JSON.stringify({ row, raw, reasons } satisfies RejectedRecord)}\n`;
}
