import { createHash } from 'node:crypto';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { z } from 'zod';
import { s3EnvSchema, s3FolderPrefix } from './s3-client.ts';

/** Where a function keeps its rejected records (set by its spec through rejectsSpec). */
export const rejectsEnvSchema = s3EnvSchema.extend({
  REJECTS_BUCKET: z.string().min(3).max(63),
  REJECTS_PREFIX: s3FolderPrefix,
});

/**
 * A record a function read and could not use. Counting it is not enough to account for it: kept
 * in S3 with every reason, the record itself can be found, shown to whoever sends it, and replayed.
 */
export interface RejectedRecord {
  /** Where it was read: a feed's URL, an API's endpoint. */
  source: string;
  reasons: string[];
  /** The record as read (JSON-serializable); null when it could not be read at all. */
  record: unknown;
  /** How many records this one stands for when they could not be told apart (unreadable entries of one document). */
  count?: number;
  /**
   * What makes two rejections the same, when the record's content or its reasons' wording change
   * from read to read (a market's prices; a reason quoting a timestamp, or a line number that moves
   * as a feed grows): kept once per source and identity, with the reasons and record as first
   * read. Without it the record's content and reasons are its identity.
   */
  identity?: string;
}

export interface KeepRejectedOptions {
  client: S3Client;
  bucket: string;
  /** Ends with "/": the function's own prefix, which its role may write and nothing else may. */
  prefix: string;
  /** Named in each object: which function rejected the record. */
  rejectedBy: string;
  /** Writes at once (default 8). */
  concurrency?: number;
  signal?: AbortSignal;
  now?: () => Date;
  /**
   * Keys this execution environment has seen kept, shared by its invocations: a record rejected on
   * every poll then costs one request per cold start rather than one (billed, even when answered
   * 412) per poll. Bounded: cleared past KEPT_KEYS_LIMIT.
   */
  keptKeys?: Set<string>;
  /** Waits between attempts of a write S3 answered 409 (tests pass shorter ones). */
  conflictRetryMs?: readonly number[];
}

export const KEPT_KEYS_LIMIT = 100_000;

/** Counted in records (a record with a `count` counts that many), not in objects. */
export interface KeptRejected {
  /** Written by this call. */
  written: number;
  /** Records an earlier call kept already: the same record, from the same source, for the same reasons. */
  alreadyKept: number;
  /** Records not kept (the write failed or was stopped): the caller must see them again later. */
  failed: number;
  /** The failed records' sources (each once), for the caller to read them again. */
  failedSources: string[];
  firstError?: string;
}

/**
 * The key a rejected record is kept under: a hash of what it is, so that a record rejected again
 * on every poll (a feed keeps serving a bad entry until its publisher fixes it) is one object, not
 * one per poll, and a record that changes is kept again.
 */
export function rejectedRecordKey(prefix: string, r: RejectedRecord): string {
  const hash = createHash('sha256')
    .update(JSON.stringify(r.identity !== undefined ? [r.source, { identity: r.identity }] : [r.source, r.reasons, r.record ?? null, r.count ?? 1]))
    .digest('hex')
    .slice(0, 32);
  return `${prefix}${hash}.json`;
}

const statusOf = (error: unknown) => (error as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;

/**
 * Writes each record to its own object, once: `If-None-Match: *` leaves an object an earlier run
 * wrote as it is (412), so it keeps the time the record was first rejected. A 409
 * (ConditionalRequestConflict: another write to the key was under way) is tried again, as S3 asks,
 * and counts as failed if it persists. A failed write does not stop the others; the result says
 * how many were not kept and why.
 */
export async function keepRejectedRecords(records: readonly RejectedRecord[], options: KeepRejectedOptions): Promise<KeptRejected> {
  const out: KeptRejected = { written: 0, alreadyKept: 0, failed: 0, failedSources: [] };
  if (records.length === 0) return out;
  const now = (options.now ?? (() => new Date()))().toISOString();
  const failedSources = new Set<string>();
  const retries = options.conflictRetryMs ?? [200, 1_000];
  // The same record twice in one call (a feed repeating an entry) is one write, whose outcome both take.
  const writes = new Map<string, Promise<'written' | 'kept' | 'failed'>>();
  const write = async (key: string, r: RejectedRecord): Promise<'written' | 'kept' | 'failed'> => {
    if (options.keptKeys?.has(key)) return 'kept';
    const body = `${JSON.stringify({ source: r.source, reasons: r.reasons, ...(r.count !== undefined ? { count: r.count } : {}), rejectedBy: options.rejectedBy, firstRejectedAt: now, record: r.record ?? null })}\n`;
    for (let attempt = 0; ; attempt++) {
      try {
        options.signal?.throwIfAborted();
        await options.client.send(
          new PutObjectCommand({ Bucket: options.bucket, Key: key, Body: body, ContentType: 'application/json', IfNoneMatch: '*' }),
          options.signal ? { abortSignal: options.signal } : {},
        );
        remember(options.keptKeys, key);
        return 'written';
      } catch (error) {
        const status = statusOf(error);
        if (status === 412) {
          remember(options.keptKeys, key);
          return 'kept';
        }
        const wait = retries[attempt];
        if (status === 409 && wait !== undefined && !options.signal?.aborted) {
          await new Promise((resolve) => setTimeout(resolve, wait));
          continue;
        }
        out.firstError ??= `${(error as Error)?.name ?? 'Error'}: ${(error as Error)?.message ?? String(error)}`;
        return 'failed';
      }
    }
  };
  const keepOne = async (r: RejectedRecord) => {
    const key = rejectedRecordKey(options.prefix, r);
    let outcome = writes.get(key);
    if (outcome === undefined) {
      outcome = write(key, r);
      writes.set(key, outcome);
    } else if ((await outcome) === 'written') {
      // Written by this call for the record's first copy: this one was kept already.
      out.alreadyKept += r.count ?? 1;
      return;
    }
    const n = r.count ?? 1;
    const result = await outcome;
    if (result === 'written') out.written += n;
    else if (result === 'kept') out.alreadyKept += n;
    else {
      out.failed += n;
      failedSources.add(r.source);
    }
  };
  let next = 0;
  const worker = async () => {
    while (next < records.length) await keepOne(records[next++] as RejectedRecord);
  };
  await Promise.all(Array.from({ length: Math.min(options.concurrency ?? 8, records.length) }, worker));
  out.failedSources = [...failedSources];
  return out;
}

function remember(keys: Set<string> | undefined, key: string): void {
  if (!keys) return;
  if (keys.size >= KEPT_KEYS_LIMIT) keys.clear();
  keys.add(key);
}

/** How a run reports where its rejected records went: kept + notKept = the records it rejected. */
export interface RejectsReport {
  /** In S3: written by this run or, the same record rejected again, by an earlier one. */
  kept: number;
  keptNow: number;
  notKept: number;
  error?: string;
}

/** A run's report of `k`; nothing kept (no records, or none given to keep) when `k` is absent. */
export function rejectsReport(k: KeptRejected | undefined): RejectsReport {
  if (!k) return { kept: 0, keptNow: 0, notKept: 0 };
  return { kept: k.written + k.alreadyKept, keptNow: k.written, notKept: k.failed, ...(k.firstError ? { error: k.firstError } : {}) };
}

/**
 * Starts keeping `records` (undefined when there is no keeper or nothing to keep), to be awaited
 * when the run is done. It never rejects: a keeper that throws (keepRejectedRecords itself does
 * not) kept nothing, and every record counts as not kept rather than the run failing on it.
 */
export function startKeeping(keep: ((records: RejectedRecord[]) => Promise<KeptRejected>) | undefined, records: RejectedRecord[]): Promise<KeptRejected> | undefined {
  if (!keep || records.length === 0) return undefined;
  return keep(records).catch((error) => noneKept(records, error));
}

function noneKept(records: readonly RejectedRecord[], error: unknown): KeptRejected {
  return {
    written: 0,
    alreadyKept: 0,
    failed: records.reduce((n, r) => n + (r.count ?? 1), 0),
    failedSources: [...new Set(records.map((r) => r.source))],
    firstError: String((error as Error)?.message ?? error),
  };
}
