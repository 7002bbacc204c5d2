import { byCodePoint } from '@laminar/spec';
import type { InvocationRecord, InvocationTrigger } from '../invoker.ts';
import type { LambdaError, LogLine } from '../environment.ts';
import { describeDestinationMessage } from '../queue-commands.ts';
import type { LocalQueues } from '../queues.ts';
import type { Span } from '../xray-daemon.ts';

/** One invocation as the console lists it (logs fetched separately: they can be long). */
export interface InvocationView {
  id: string;
  requestId: string;
  functionName: string;
  trigger: string;
  invocationType: string;
  attempt: number;
  cold: boolean;
  durationMs: number;
  billedMs: number;
  initDurationMs: number | undefined;
  memorySizeMb: number;
  maxMemoryUsedMb: number;
  outcome: 'ok' | 'error' | 'timeout';
  error: string | undefined;
  startedAt: string;
  finishedAt: string;
  logLines: number;
}

export interface FunctionStats {
  functionName: string;
  invocations: number;
  errors: number;
  coldStarts: number;
  coldShare: number;
  p50Ms: number | undefined;
  p95Ms: number | undefined;
  maxMemoryUsedMb: number;
  billedGbSeconds: number;
}

export interface SpanView {
  name: string;
  depth: number;
  offsetMs: number;
  durationMs: number | undefined;
  detail: string;
  failed: boolean;
}

export interface QueueView {
  name: string;
  kind: string;
  owner: string;
  depth: number;
  messages: { messageId: string; sentAt: string; lines: string[]; replayable: boolean }[];
}

export type ConsoleEvent = (
  | { type: 'invocation'; data: InvocationView }
  | { type: 'stats'; data: FunctionStats[] }
  | { type: 'queues'; data: QueueView[] }
  | { type: 's3'; data: ObjectChange }
) & {
  /** Counts every event from 1: the page keeps a snapshot (taken at `seq`) from undoing a newer event. */
  id: number;
};

/** An object the embedded S3 says was written or removed (its real key, not URL-encoded). */
export interface ObjectChange {
  bucket: string;
  key: string;
  change: 'created' | 'removed';
}

type Unnumbered<E> = E extends ConsoleEvent ? Omit<E, 'id'> : never;

export function describeTrigger(t: InvocationTrigger | undefined, invocationType: string): string {
  if (!t) return invocationType === 'Event' ? 'async invoke' : 'invoke';
  switch (t.kind) {
    case 'schedule':
      return `schedule ${t.expression}`;
    case 's3':
      return `s3 ${t.detailType} ${t.key}`;
    case 'replay':
      return `replay from ${t.queue}`;
    case 'kafka':
      return `kafka batch ${t.batch} (${t.records} records)`;
  }
}

/** Nearest-rank percentile of sorted values. */
export function percentile(sorted: readonly number[], p: number): number | undefined {
  if (sorted.length === 0) return undefined;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/** Durations a function's percentiles are taken over: the latest this many. */
const MAX_DURATIONS = 10_000;
/** Log lines kept per invocation: its last this many (a chatty function would hold the runner's memory). */
const MAX_LOG_LINES = 1_000;
/** Characters kept of one log line (a JSON line can be megabytes). */
const MAX_LOG_LINE_CHARS = 16_384;
/** A result or error larger than this (bytes of JSON) is kept as its first characters only. */
const MAX_RESULT_BYTES = 256 * 1024;
/**
 * Bytes of log lines, results and errors kept of all invocations together: the per-invocation
 * limits alone allow 500 × 1,000 × 16 KB. Past it the oldest lose their logs, then themselves.
 */
const MAX_RETAINED_BYTES = 64 * 1024 * 1024;

/** The index after the last element ≤ value, in an ascending array. */
function sortedIndex(sorted: number[], value: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((sorted[mid] as number) <= value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** What the console keeps of an invocation: its last log lines and a bounded result. */
function kept(r: InvocationRecord): InvocationRecord {
  const last = r.logs.length > MAX_LOG_LINES ? r.logs.slice(-MAX_LOG_LINES) : r.logs;
  const cut = last.some((l) => l.text.length > MAX_LOG_LINE_CHARS)
    ? last.map((l) => (l.text.length > MAX_LOG_LINE_CHARS ? { ...l, text: `${l.text.slice(0, MAX_LOG_LINE_CHARS)}… (${l.text.length - MAX_LOG_LINE_CHARS} more characters not kept by the console)` } : l))
    : last;
  const logs = r.logs.length > MAX_LOG_LINES ? [{ ...(r.logs[0] as LogLine), text: `… ${r.logs.length - MAX_LOG_LINES} earlier log lines not kept by the console` }, ...cut] : cut;
  const error = r.error && keptError(r.error);
  const result = r.result === undefined ? undefined : keptResult(r.result);
  if (logs === r.logs && error === r.error && result === r.result) return r;
  return { ...r, logs, ...(error ? { error } : {}), ...(result !== undefined ? { result } : {}) };
}

function keptResult(result: unknown): unknown {
  const json = JSON.stringify(result) ?? '';
  const bytes = Buffer.byteLength(json);
  if (bytes <= MAX_RESULT_BYTES) return result;
  return { truncated: `the result is ${bytes} bytes of JSON; the console keeps the first 4,096 characters`, head: json.slice(0, 4096) };
}

/** An error keeps its shape (the page and the invocation list read its type and message), cut. */
function keptError(error: LambdaError): LambdaError {
  const bytes = Buffer.byteLength(JSON.stringify(error) ?? '');
  if (bytes <= MAX_RESULT_BYTES) return error;
  const note = `(the error is ${bytes} bytes of JSON; the console keeps the first 4,096 characters of its message and of its trace)`;
  const trace: string[] = [];
  let room = 4096;
  for (const line of error.trace ?? []) {
    if (room <= 0) break;
    trace.push(line.slice(0, room));
    room -= line.length;
  }
  return { errorType: String(error.errorType).slice(0, 256), errorMessage: `${String(error.errorMessage).slice(0, 4096)}… ${note}`, trace: [...trace, note] };
}

/** What a kept invocation holds in memory, roughly: its log lines, result and error as bytes. */
function retainedBytes(r: InvocationRecord): number {
  let bytes = 0;
  for (const l of r.logs) bytes += Buffer.byteLength(l.text);
  if (r.result !== undefined) bytes += Buffer.byteLength(JSON.stringify(r.result) ?? '');
  if (r.error) bytes += Buffer.byteLength(JSON.stringify(r.error) ?? '');
  return bytes;
}

/**
 * What the console shows, fed by the invoker: the latest invocations with their logs, per-function
 * statistics and the queues. Listeners get each change as it happens (server-sent events).
 */
export class ConsoleState {
  readonly #records: InvocationRecord[] = [];
  /** retainedBytes of each record, in the same order. */
  readonly #sizes: number[] = [];
  #bytes = 0;
  readonly #budget: number;
  /** Records whose logs the budget took (they hold one line saying so). */
  readonly #logsDropped = new WeakSet<InvocationRecord>();
  /** Per function, the latest durations sorted (for percentiles) and in arrival order (to drop the oldest). */
  readonly #durations = new Map<string, { sorted: number[]; arrival: number[] }>();
  readonly #listeners = new Set<(e: ConsoleEvent) => void>();
  readonly #stats = new Map<string, FunctionStats>();
  readonly #max: number;
  readonly #spans: ((traceId: string) => Span[]) | undefined;

  constructor(
    readonly functions: string[],
    private readonly queues: LocalQueues,
    options: { maxInvocations?: number; maxRetainedBytes?: number; spans?: (traceId: string) => Span[] } = {},
  ) {
    this.#max = options.maxInvocations ?? 500;
    this.#budget = options.maxRetainedBytes ?? MAX_RETAINED_BYTES;
    this.#spans = options.spans;
    for (const f of functions) this.#stats.set(f, emptyStats(f));
  }

  subscribe(listener: (e: ConsoleEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  record(r: InvocationRecord): void {
    const stored = kept(r);
    this.#records.push(stored);
    this.#sizes.push(retainedBytes(stored));
    this.#bytes += this.#sizes.at(-1) as number;
    if (this.#records.length > this.#max) this.#dropOldest();
    this.#keepWithinBudget();
    const s = this.#stats.get(r.functionName) ?? emptyStats(r.functionName);
    s.invocations++;
    if (r.error) s.errors++;
    if (r.report.cold) s.coldStarts++;
    s.coldShare = s.coldStarts / s.invocations;
    s.maxMemoryUsedMb = Math.max(s.maxMemoryUsedMb, r.report.maxMemoryUsedMb);
    s.billedGbSeconds += (r.report.billedMs / 1000) * (r.report.memorySizeMb / 1024);
    const durations = this.#durations.get(r.functionName) ?? { sorted: [], arrival: [] };
    // Percentiles over the latest MAX_DURATIONS, kept sorted (binary search, then one splice).
    durations.sorted.splice(sortedIndex(durations.sorted, r.report.durationMs), 0, r.report.durationMs);
    durations.arrival.push(r.report.durationMs);
    if (durations.arrival.length > MAX_DURATIONS) {
      const oldest = durations.arrival.shift() as number;
      durations.sorted.splice(sortedIndex(durations.sorted, oldest) - 1, 1);
    }
    this.#durations.set(r.functionName, durations);
    const sorted = durations.sorted;
    s.p50Ms = percentile(sorted, 50);
    s.p95Ms = percentile(sorted, 95);
    this.#stats.set(r.functionName, s);
    this.#emit({ type: 'invocation', data: viewOf(stored) });
    this.#emit({ type: 'stats', data: this.stats() });
  }

  /** Bytes the kept invocations hold (log lines, results, errors). */
  get retainedBytes(): number {
    return this.#bytes;
  }

  #dropOldest(): void {
    this.#records.shift();
    this.#bytes -= this.#sizes.shift() ?? 0;
  }

  /**
   * Over the budget, the oldest invocations lose their log lines first (the newest are the ones
   * being looked at, and a row without logs still says what ran and how it ended); if results and
   * errors alone are still too much, the oldest go. The newest is always kept.
   */
  #keepWithinBudget(): void {
    for (let i = 0; this.#bytes > this.#budget && i < this.#records.length - 1; i++) {
      const r = this.#records[i] as InvocationRecord;
      if (this.#logsDropped.has(r) || r.logs.length === 0) continue;
      const lighter: InvocationRecord = {
        ...r,
        logs: [{ ...(r.logs[0] as LogLine), text: `… ${r.logs.length} log lines dropped: the console keeps ${describeBytes(this.#budget)} of invocations in all, the newest first` }],
      };
      this.#logsDropped.add(lighter);
      this.#records[i] = lighter;
      const size = retainedBytes(lighter);
      this.#bytes += size - (this.#sizes[i] as number);
      this.#sizes[i] = size;
    }
    while (this.#bytes > this.#budget && this.#records.length > 1) this.#dropOldest();
  }

  invocations(): InvocationView[] {
    return this.#records.map(viewOf);
  }

  /** One invocation with its logs, result and X-Ray spans (offsets in ms from the first span). */
  invocation(id: string): (InvocationView & { logs: InvocationRecord['logs']; result: unknown; spans: SpanView[] }) | undefined {
    const r = this.#records.find((x) => invocationId(x) === id);
    if (!r) return undefined;
    const spans = r.traceId && this.#spans ? this.#spans(r.traceId) : [];
    const t0 = spans[0]?.startTime ?? 0;
    const depth = new Map<string, number>();
    const views = spans.map((s) => {
      const d = s.parentId && depth.has(s.parentId) ? (depth.get(s.parentId) as number) + 1 : 0;
      depth.set(s.id, d);
      return {
        name: s.name,
        depth: d,
        offsetMs: Math.round((s.startTime - t0) * 100_000) / 100,
        durationMs: s.endTime === undefined ? undefined : Math.round((s.endTime - s.startTime) * 100_000) / 100,
        detail: [s.namespace, s.operation, s.httpStatus && `HTTP ${s.httpStatus}`, s.cause].filter(Boolean).join(' · '),
        failed: s.error || s.fault,
      };
    });
    return { ...viewOf(r), logs: r.logs, result: r.error ?? r.result ?? null, spans: views };
  }

  stats(): FunctionStats[] {
    return [...this.#stats.values()].sort((a, b) => byCodePoint(a.functionName, b.functionName));
  }

  queueViews(): QueueView[] {
    return this.queues.all().map((q) => {
      const all = q.messages();
      return {
        name: q.name,
        kind: q.kind,
        owner: q.owner,
        depth: all.length,
        // The page lists the DLQs' messages only; the other queues' depth is enough.
        messages: (q.kind === 'dlq' ? all : []).map((m) => ({
          messageId: m.messageId,
          sentAt: m.sentAt,
          lines: describeDestinationMessage(m),
          replayable: typeof m.body === 'object' && m.body !== null && 'requestPayload' in m.body,
        })),
      };
    });
  }

  /** Tells listeners about the queues (the server calls it when their depths change). */
  queuesChanged(): void {
    this.#emit({ type: 'queues', data: this.queueViews() });
  }

  /** Tells listeners an object was written or removed (the page re-lists the folder it shows, if the key is under it). */
  objectChanged(change: ObjectChange): void {
    this.#emit({ type: 's3', data: change });
  }

  /** The id of the last event emitted (0 before any): what a snapshot taken now already holds. */
  get seq(): number {
    return this.#seq;
  }

  #seq = 0;

  #emit(e: Unnumbered<ConsoleEvent>): void {
    const numbered = { ...e, id: ++this.#seq } as ConsoleEvent;
    for (const l of this.#listeners) l(numbered);
  }
}

function describeBytes(n: number): string {
  return n >= 1024 * 1024 ? `${Math.round(n / 1024 / 1024)} MB` : `${Math.round(n / 1024)} KB`;
}

function emptyStats(functionName: string): FunctionStats {
  return { functionName, invocations: 0, errors: 0, coldStarts: 0, coldShare: 0, p50Ms: undefined, p95Ms: undefined, maxMemoryUsedMb: 0, billedGbSeconds: 0 };
}

/** An async event keeps its request id across retries: the attempt tells them apart. */
function invocationId(r: Pick<InvocationRecord, 'requestId' | 'attempt'>): string {
  return `${r.requestId}#${r.attempt ?? 1}`;
}

export function viewOf(r: InvocationRecord): InvocationView {
  const outcome = r.report.status === 'timeout' ? 'timeout' : r.error ? 'error' : 'ok';
  return {
    id: invocationId(r),
    requestId: r.requestId,
    functionName: r.functionName,
    trigger: describeTrigger(r.trigger, r.invocationType),
    invocationType: r.invocationType,
    attempt: r.attempt ?? 1,
    cold: r.report.cold,
    durationMs: r.report.durationMs,
    billedMs: r.report.billedMs,
    initDurationMs: r.report.initDurationMs,
    memorySizeMb: r.report.memorySizeMb,
    maxMemoryUsedMb: r.report.maxMemoryUsedMb,
    outcome,
    error: r.error ? `${r.error.errorType}: ${r.error.errorMessage}` : undefined,
    startedAt: r.startedAt,
    finishedAt: r.finishedAt,
    logLines: r.logs.length,
  };
}
