import type { DedupStore, LatestChange, LatestRenewal, LatestValue, LatestValueStore } from '@laminar/dedup';
import { FlushTimeoutError, type KafkaProducer, messagesOf, type OutgoingMessage } from '@laminar/kafka';
import { type KeptRejected, type RejectedRecord, rejectedRecordKey } from '@laminar/aws';
import { DeadlineExceededError } from '@laminar/runtime';
import { describe, expect, it } from 'vitest';
import { createJsonClient, HttpRequestError, type JsonClient } from '../../src/http.ts';
import { type RunDeps, runOnce } from '../../src/run.ts';
import { gammaRecord, midpointsFor } from '../support/records.ts';

/** The DedupStore contract in memory: claim → confirm | release. */
function memoryStore() {
  const state = new Map<string, 'pending' | 'done'>();
  const calls: string[] = [];
  const store = {
    async claim(scope: string, ids: string[]) {
      calls.push('claim');
      const out = { claimed: [] as string[], duplicates: [] as string[], inFlight: [] as string[] };
      const seen = new Set<string>();
      for (const id of ids) {
        const key = `${scope}#${id}`;
        if (seen.has(key) || state.get(key) === 'done') out.duplicates.push(id);
        else if (state.get(key) === 'pending') out.inFlight.push(id);
        else {
          state.set(key, 'pending');
          out.claimed.push(id);
        }
        seen.add(key);
      }
      return out;
    },
    async confirm(scope: string, ids: string[]) {
      calls.push('confirm');
      for (const id of ids) state.set(`${scope}#${id}`, 'done');
    },
    async release(scope: string, ids: string[]) {
      calls.push('release');
      for (const id of ids) state.delete(`${scope}#${id}`);
    },
  };
  return { store: store as unknown as DedupStore, state, calls, hold: (id: string) => state.set(`polymarket#${id}`, 'pending') };
}

/** The LatestValueStore contract in memory: read; advance only over the record read; renew. */
function memoryLatest() {
  const state = new Map<string, LatestValue>();
  const latest = {
    async read(scope: string, keys: readonly string[]) {
      const out = new Map<string, LatestValue>();
      for (const key of keys) {
        const found = state.get(`${scope}#${key}`);
        if (found) out.set(key, found);
      }
      return out;
    },
    async advance(scope: string, changes: readonly LatestChange[]) {
      const numbers = new Map<string, number>();
      const failed: string[] = [];
      for (const { key, value, seen, observedAt } of changes) {
        // Read no later than the record read: that reading stands (as LatestValueStore decides).
        if (observedAt !== undefined && seen?.observedAt !== undefined && observedAt <= seen.observedAt) continue;
        if (refuse.has(key)) {
          failed.push(key);
          continue;
        }
        const stored = state.get(`${scope}#${key}`);
        if (stored?.seq === seen?.seq && stored?.value === seen?.value) {
          const seq = (seen?.seq ?? 0) + 1;
          state.set(`${scope}#${key}`, { value, seq, expiresAt: Number.MAX_SAFE_INTEGER, ...(observedAt === undefined ? {} : { observedAt }) });
          numbers.set(key, seq);
        } else if (stored?.value === value) numbers.set(key, stored.seq);
      }
      return { numbers, failed, ...(failed.length > 0 ? { error: new Error('ProvisionedThroughputExceededException') } : {}) };
    },
    async renew(_scope: string, renewals: readonly LatestRenewal[]) {
      const failed = renewals.filter((r) => refuse.has(r.key)).length;
      return { renewed: 0, failed, ...(failed > 0 ? { error: new Error('AccessDeniedException') } : {}) };
    },
  };
  /** Keys whose writes the table refuses. */
  const refuse = new Set<string>();
  return { latest: latest as unknown as LatestValueStore, state, refuse };
}
/** One latest-state memory per dedup store: the runs of a test that share a store share it too. */
const latestOf = new WeakMap<DedupStore, ReturnType<typeof memoryLatest>>();

function recordingProducer(fail?: () => Error) {
  const sent: OutgoingMessage[][] = [];
  const timeouts: number[] = [];
  const producer: KafkaProducer = {
    async send(messages, { timeoutMs }) {
      timeouts.push(timeoutMs);
      if (fail) throw fail();
      const made = messagesOf(messages);
      sent.push(made);
      return { delivered: made.length, bytes: made.reduce((n, m) => n + Buffer.byteLength(m.value), 0), flushMs: 3 };
    },
    async close() {},
  };
  return { producer, sent, timeouts };
}

const records = [
  gammaRecord({ id: '11', question: 'Eleven?', prices: ['0.6', '0.4'] }),
  gammaRecord({ id: '12', question: 'Twelve?', outcomes: ['Red', 'Blue'], prices: ['0.25', '0.75'] }),
  { ...gammaRecord({ id: '13', question: 'Thirteen?' }), conditionId: undefined },
];

function api(routes: { markets?: () => unknown; midpoints?: (body: unknown) => unknown }): JsonClient & { urls: string[] } {
  const urls: string[] = [];
  return {
    urls,
    async json(url, request) {
      urls.push(url);
      if (url.includes('/markets?')) return (routes.markets ?? (() => records))();
      if (url.endsWith('/midpoints')) return (routes.midpoints ?? (() => midpointsFor(records.slice(0, 1))))(request?.body);
      throw new Error(`unexpected ${url}`);
    },
  };
}

const config = {
  GAMMA_API_URL: 'http://gamma',
  CLOB_API_URL: 'http://clob',
  MAX_MARKETS: 500,
  HTTP_TIMEOUT_MS: 1000,
  KAFKA_TOPIC: 'polymarket-prices',
};
const deadline = (ms = 60_000) => ({ remainingMs: () => ms, check: () => undefined });

let runsMade = 0;
function deps(overrides: Partial<RunDeps> & Pick<RunDeps, 'store' | 'producer'>): RunDeps {
  if (!latestOf.has(overrides.store)) latestOf.set(overrides.store, memoryLatest());
  const { latest } = latestOf.get(overrides.store) as ReturnType<typeof memoryLatest>;
  // Each run reads its prices a minute after the run before it, as scheduled runs do.
  const readAt = new Date(Date.parse('2026-11-25T21:05:00Z') + 60_000 * runsMade++);
  return { config, deadline: deadline(), http: api({}), now: () => readAt, latest, ...overrides };
}

describe('runOnce', () => {
  it('keeps each rejected record with its reasons, named by its market id, beside producing the rest', async () => {
    const kept: RejectedRecord[][] = [];
    const keepRejected = async (r: RejectedRecord[]): Promise<KeptRejected> => {
      kept.push(r);
      return { written: r.length, alreadyKept: 0, failed: 0, failedSources: [] };
    };
    const { producer, sent } = recordingProducer();
    const result = await runOnce(deps({ store: memoryStore().store, producer, keepRejected }));
    expect(result.rejects).toEqual({ kept: 1, keptNow: 1, notKept: 0 });
    expect(result.rejects!.kept + result.rejects!.notKept).toBe(result.markets.rejected);
    expect(kept).toEqual([[{ source: 'http://gamma/markets', reasons: ['conditionId: missing'], record: records[2], identity: 'market 13: conditionId' }]]);
    // The result carries the sample without the records themselves.
    expect(result.rejections).toEqual([{ marketId: '13', reason: 'conditionId: missing' }]);
    expect(sent.flat()).toHaveLength(4);
  });

  it('names a rejected market the same from poll to poll, whatever its changing values and the values its reasons quote', async () => {
    const keys: string[][] = [];
    const keepRejected = async (r: RejectedRecord[]): Promise<KeptRejected> => {
      keys.push(r.map((x) => rejectedRecordKey('rejected/', x)));
      return { written: r.length, alreadyKept: 0, failed: 0, failedSources: [] };
    };
    const poll = async (updatedAt: string, volume: number) => {
      const zoneless = { ...gammaRecord({ id: '21', question: 'Zoneless?' }), updatedAt, volume: String(volume) };
      const idless = { ...gammaRecord({ id: '22', question: 'No id?' }), id: undefined, volume: String(volume) };
      const markets = () => [...records, zoneless, idless];
      const { producer } = recordingProducer();
      await runOnce(deps({ store: memoryStore().store, producer, keepRejected, http: api({ markets }) }));
    };
    await poll('2026-11-25T20:58:41.391224', 100);
    await poll('2026-11-25T21:03:12.004117', 250);
    expect(keys).toHaveLength(2);
    expect(keys[0]).toHaveLength(3);
    expect(keys[1]).toEqual(keys[0]);
  });

  it('counts the rejected records not kept when keeping fails, and produces all the same', async () => {
    const { producer, sent } = recordingProducer();
    const result = await runOnce(deps({ store: memoryStore().store, producer, keepRejected: () => Promise.reject(new Error('AccessDenied')) }));
    expect(result.rejects).toEqual({ kept: 0, keptNow: 0, notKept: 1, error: 'AccessDenied' });
    expect(sent.flat()).toHaveLength(4);
  });

  it('waits for the rejected records to be kept also when producing fails the run', async () => {
    let done = false;
    const keepRejected = async (r: RejectedRecord[]): Promise<KeptRejected> => {
      await new Promise((resolve) => setTimeout(resolve, 50));
      done = true;
      return { written: r.length, alreadyKept: 0, failed: 0, failedSources: [] };
    };
    const { producer } = recordingProducer(() => new Error('broker down'));
    await expect(runOnce(deps({ store: memoryStore().store, producer, keepRejected }))).rejects.toThrow('broker down');
    expect(done).toBe(true);
  });

  it('accounts for every record and produces one keyed message per new tick', async () => {
    const { store } = memoryStore();
    const { producer, sent, timeouts } = recordingProducer();
    const result = await runOnce(deps({ store, producer, deadline: deadline(42_000) }));
    expect(result).toEqual({
      markets: { fetched: 3, accepted: 2, rejected: 1, repeated: 0, pages: 1 },
      rejections: [{ marketId: '13', reason: 'conditionId: missing' }],
      prices: { clob: 2, gamma: 2, unpriced: 0, gammaUnusable: 0, clobRequests: 1, clobFailedBatches: 0 },
      ticks: 4,
      new: 4,
      duplicate: 0,
      inFlight: 0,
      produced: 4,
      bytes: expect.any(Number),
      flushMs: 3,
    });
    expect(sent).toHaveLength(1);
    expect(sent[0]?.map((m) => m.key)).toEqual(['11', '11', '12', '12']);
    expect(sent[0]?.map((m) => m.headers?.id)).toEqual([
      '11:Yes:2026-11-25T20:58:41.391Z:0.6#1',
      '11:No:2026-11-25T20:58:41.391Z:0.4#1',
      // Priced from Gamma's copy (the CLOB had no midpoint for them): apart from a CLOB price.
      '12:Red:2026-11-25T20:58:41.391Z:0.25:gamma#1',
      '12:Blue:2026-11-25T20:58:41.391Z:0.75:gamma#1',
    ]);
    // The flush gets the invocation's remaining time, reserve already deducted by the deadline.
    expect(timeouts).toEqual([42_000]);
  });

  it('produces nothing the second time the same prices are seen, and only what another run does not hold', async () => {
    const memory = memoryStore();
    const first = recordingProducer();
    await runOnce(deps({ store: memory.store, producer: first.producer }));

    const second = recordingProducer();
    const again = await runOnce(deps({ store: memory.store, producer: second.producer }));
    expect(again).toMatchObject({ ticks: 4, new: 0, duplicate: 4, inFlight: 0, produced: 0 });
    expect(second.sent).toEqual([]);

    const updated = [gammaRecord({ id: '11', question: 'Eleven?', prices: ['0.7', '0.3'], updatedAt: '2026-11-25T21:04:00Z' }), records[1]];
    memory.hold('11:No:2026-11-25T21:04:00.000Z:0.3:gamma#2');
    const third = recordingProducer();
    const result = await runOnce(deps({ store: memory.store, producer: third.producer, http: api({ markets: () => updated, midpoints: () => ({}) }) }));
    expect(result).toMatchObject({ ticks: 4, new: 1, duplicate: 2, inFlight: 1, produced: 1 });
    expect(third.sent[0]?.map((m) => m.headers?.id)).toEqual(['11:Yes:2026-11-25T21:04:00.000Z:0.7:gamma#2']);

    // The CLOB answers again for that same record: its prices are produced, not taken for the
    // Gamma copies already sent.
    const fourth = recordingProducer();
    const clobAgain = await runOnce(
      deps({ store: memory.store, producer: fourth.producer, http: api({ markets: () => updated, midpoints: () => midpointsFor(updated as Record<string, unknown>[]) }) }),
    );
    expect(clobAgain).toMatchObject({ new: 4, produced: 4 });
    expect(fourth.sent[0]?.map((m) => m.headers?.id)).toContain('11:Yes:2026-11-25T21:04:00.000Z:0.7#3');

    // The CLOB's midpoint moves while Gamma's record stays as it was (same updatedAt): the moved
    // prices are produced, not dropped as duplicates of the earlier ones.
    const fifth = recordingProducer();
    const moved = await runOnce(
      deps({
        store: memory.store,
        producer: fifth.producer,
        http: api({ markets: () => updated, midpoints: () => midpointsFor(updated as Record<string, unknown>[], (_t, gamma) => String(Number(gamma) + 0.01)) }),
      }),
    );
    expect(moved).toMatchObject({ new: 4, duplicate: 0, produced: 4 });
    expect(fifth.sent[0]?.map((m) => m.headers?.id)).toContain('11:Yes:2026-11-25T21:04:00.000Z:0.71#4');

    // And back to where they were, still under the same updatedAt (A → B → A): the return is a
    // change too, produced under the next number, not dropped as a repeat of the first A.
    const sixth = recordingProducer();
    const back = await runOnce(
      deps({ store: memory.store, producer: sixth.producer, http: api({ markets: () => updated, midpoints: () => midpointsFor(updated as Record<string, unknown>[]) }) }),
    );
    expect(back).toMatchObject({ new: 4, duplicate: 0, produced: 4 });
    expect(sixth.sent[0]?.map((m) => m.headers?.id)).toContain('11:Yes:2026-11-25T21:04:00.000Z:0.7#5');
    const seventh = recordingProducer();
    await expect(
      runOnce(deps({ store: memory.store, producer: seventh.producer, http: api({ markets: () => updated, midpoints: () => midpointsFor(updated as Record<string, unknown>[]) }) })),
    ).resolves.toMatchObject({ new: 0, duplicate: 4, produced: 0 });
    expect(seventh.sent).toEqual([]);
  });

  it('fails the run on a flush timeout and releases the claims, so a retry produces every tick', async () => {
    const memory = memoryStore();
    const failing = recordingProducer(() => new FlushTimeoutError(1, 4, 42_000));
    const built: unknown[] = [];
    await expect(runOnce(deps({ store: memory.store, producer: failing.producer, onBuilt: (c) => built.push(c) }))).rejects.toBeInstanceOf(
      FlushTimeoutError,
    );
    // What was read is reported before producing, so the failed run still has its counts.
    expect(built).toEqual([
      {
        markets: { fetched: 3, accepted: 2, rejected: 1, repeated: 0, pages: 1 },
        prices: { clob: 2, gamma: 2, unpriced: 0, gammaUnusable: 0, clobRequests: 1, clobFailedBatches: 0 },
        ticks: 4,
      },
    ]);
    expect(memory.calls).toEqual(['claim', 'release']);
    expect(memory.state.size).toBe(0);

    const retry = recordingProducer();
    await expect(runOnce(deps({ store: memory.store, producer: retry.producer }))).resolves.toMatchObject({ new: 4, produced: 4 });
  });

  it('produces a change a failed run recorded but did not produce, and a return to the price before it', async () => {
    const at = (prices: string[]) => api({ markets: () => [gammaRecord({ id: '11', question: 'Eleven?', prices })], midpoints: () => ({}) });
    const ids = (p: ReturnType<typeof recordingProducer>) => p.sent.flat().map((m) => m.headers?.id);
    for (const [name, next, expected] of [
      ['the move is still there', ['0.7', '0.3'], ['11:Yes:2026-11-25T20:58:41.391Z:0.7:gamma#2', '11:No:2026-11-25T20:58:41.391Z:0.3:gamma#2']],
      ['the price went back (A → B → A)', ['0.6', '0.4'], ['11:Yes:2026-11-25T20:58:41.391Z:0.6:gamma#3', '11:No:2026-11-25T20:58:41.391Z:0.4:gamma#3']],
    ] as const) {
      const memory = memoryStore();
      const first = recordingProducer();
      await runOnce(deps({ store: memory.store, producer: first.producer, http: at(['0.6', '0.4']) }));
      expect(ids(first), name).toEqual(['11:Yes:2026-11-25T20:58:41.391Z:0.6:gamma#1', '11:No:2026-11-25T20:58:41.391Z:0.4:gamma#1']);
      // The move is recorded as change 2 before producing; the flush then fails with nothing delivered.
      const failing = recordingProducer(() => new FlushTimeoutError(0, 2, 1_000));
      await expect(runOnce(deps({ store: memory.store, producer: failing.producer, http: at(['0.7', '0.3']) })), name).rejects.toBeInstanceOf(FlushTimeoutError);
      const after = recordingProducer();
      await expect(runOnce(deps({ store: memory.store, producer: after.producer, http: at([...next]) })), name).resolves.toMatchObject({ new: 2, produced: 2 });
      expect(ids(after), name).toEqual(expected);
    }
  });

  it('leaves an outcome another run moved to another state first to that run, counted in flight', async () => {
    const memory = memoryStore();
    await runOnce(deps({ store: memory.store, producer: recordingProducer().producer }));
    const { latest, state } = latestOf.get(memory.store) as ReturnType<typeof memoryLatest>;
    // Between this run's read and its write, another run records its own observation of 11:Yes.
    const read = latest.read.bind(latest);
    latest.read = async (scope, keys) => {
      const out = await read(scope, keys);
      state.set(`${scope}#11:Yes`, { value: '11:Yes:2026-11-25T20:58:41.391Z:0.9', seq: 2, expiresAt: Number.MAX_SAFE_INTEGER });
      return out;
    };
    const moved = midpointsFor(records.slice(0, 1), (_t, gamma) => String(Number(gamma) + 0.05));
    const { producer, sent } = recordingProducer();
    const result = await runOnce(deps({ store: memory.store, producer, http: api({ midpoints: () => moved }) }));
    expect(result).toMatchObject({ ticks: 4, new: 1, duplicate: 2, inFlight: 1, produced: 1 });
    expect(sent.flat().map((m) => m.headers?.id)).toEqual(['11:No:2026-11-25T20:58:41.391Z:0.45#2']);
  });

  it('gives no number to a price read before the one another run recorded first, counted in flight', async () => {
    const memory = memoryStore();
    const at = (time: string) => () => new Date(`2026-11-25T${time}Z`);
    await runOnce(deps({ store: memory.store, producer: recordingProducer().producer, now: at('21:05:00') }));
    // Run B read the CLOB at 21:15 and recorded its prices; run C read it at 21:10, other prices,
    // and reaches the table only now (slowed by a Retry-After, say).
    const prices = (delta: number) => midpointsFor(records.slice(0, 1), (_t, gamma) => String(Number(gamma) + delta));
    const b = recordingProducer();
    await runOnce(deps({ store: memory.store, producer: b.producer, now: at('21:15:00'), http: api({ midpoints: () => prices(0.05) }) }));
    expect(b.sent.flat().map((m) => m.headers?.id)).toEqual(['11:Yes:2026-11-25T20:58:41.391Z:0.65#2', '11:No:2026-11-25T20:58:41.391Z:0.45#2']);
    const c = recordingProducer();
    const result = await runOnce(deps({ store: memory.store, producer: c.producer, now: at('21:10:00'), http: api({ midpoints: () => prices(0.1) }) }));
    // Numbered #3, C's older prices would be what consumers keeping the highest `change` hold.
    expect(c.sent.flat()).toEqual([]);
    expect(result).toMatchObject({ ticks: 4, new: 0, duplicate: 2, inFlight: 2, produced: 0 });
  });

  it('produces every other tick when the table refuses to record some changes, then fails so that the retry produces those', async () => {
    const memory = memoryStore();
    const { refuse } = (latestOf.set(memory.store, memoryLatest()).get(memory.store)) as ReturnType<typeof memoryLatest>;
    refuse.add('11:Yes');
    const produced: unknown[] = [];
    const { producer, sent } = recordingProducer();
    await expect(runOnce(deps({ store: memory.store, producer, onProduced: (c) => produced.push(c) }))).rejects.toMatchObject({
      name: 'ChangesNotRecordedError',
      outcomes: ['11:Yes'],
      message: expect.stringMatching(/^1 outcomes' price changes could not be recorded \(ProvisionedThroughputExceededException\)/),
    });
    expect(sent.flat().map((m) => m.headers?.id)).toEqual(['11:No:2026-11-25T20:58:41.391Z:0.4#1', '12:Red:2026-11-25T20:58:41.391Z:0.25:gamma#1', '12:Blue:2026-11-25T20:58:41.391Z:0.75:gamma#1']);
    expect(produced).toEqual([{ new: 3, duplicate: 0, inFlight: 1, released: 0, produced: 3, bytes: expect.any(Number), refreshFailed: 0 }]);
    refuse.clear();
    const retry = recordingProducer();
    await expect(runOnce(deps({ store: memory.store, producer: retry.producer }))).resolves.toMatchObject({ new: 1, duplicate: 3, produced: 1 });
    expect(retry.sent.flat().map((m) => m.headers?.id)).toEqual(['11:Yes:2026-11-25T20:58:41.391Z:0.6#1']);
    // Unchanged outcomes whose records the table will not renew: counted with the claims' refusals.
    refuse.add('12:Red');
    const counts: { refreshFailed: number }[] = [];
    await runOnce(deps({ store: memory.store, producer: recordingProducer().producer, onProduced: (c) => counts.push(c) }));
    expect(counts).toMatchObject([{ new: 0, duplicate: 4, refreshFailed: 1 }]);
  });

  it("falls back to Gamma's prices for a CLOB batch that fails, and counts it", async () => {
    const { store } = memoryStore();
    const { producer, sent } = recordingProducer();
    let call = 0;
    const http = api({
      midpoints: () => {
        if (call++ === 0) throw new HttpRequestError('POST http://clob/midpoints answered HTTP 500', 'status', 'http://clob/midpoints', 4, 500);
        return midpointsFor(records.slice(0, 2), () => '0.99');
      },
    });
    const result = await runOnce(deps({ store, producer, http, midpointBatch: 2 }));
    expect(result.prices).toEqual({ clob: 2, gamma: 2, unpriced: 0, gammaUnusable: 0, clobRequests: 2, clobFailedBatches: 1 });
    const payloads = sent[0]?.map((m) => JSON.parse(m.value as string).payload) ?? [];
    expect(payloads.map((p) => [p.outcome, p.price, p.priceSource])).toEqual([
      ['Yes', 0.6, 'gamma-outcome-prices'],
      ['No', 0.4, 'gamma-outcome-prices'],
      ['Red', 0.99, 'clob-midpoint'],
      ['Blue', 0.99, 'clob-midpoint'],
    ]);
  });

  it("takes the CLOB's prices for markets whose outcomePrices cannot be used, and counts them", async () => {
    const { store } = memoryStore();
    const { producer, sent } = recordingProducer();
    const broken = [
      { ...gammaRecord({ id: '21', question: 'Empty?' }), outcomePrices: '[]' },
      { ...gammaRecord({ id: '22', question: 'Over one?' }), outcomePrices: '["1.0000001", "0"]' },
      { ...gammaRecord({ id: '23', question: 'Leading dot?' }), outcomePrices: '[".5", ".5"]' },
      { ...gammaRecord({ id: '24', question: 'Not JSON?' }), outcomePrices: '["0.5",' },
    ];
    const warnings: [string, Record<string, unknown> | undefined][] = [];
    const log = { info: () => undefined, warn: (m: string, a?: Record<string, unknown>) => warnings.push([m, a]) };
    const http = api({ markets: () => broken, midpoints: () => midpointsFor(broken.map((r) => ({ ...r, outcomePrices: '["0.61", "0.39"]' }))) });
    const result = await runOnce(deps({ store, producer, http, log }));
    expect(result.markets).toMatchObject({ fetched: 4, accepted: 4, rejected: 0 });
    expect(result.prices).toEqual({ clob: 8, gamma: 0, unpriced: 0, gammaUnusable: 3, clobRequests: 1, clobFailedBatches: 0 });
    const payloads = sent[0]?.map((m) => JSON.parse(m.value as string).payload) ?? [];
    expect(payloads.map((p) => [p.marketId, p.outcome, p.price, p.priceSource])).toEqual(
      ['21', '22', '23', '24'].flatMap((id) => [
        [id, 'Yes', 0.61, 'clob-midpoint'],
        [id, 'No', 0.39, 'clob-midpoint'],
      ]),
    );
    expect(warnings).toEqual([
      [
        'unusable Gamma outcomePrices: those markets are priced by the CLOB only',
        {
          markets: 3,
          sample: [
            { marketId: '21', reason: 'outcomePrices: has 0 prices for 2 outcomes' },
            { marketId: '22', reason: expect.stringMatching(/^outcomePrices\.0: /) },
            { marketId: '24', reason: expect.stringMatching(/^outcomePrices: not a JSON-encoded array/) },
          ],
        },
      ],
    ]);
  });

  it('counts an outcome neither source can price, saying why', async () => {
    const { store } = memoryStore();
    const { producer } = recordingProducer();
    const warnings: [string, Record<string, unknown> | undefined][] = [];
    const log = { info: () => undefined, warn: (m: string, a?: Record<string, unknown>) => warnings.push([m, a]) };
    const broken = [{ ...gammaRecord({ id: '31', question: 'Unpriced?' }), outcomePrices: '[]' }];
    const result = await runOnce(deps({ store, producer, log, http: api({ markets: () => broken, midpoints: () => ({}) }) }));
    expect(result).toMatchObject({ markets: { accepted: 1 }, prices: { clob: 0, gamma: 0, unpriced: 2, gammaUnusable: 1 }, ticks: 0 });
    expect(warnings.map(([m]) => m)).toEqual([
      'unusable Gamma outcomePrices: those markets are priced by the CLOB only',
      'outcomes without a price: no CLOB midpoint and no usable Gamma price',
    ]);
  });

  it("falls back to Gamma's prices when a CLOB batch's retry would not fit in the time left, and stops only when no request fits", async () => {
    const { store } = memoryStore();
    const clobAnswers: number[] = [];
    const fetchStub = (async (url: string) => {
      if (url.includes('/markets?')) return new Response(JSON.stringify(records), { headers: { 'content-type': 'application/json' } });
      clobAnswers.push(503);
      return new Response('busy', { status: 503 });
    }) as unknown as typeof fetch;
    const slept: number[] = [];
    // 3 s left, and the backoff before the retry is 4 s: that retry cannot be made, the run can go on.
    const client = (remainingMs: () => number) =>
      createJsonClient({
        timeoutMs: 1000,
        fetch: fetchStub,
        remainingMs,
        retry: { baseDelayMs: 4000, maxDelayMs: 4000 },
        random: () => 1,
        sleep: async (ms) => {
          slept.push(ms);
        },
      });
    const { producer, sent } = recordingProducer();
    const result = await runOnce(deps({ store, producer, http: client(() => 3000), deadline: deadline(3000) }));
    expect(clobAnswers).toEqual([503]);
    expect(slept).toEqual([]);
    expect(result.prices).toMatchObject({ clob: 0, gamma: 4, clobFailedBatches: 1 });
    expect(sent[0]?.map((m) => JSON.parse(m.value as string).payload.priceSource)).toEqual(Array(4).fill('gamma-outcome-prices'));

    // Out of time for any request once the listing is read: the run stops, it does not go on without prices.
    let calls = 0;
    const late = client(() => (calls++ === 0 ? 3000 : 100));
    const stopped = await runOnce(deps({ store: memoryStore().store, producer: recordingProducer().producer, http: late })).catch((e: unknown) => e);
    expect(stopped).toBeInstanceOf(DeadlineExceededError);
    expect(stopped).toMatchObject({ message: expect.stringContaining('/midpoints not attempted: only 100 ms of the invocation left') });
  });

  it('fails without producing when the Gamma listing cannot be read', async () => {
    const memory = memoryStore();
    const { producer, sent } = recordingProducer();
    const http = api({
      markets: () => {
        throw new HttpRequestError('GET http://gamma/markets answered HTTP 503 (gave up after 4 attempts)', 'status', 'http://gamma/markets', 4, 503);
      },
    });
    await expect(runOnce(deps({ store: memory.store, producer, http }))).rejects.toThrow(/HTTP 503/);
    expect(sent).toEqual([]);
    expect(memory.calls).toEqual([]);
  });

  it('stops before producing when the deadline says so', async () => {
    const memory = memoryStore();
    const { producer, sent } = recordingProducer();
    const stopAt = (what: string) => {
      if (what === 'producing ticks') throw new Error(`stopped ${what}`);
    };
    await expect(runOnce(deps({ store: memory.store, producer, deadline: { remainingMs: () => 1, check: stopAt } }))).rejects.toThrow(
      'stopped producing ticks',
    );
    expect(sent).toEqual([]);
    expect(memory.calls).toEqual([]);
  });
});
