import { type ClaimingInvocation, type DedupStore, invocationClaims, type LatestEntry, type LatestValueStore, type PublishOutcome, publishOnce, warnRefreshFailed } from '@laminar/dedup';
import { deliveredBefore, type KafkaProducer, lazyMessages } from '@laminar/kafka';
import type { Config } from './config.ts';
import { listActiveMarkets, type Rejection } from './gamma.ts';
import { createJsonClient, type JsonClient, type RetryPolicy } from './http.ts';
import { fetchMidpoints } from './prices.ts';
import { buildTicks, outcomeKey, type PriceTick, tickId, tickState, toMessage } from './ticks.ts';

/** The dedup scope of price ticks in the table (ids are `market:outcome:timestamp:price#change`, tickId). */
export const DEDUP_SCOPE = 'polymarket';
/** The scope of each outcome's last produced state (`market:outcome`, LatestValueStore), in the same table. */
export const LATEST_SCOPE = 'polymarket-latest';
/** Rejections carried in the result and the log; the count covers all of them. */
export const REJECTION_SAMPLE = 10;

export interface Log {
  info(message: string, attributes?: Record<string, unknown>): void;
  warn(message: string, attributes?: Record<string, unknown>): void;
}

export interface RunDeps {
  config: Pick<Config, 'GAMMA_API_URL' | 'CLOB_API_URL' | 'MAX_MARKETS' | 'HTTP_TIMEOUT_MS' | 'KAFKA_TOPIC'>;
  store: DedupStore;
  /** Each outcome's last produced state: a tick is produced only when its outcome's state changed. */
  latest: LatestValueStore;
  producer: KafkaProducer;
  /** The invocation's time: every request, wait and the Kafka flush fit inside remainingMs(). */
  deadline: { remainingMs(): number; check(what: string): void };
  /** Aborts requests in flight when the invocation must stop. */
  signal?: AbortSignal;
  /**
   * The invocation the dedup claims are made for (its request id) and the time it may still run:
   * claims then last that long, and a retry tells claims its killed earlier attempt left.
   */
  invocation?: ClaimingInvocation;
  /** Overrides the HTTP client built from the config (tests). */
  http?: JsonClient;
  retry?: Partial<RetryPolicy>;
  gammaPageSize?: number;
  midpointBatch?: number;
  log?: Log;
  /**
   * Told the listing, price and tick counts before anything is produced, so they are known (to
   * metrics, say) even when producing then fails the run.
   */
  onBuilt?: (counts: Pick<RunResult, 'markets' | 'prices' | 'ticks'>) => void;
  /**
   * Told what producing did as soon as it is over, also when the run then fails: ticks a failed
   * flush delivered are done (the retry finds them duplicates), and an EarlierAttemptClaimsError
   * comes after everything else was produced — counted only on success, neither would be counted
   * anywhere. Not called when claiming fails (nothing was produced).
   */
  onProduced?: (counts: ProducedCounts) => void;
  now?: () => Date;
}

/**
 * Every record is accounted for:
 * markets.fetched = accepted + rejected + repeated;
 * outcomes of accepted markets = ticks + prices.unpriced;
 * ticks = new + duplicate + inFlight, where a duplicate is a tick whose outcome's state has not
 * changed since it was last produced (or whose change another run already produced);
 * produced = new (each acknowledged by Kafka).
 */
export interface RunResult {
  markets: { fetched: number; accepted: number; rejected: number; repeated: number; pages: number };
  /** Up to REJECTION_SAMPLE rejected records with their reasons. */
  rejections: Rejection[];
  /** gammaUnusable: accepted markets whose outcomePrices could not be read (CLOB prices only). */
  prices: { clob: number; gamma: number; unpriced: number; gammaUnusable: number; clobRequests: number; clobFailedBatches: number };
  ticks: number;
  new: number;
  duplicate: number;
  inFlight: number;
  produced: number;
  bytes: number;
  flushMs: number;
}

/**
 * What producing did, in the result's terms; `refreshFailed`: dedup records of ticks still built
 * whose expiry could not be renewed (they are forgotten, and produced again, a TTL after their
 * last renewal), and outcomes' last states the table would not write (a later run writes them).
 */
export type ProducedCounts = Pick<RunResult, 'new' | 'duplicate' | 'inFlight' | 'produced' | 'bytes'> & { refreshFailed: number };

/** A tick whose outcome's state changed, with the change's number and the outcome's key and new state. */
interface TickChange {
  tick: PriceTick;
  seq: number;
  key: string;
  state: string;
}

const quiet: Log = { info: () => undefined, warn: () => undefined };

/** Markets → prices → ticks → Kafka: a tick for each change of an outcome's state (price, timestamp, source), once. */
export async function runOnce(deps: RunDeps): Promise<RunResult> {
  const { config, deadline } = deps;
  const log = deps.log ?? quiet;
  const now = deps.now ?? (() => new Date());
  const http =
    deps.http ??
    createJsonClient({
      timeoutMs: config.HTTP_TIMEOUT_MS,
      remainingMs: () => deadline.remainingMs(),
      ...(deps.signal ? { signal: deps.signal } : {}),
      ...(deps.retry ? { retry: deps.retry } : {}),
      onRetry: ({ url, attempt, waitMs, reason }) => log.info('retrying a Polymarket request', { url, attempt, waitMs, reason }),
    });

  const listing = await listActiveMarkets({
    baseUrl: config.GAMMA_API_URL,
    http,
    maxMarkets: config.MAX_MARKETS,
    checkDeadline: (what) => deadline.check(what),
    ...(deps.gammaPageSize ? { pageSize: deps.gammaPageSize } : {}),
  });
  const rejections = listing.rejected.slice(0, REJECTION_SAMPLE);
  if (listing.rejected.length > 0) {
    log.warn('rejected Gamma market records', { rejected: listing.rejected.length, sample: rejections });
  }

  const unusable = listing.markets.flatMap((m) => (m.gammaPricesProblem ? [{ marketId: m.id, reason: m.gammaPricesProblem }] : []));
  if (unusable.length > 0) {
    log.warn('unusable Gamma outcomePrices: those markets are priced by the CLOB only', { markets: unusable.length, sample: unusable.slice(0, REJECTION_SAMPLE) });
  }

  deadline.check('fetching CLOB prices');
  const fetchedAt = now();
  const midpoints = await fetchMidpoints(
    listing.markets.flatMap((m) => m.tokenIds),
    {
      baseUrl: config.CLOB_API_URL,
      http,
      ...(deps.midpointBatch ? { batchSize: deps.midpointBatch } : {}),
      onBatchError: (error, tokens) =>
        log.warn("CLOB midpoints failed for a batch; using Gamma's prices for it", { error: error.message, tokens: tokens.length }),
    },
  );
  const built = buildTicks(listing.markets, midpoints.prices, fetchedAt);
  const counts = {
    markets: {
      fetched: listing.fetched,
      accepted: listing.markets.length,
      rejected: listing.rejected.length,
      repeated: listing.repeated,
      pages: listing.pages,
    },
    prices: {
      clob: built.fromClob,
      gamma: built.fromGamma,
      unpriced: built.unpriced.length,
      gammaUnusable: unusable.length,
      clobRequests: midpoints.requests,
      clobFailedBatches: midpoints.failedBatches,
    },
    ticks: built.ticks.length,
  };
  if (built.unpriced.length > 0) {
    log.warn('outcomes without a price: no CLOB midpoint and no usable Gamma price', { outcomes: built.unpriced.length, sample: built.unpriced.slice(0, REJECTION_SAMPLE) });
  }
  deps.onBuilt?.(counts);

  deadline.check('producing ticks');
  const target = { topic: config.KAFKA_TOPIC, gammaUrl: config.GAMMA_API_URL, clobUrl: config.CLOB_API_URL };
  const seen = await deps.latest.read(LATEST_SCOPE, built.ticks.map(outcomeKey));
  const changes: TickChange[] = [];
  // Unchanged outcomes: their records are renewed when due, so they outlive the claims under them.
  const unchanged: LatestEntry[] = [];
  for (const tick of built.ticks) {
    const key = outcomeKey(tick);
    const state = tickState(tick);
    const last = seen.get(key);
    if (last?.value === state) unchanged.push({ key, value: state, seq: last.seq, seen: last });
    else changes.push({ tick, seq: (last?.seq ?? 0) + 1, key, state });
  }

  let sent = { delivered: 0, bytes: 0, flushMs: 0 };
  let produced: PublishOutcome<TickChange> | undefined;
  let alreadyProduced: TickChange[] = [];
  let outcome: PublishOutcome<TickChange> | undefined;
  try {
    outcome = await publishOnce<TickChange>({
      store: deps.store,
      scope: DEDUP_SCOPE,
      items: changes,
      idOf: (c) => tickId(c.tick, c.seq),
      ...(deps.invocation ? invocationClaims(deps.invocation) : {}),
      // Produced by a run that ended before recording them: recorded now.
      onDuplicates: (done) => {
        alreadyProduced = done;
      },
      publish: async (fresh) => {
        // Rejects with FlushTimeoutError when not every message is acknowledged in time; the ticks
        // it says were delivered are confirmed, the others released, and the invocation fails, so
        // Lambda's retry produces those. (The send's messages are `fresh`, in order: its per-message
        // `published` flags line up with the ticks.)
        const messages = lazyMessages(fresh, (c) => toMessage(c.tick, c.seq, target));
        try {
          sent = await deps.producer.send(messages, { timeoutMs: deadline.remainingMs() });
        } catch (err) {
          // What was delivered is produced, whatever the run does next: counted as a send counts it.
          sent = { ...deliveredBefore(err, messages), flushMs: 0 };
          throw err;
        }
      },
      onOutcome: (o) => {
        produced = o;
      },
    });
  } finally {
    // After producing, also when the run then fails: what was delivered is each outcome's last state.
    if (produced) {
      const done = produced;
      const entry = (c: TickChange): LatestEntry => ({ key: c.key, value: c.state, seq: c.seq });
      // Not once the deadline's reserve is reached (a flush that ran out of time): the invocation
      // must end with its own error, and the next run that sees these changes records them.
      const recorded =
        deadline.remainingMs() > 0
          ? await deps.latest.record(LATEST_SCOPE, [...done.fresh.map(entry), ...alreadyProduced.map(entry), ...unchanged])
          : { written: 0, failed: 0 };
      if (recorded.failed > 0) {
        const error = recorded.error as Error | undefined;
        log.warn("outcomes' last produced states not written: a later run writes them (until then their changes are numbered from the older state)", {
          ticks: recorded.failed,
          error: String(error?.stack ?? error),
        });
      }
      warnRefreshFailed(log, done, 'ticks');
      deps.onProduced?.({
        new: done.fresh.length,
        duplicate: unchanged.length + done.duplicates,
        inFlight: done.inFlight,
        produced: sent.delivered,
        bytes: sent.bytes,
        refreshFailed: (done.refreshFailed ?? 0) + recorded.failed,
      });
    }
  }

  return {
    markets: counts.markets,
    rejections,
    prices: counts.prices,
    ticks: counts.ticks,
    new: outcome.fresh.length,
    duplicate: unchanged.length + outcome.duplicates,
    inFlight: outcome.inFlight,
    produced: sent.delivered,
    bytes: sent.bytes,
    flushMs: Math.round(sent.flushMs),
  };
}
