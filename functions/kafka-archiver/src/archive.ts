import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { envelopeSchema } from '@laminar/kafka/envelope';
import { mapLimit } from '@laminar/runtime';
import { z } from 'zod';
import type { KafkaEvent, KafkaEventRecord } from './event.ts';
import { fileTime, isFileableTimestamp, type ObjectGroup, objectKey, partitionAt } from './layout.ts';

export interface ArchiveDeps {
  s3: S3Client;
  bucket: string;
  archivePrefix: string;
  quarantinePrefix: string;
  concurrency: number;
  signal?: AbortSignal;
}

export interface WrittenObject {
  key: string;
  kind: ObjectGroup['kind'];
  topic: string;
  partition: number;
  firstOffset: number;
  lastOffset: number;
  records: number;
}

export interface ArchiveResult {
  /** records = archived + quarantined, always. */
  records: number;
  archived: number;
  quarantined: number;
  objects: WrittenObject[];
}

/** One archived record: its coordinates, and the envelope as JSON (not base64) for queries. */
export interface ArchivedLine {
  topic: string;
  partition: number;
  offset: number;
  timestamp: string;
  timestampType: string | undefined;
  /** The key as UTF-8 text; null when absent or not text (then in `keyBase64`). */
  key: string | null;
  keyBase64?: string;
  /** Header values as UTF-8 text; null for a header with no value; `<name>:base64` for bytes that are not text. */
  headers: Record<string, string | null>[];
  value: unknown;
}

/** One refused record: the same coordinates, the bytes as they came (base64) and every reason. */
export interface QuarantinedLine extends Omit<ArchivedLine, 'value'> {
  /** The timestamp or key as delivered, when it was what sent the record here. */
  timestampRaw?: unknown;
  keyRaw?: unknown;
  reasons: string[];
  valueBase64: string | null;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Node's base64 decoder skips characters outside the alphabet instead of failing; a decoded length
 * that differs from what the text's length implies means the text was not base64.
 */
function decodeBase64(text: string): Buffer | undefined {
  if (text.length % 4 !== 0) return undefined;
  const bytes = Buffer.from(text, 'base64');
  const padding = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0;
  return bytes.length === (text.length / 4) * 3 - padding ? bytes : undefined;
}

/**
 * Writes a batch to S3 as JSON Lines, one object per topic-partition and hour. A record that is not
 * an envelope goes to quarantine with its reasons; it never fails the batch. A failed write does:
 * the mapping retries the batch, which rewrites the same keys.
 */
export async function archiveBatch(event: KafkaEvent, deps: ArchiveDeps): Promise<ArchiveResult> {
  const records = Object.values(event.records).flat();
  const groups = new Map<string, ObjectGroup>();
  let archived = 0;
  let quarantined = 0;
  for (const record of records) {
    const { line, reasons, timestamp } = lineOrQuarantine(record);
    const kind = reasons.length === 0 ? 'archive' : 'quarantine';
    if (kind === 'archive') archived++;
    else quarantined++;
    const { dt, hour } = partitionAt(timestamp);
    const id = `${kind}\u0000${record.topic}\u0000${record.partition}\u0000${dt}\u0000${hour}`;
    let group = groups.get(id);
    if (!group) {
      group = { kind, topic: record.topic, partition: record.partition, dt, hour, firstOffset: record.offset, lastOffset: record.offset, lines: [] };
      groups.set(id, group);
    }
    group.firstOffset = Math.min(group.firstOffset, record.offset);
    group.lastOffset = Math.max(group.lastOffset, record.offset);
    group.lines.push(line);
  }

  const objects = [...groups.values()].map((g) => ({
    key: objectKey(g.kind === 'archive' ? deps.archivePrefix : deps.quarantinePrefix, g),
    group: g,
  }));
  await mapLimit(objects, deps.concurrency, ({ key, group }) => {
    deps.signal?.throwIfAborted();
    return deps.s3.send(
      new PutObjectCommand({ Bucket: deps.bucket, Key: key, Body: group.lines.join(''), ContentType: 'application/x-ndjson' }),
      { abortSignal: deps.signal },
    );
  });
  return {
    records: records.length,
    archived,
    quarantined,
    objects: objects.map(({ key, group: g }) => ({
      key,
      kind: g.kind,
      topic: g.topic,
      partition: g.partition,
      firstOffset: g.firstOffset,
      lastOffset: g.lastOffset,
      records: g.lines.length,
    })),
  };
}

/**
 * Decoded by hand rather than with Powertools' Kafka utility: its JSON deserializer falls back to
 * the raw string on bad JSON (logging the whole value) where this function must quarantine with a
 * reason, and its optional Avro/Protobuf deserializers become static imports in an ESM bundle.
 */
function decodeHeaders(headers: unknown, reasons: string[]): Record<string, string | null>[] {
  if (headers === undefined || headers === null) return [];
  const parsed = headersSchema.safeParse(headers);
  if (!parsed.success) {
    reasons.push('headers: not a list of {name: bytes} as the event source mapping delivers them');
    return [];
  }
  // A header may carry no value (null): kept as null, as Kafka has it. Bytes that are not UTF-8
  // text (a signature, a trace id in binary) are kept as base64 under "<name>:base64".
  return parsed.data.map((h) =>
    Object.fromEntries(
      Object.entries(h).map(([k, bytes]) => {
        if (bytes === null) return [k, null];
        const buffer = Buffer.from(bytes);
        const text = textOf(buffer);
        return text === undefined ? [`${k}:base64`, buffer.toString('base64')] : [k, text];
      }),
    ),
  );
}

/**
 * The record key as text, or — bytes that are not UTF-8 (a Schema Registry frame, a binary id) —
 * null with the bytes as `keyBase64`. A key that is not base64 at all, or not even a string (kept
 * as `keyRaw`), is a reason to quarantine.
 */
function keyOf(key: unknown, reasons: string[]): { key: string | null; keyBase64?: string; keyRaw?: unknown } {
  if (key === undefined || key === null) return { key: null };
  if (typeof key !== 'string') {
    reasons.push('key: not base64 text');
    return { key: null, keyRaw: key };
  }
  const bytes = decodeBase64(key);
  if (!bytes) {
    reasons.push('key: not base64, as the event source mapping delivers keys');
    return { key: null, keyBase64: key };
  }
  const text = textOf(bytes);
  return text === undefined ? { key: null, keyBase64: key } : { key: text };
}

/** The bytes as UTF-8 text, or undefined when they are not (replacement characters would lose them). */
function textOf(bytes: Uint8Array): string | undefined {
  try {
    return utf8.decode(bytes);
  } catch {
    return undefined;
  }
}

const headersSchema = z.array(z.record(z.string(), z.array(z.number().int().min(-128).max(255)).nullable()));

/** lineOf, or a quarantine line saying what failed: one record's surprise must not fail the batch. */
function lineOrQuarantine(record: KafkaEventRecord): { line: string; reasons: string[]; timestamp: string } {
  try {
    return lineOf(record);
  } catch (error) {
    const reasons = [`internal: could not file this record (${(error as Error)?.name ?? 'Error'}: ${(error as Error)?.message ?? String(error)})`];
    const timestamp = fileTime(record.timestamp);
    const line = {
      topic: record.topic,
      partition: record.partition,
      offset: record.offset,
      timestamp,
      timestampType: record.timestampType,
      reasons,
      valueBase64: typeof record.value === 'string' ? record.value : null,
    } satisfies Omit<QuarantinedLine, 'key' | 'headers'>;
    return { line: `${JSON.stringify(line)}\n`, reasons, timestamp };
  }
}

/** The record's line, the reasons it is quarantined (none: archived) and the time it is filed at. */
function lineOf(record: KafkaEventRecord): { line: string; reasons: string[]; timestamp: string } {
  const reasons: string[] = [];
  const fileable = isFileableTimestamp(record.timestamp);
  if (!fileable) reasons.push(`timestamp: ${JSON.stringify(record.timestamp) ?? 'missing'} is not whole milliseconds since 1970 up to year 9999 (microseconds or nanoseconds?)`);
  const base = {
    topic: record.topic,
    partition: record.partition,
    offset: record.offset,
    timestamp: fileTime(record.timestamp),
    timestampType: record.timestampType,
    ...keyOf(record.key, reasons),
    headers: decodeHeaders(record.headers, reasons),
  };
  const raw = record.value;
  let text: string | undefined;
  let value: unknown;
  const bytes = raw === null || raw === undefined ? undefined : decodeBase64(raw);
  if (raw === null || raw === undefined) reasons.push('value: null (a tombstone); the archive keeps envelopes only');
  else if (!bytes) reasons.push('value: not base64, as the event source mapping delivers values');
  else {
    text = textOf(bytes);
    if (text === undefined) reasons.push('value: not valid UTF-8');
    if (text !== undefined) {
      try {
        value = JSON.parse(text);
      } catch (error) {
        reasons.push(`value: not JSON (${(error as Error).message})`);
      }
    }
    if (reasons.length === 0) {
      const parsed = envelopeSchema.safeParse(value);
      if (!parsed.success) for (const i of parsed.error.issues) reasons.push(`value.${i.path.map(String).join('.') || '(root)'}: ${i.message}`);
    }
  }
  if (reasons.length > 0) {
    const line: QuarantinedLine = {
      ...base,
      ...(fileable ? {} : { timestampRaw: record.timestamp }),
      reasons,
      valueBase64: raw ?? null,
    };
    return { line: `${JSON.stringify(line)}\n`, reasons, timestamp: base.timestamp };
  }
  // The value's own JSON text goes into the line as it came (it parsed, so it is valid JSON).
  // Re-serializing the parsed value would cost as much as the parse, change numbers past 2^53
  // (a 77-digit token id became 7.13e+76) and overflow the stack on deep nesting. A raw CR or LF
  // in valid JSON can only be whitespace between tokens (never inside a string), so turning it
  // into a space keeps the value and makes it one line.
  const json = (text as string).replace(/[\r\n]/g, ' ').trim();
  const head = JSON.stringify({ ...base, value: null } satisfies ArchivedLine);
  return { line: `${head.slice(0, -'null}'.length)}${json}}\n`, reasons, timestamp: base.timestamp };
}
