import { type KeptRejected, type RejectedRecord, rejectedRecordKey } from '@laminar/aws';
import { type KafkaProducer, messagesOf, type OutgoingMessage } from '@laminar/kafka';
import { expect } from 'vitest';
import type { FeedStateStore } from '../../src/feed-state.ts';
import type { Validators } from '../../src/fetch.ts';
import type { RssItem } from '../../src/normalize.ts';
import type { PublishOnce, RunDeps, RunResult } from '../../src/run.ts';

/** In-memory stand-ins for DynamoDB and Kafka, for tests about feeds rather than those services. */

/** publishOnce's contract over a Set: first of each id, publish, then remember. */
export function memoryDedup(done = new Set<string>(), inFlightIds = new Set<string>()): PublishOnce {
  return async ({ items, idOf, publish, onOutcome }) => {
    const fresh: RssItem[] = [];
    let duplicates = 0;
    let inFlight = 0;
    const seen = new Set<string>();
    for (const item of items) {
      const id = idOf(item);
      if (done.has(id) || seen.has(id)) duplicates++;
      else if (inFlightIds.has(id)) inFlight++;
      else fresh.push(item);
      seen.add(id);
    }
    if (fresh.length > 0) {
      try {
        await publish(fresh);
      } catch (err) {
        // As publishOnce: the items the error says were published are done, the others released.
        const published = (err as { published?: boolean[] }).published;
        const delivered = published ? fresh.filter((_, i) => published[i]) : [];
        for (const i of delivered) done.add(idOf(i));
        onOutcome({ fresh: delivered, duplicates, inFlight, released: fresh.length - delivered.length });
        throw err;
      }
    }
    for (const i of fresh) done.add(idOf(i));
    onOutcome({ fresh, duplicates, inFlight, released: 0 });
    return { fresh, duplicates, inFlight, released: 0 };
  };
}

export function memoryState(initial: [string, Validators][] = []) {
  const map = new Map(initial);
  const saves: [string, Validators][][] = [];
  const store: FeedStateStore = {
    load: async (urls) => new Map(urls.flatMap((u) => (map.has(u) ? [[u, map.get(u) as Validators] as const] : []))),
    save: async (entries) => {
      saves.push(entries.map(([u, v]) => [u, v]));
      for (const [u, v] of entries) map.set(u, v);
    },
  };
  return { store, map, saves };
}

export function fakeProducer(fail?: Error) {
  const sent: OutgoingMessage[][] = [];
  /**
   * Each send's timeoutMs, for the test to check: an expect failing in here would be thrown into
   * the run as a producer error, which a test expecting the run to fail could take for its own.
   */
  const timeouts: number[] = [];
  const producer: KafkaProducer = {
    send: async (messages, { timeoutMs }) => {
      timeouts.push(timeoutMs);
      if (fail) throw fail;
      const made = messagesOf(messages);
      sent.push(made);
      return { delivered: made.length, bytes: made.reduce((n, m) => n + m.value.length, 0), flushMs: 1 };
    },
    close: async () => undefined,
  };
  return { producer, sent, timeouts };
}

export const quiet = { info: () => undefined, warn: () => undefined } as unknown as RunDeps['log'];

/** Every entry is counted exactly once, per feed and in the totals. */
export function expectAccounted(result: RunResult) {
  const t = result.totals;
  expect(t.fetched).toBe(t.new + t.duplicate + t.inFlight + t.rejected + t.released);
  for (const f of result.feeds) expect(f.fetched, f.url).toBe(f.new + f.duplicate + f.rejected);
  expect(result.feeds.reduce((n, f) => n + f.new, 0)).toBe(t.new);
  expect(result.feeds.reduce((n, f) => n + f.duplicate, 0)).toBe(t.duplicate + t.inFlight);
  // Each rejected entry kept in S3 or counted as not kept (when the run had somewhere to keep them).
  if (result.rejects) expect(result.rejects.kept + result.rejects.notKept).toBe(t.rejected);
}

/** keepRejectedRecords' contract over a Map by key: each record once, `fail` sources not kept. */
export function memoryRejects(fail = new Set<string>()) {
  const kept = new Map<string, RejectedRecord>();
  const calls: RejectedRecord[][] = [];
  const keep = async (records: RejectedRecord[]): Promise<KeptRejected> => {
    calls.push(records);
    const out: KeptRejected = { written: 0, alreadyKept: 0, failed: 0, failedSources: [] };
    for (const r of records) {
      const n = r.count ?? 1;
      const key = rejectedRecordKey('rejected/', r);
      if (fail.has(r.source)) {
        out.failed += n;
        if (!out.failedSources.includes(r.source)) out.failedSources.push(r.source);
        out.firstError = 'AccessDenied: not allowed';
      } else if (kept.has(key)) out.alreadyKept += n;
      else {
        kept.set(key, r);
        out.written += n;
      }
    }
    return out;
  };
  return { keep, kept, calls };
}
