import { type KeptRejected, type RejectedRecord, type RejectsReport, rejectsReport, startKeeping } from '@laminar/aws';
import { type ClaimingInvocation, type DedupStore, invocationClaims, type LatestChange, type LatestRenewal, type LatestValueStore, publishOnce, warnRefreshFailed } from '@laminar/dedup';
import { deliveredBefore, type KafkaProducer, lazyMessages } from '@laminar/kafka';
import type { Config } from './config.ts';
import { listActiveMarkets, type RejectedMarket, type Rejection } from './gamma.ts';
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
  /** Each outcome's last recorded state and change number (LatestValueStore, same table as `store`). */
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
  /**
   * Keeps the rejected market records, each with its reasons and the record as Gamma sent it
   * (@laminar/aws's keepRejectedRecords into the function's own prefix). Without it they are
   * counted and logged only.
   */
  keepRejected?: (records: RejectedRecord[]) => Promise<KeptRejected>;
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
 * ticks = new + duplicate + inFlight, where a duplicate is a tick already produced (its outcome's
 * state unchanged), and in flight one another run holds: it claimed the tick, or recorded another
 * change of its outcome from the same state first (or, when the run then fails with
 * ChangesNotRecordedError, one whose change the table refused to record); produced = new (each
 * acknowledged by Kafka). A run whose flush fails returns no result: its metrics (onProduced)
 * count as well the ticks it claimed and did not deliver, released for the retry, so that
 * ticks = new + duplicate + inFlight + released holds for it.
 */
export interface RunResult {
  markets: { fetched: number; accepted: number; rejected: number; repeated: number; pages: number };
  /** Up to REJECTION_SAMPLE rejected records with their reasons. */
  rejections: Rejection[];
  /**
   * Where the rejected records went (only when the run was given somewhere to keep them):
   * markets.rejected = kept + notKept. A record not kept is read, rejected and kept again by the
   * next run (every run reads the whole listing).
   */
  rejects?: RejectsReport;
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
 * last renewal), outcomes' last-state records among them.
 */
export type ProducedCounts = Pick<RunResult, 'new' | 'duplicate' | 'inFlight' | 'produced' | 'bytes'> & {
  refreshFailed: number;
  /** Claimed, not delivered, and handed back for the retry: only a failed flush has any (publishOnce). */
  released: number;
};

/** A tick with its outcome's change number: the id it is claimed and produced under. */
interface NumberedTick {
  tick: PriceTick;
  seq: number;
}

/**
 * Changes the table refused to record (throttled past the SDK's retries, or a role without
 * dynamodb:UpdateItem): nothing was produced for those outcomes, everything else was. Thrown so
 * that Lambda retries the run (and the DLQ gets it once the retries are spent).
 */
export class ChangesNotRecordedError extends Error {
  override name = 'ChangesNotRecordedError';
  constructor(
    readonly outcomes: string[],
    cause: unknown,
  ) {
    super(
      `${outcomes.length} outcomes' price changes could not be recorded (${String((cause as Error | undefined)?.message ?? cause)}), so none of them was produced; ` +
        `the other ticks were. Retried, the run records and produces them (first: ${outcomes.slice(0, 3).join(', ')})`,
      { cause },
    );
  }
}

const quiet: Log = { info: () => undefined, warn: () => undefined };

/**
 * What names a rejected market from poll to poll: a market's record changes every few minutes
 * (prices, volumes, updatedAt) and a reason may quote a value that changed, so the market — by id,
 * else condition id, else slug — and the fields at fault name it, and one bad market is one object,
 * not one per run. A record with none of the three is named by its content.
 */
function marketIdentity(r: RejectedMarket): { identity?: string } {
  const record = (typeof r.record === 'object' && r.record !== null ? r.record : {}) as Record<string, unknown>;
  const named = (v: unknown) => (typeof v === 'string' && v.trim() !== '') || typeof v === 'number';
  const market = r.marketId !== undefined ? `market ${r.marketId}` : named(record.conditionId) ? `condition ${String(record.conditionId)}` : named(record.slug) ? `slug ${String(record.slug)}` : undefined;
  return market === undefined ? {} : { identity: `${market}: ${[...new Set(r.fields)].sort().join(', ')}` };
}

/** Markets → prices → ticks → Kafka: a tick for each change of an outcome's state (price, timestamp, source), once. */
export async function runOnce(deps: RunDeps): Promise<RunResult> {
  const { config, deadline } = deps;
  const log = deps.log ?? quiet;
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
  const rejections = listing.rejected.slice(0, REJECTION_SAMPLE).map(({ marketId, reason }) => ({ marketId, reason }));
  if (listing.rejected.length > 0) {
    log.warn('rejected Gamma market records', { rejected: listing.rejected.length, sample: rejections });
  }
  // Kept while the run goes on; a failure here fails nothing else (see RunResult.rejects).
  const source = `${config.GAMMA_API_URL}/markets`;
  const toKeep: RejectedRecord[] = listing.rejected.map((r) => ({ source, reasons: r.reasons, record: r.record, ...marketIdentity(r) }));
  const keeping = startKeeping(deps.keepRejected, toKeep);
  try {
    return await priceAndProduce(deps, http, listing, rejections, keeping);
  } finally {
    // Awaited however the run ends: the writes must not run on past the invocation.
    await keeping;
  }
}

async function priceAndProduce(
  deps: RunDeps,
  http: JsonClient,
  listing: Awaited<ReturnType<typeof listActiveMarkets>>,
  rejections: Rejection[],
  keeping: Promise<KeptRejected> | undefined,
): Promise<RunResult> {
  const { config, deadline } = deps;
  const log = deps.log ?? quiet;
  const now = deps.now ?? (() => new Date());

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
  // Each outcome's last recorded state and number (LatestValueStore). A changed state is recorded
  // as the next number before anything is produced; then every tick, changed or not, goes through
  // the claims under its id: produced ones are duplicates, and a change recorded by a run that
  // never produced it (killed, its flush failed) is produced now.
  const outcomes = built.ticks.map((tick) => ({ tick, key: outcomeKey(tick), state: tickState(tick) }));
  const seen = await deps.latest.read(
    LATEST_SCOPE,
    outcomes.map((o) => o.key),
  );
  const changes: LatestChange[] = [];
  const renewals: LatestRenewal[] = [];
  for (const { key, state } of outcomes) {
    const last = seen.get(key);
    if (last?.value === state) renewals.push({ key, seen: last });
    // Read at fetchedAt: over a record of a later reading (a run that started after this one and
    // recorded first) this older price gets no number, so it cannot pass for the newest change.
    else changes.push({ key, value: state, seen: last, observedAt: fetchedAt.getTime() });
  }
  const { numbers, failed: unrecorded, error: recordError } = await deps.latest.advance(LATEST_SCOPE, changes);
  // Unchanged outcomes' records, renewed when due (once a TTL) so that they outlive the claims under them.
  const renewed = await deps.latest.renew(LATEST_SCOPE, renewals);
  if (renewed.failed > 0) {
    const error = renewed.error as Error | undefined;
    log.warn("outcomes' last-state records not renewed: one that lapses while its outcome is still listed numbers that outcome's changes from 1 again", {
      outcomes: renewed.failed,
      error: String(error?.stack ?? error),
    });
  }
  const numbered: NumberedTick[] = [];
  // Outcomes another run moved to another state first, from the same one (theirs to produce), and
  // changes the table refused to record (this run fails once the others are produced).
  let raced = 0;
  for (const { tick, key, state } of outcomes) {
    const last = seen.get(key);
    const seq = numbers.get(key) ?? (last?.value === state ? last.seq : undefined);
    if (seq === undefined) raced++;
    else numbered.push({ tick, seq });
  }
  if (unrecorded.length > 0) {
    log.warn("outcomes' changes not recorded: nothing is produced for them; the run fails after producing the rest, and its retry records them", {
      outcomes: unrecorded.length,
      sample: unrecorded.slice(0, REJECTION_SAMPLE),
      error: String((recordError as Error | undefined)?.stack ?? recordError),
    });
  }

  let sent = { delivered: 0, bytes: 0, flushMs: 0 };
  const outcome = await publishOnce<NumberedTick>({
    store: deps.store,
    scope: DEDUP_SCOPE,
    items: numbered,
    idOf: (n) => tickId(n.tick, n.seq),
    ...(deps.invocation ? invocationClaims(deps.invocation) : {}),
    publish: async (fresh) => {
      // Rejects with FlushTimeoutError when not every message is acknowledged in time; the ticks
      // it says were delivered are confirmed, the others released, and the invocation fails, so
      // Lambda's retry produces those. (The send's messages are `fresh`, in order: its per-message
      // `published` flags line up with the ticks.)
      const messages = lazyMessages(fresh, (n) => toMessage(n.tick, n.seq, target));
      try {
        sent = await deps.producer.send(messages, { timeoutMs: deadline.remainingMs() });
      } catch (err) {
        // What was delivered is produced, whatever the run does next: counted as a send counts it.
        sent = { ...deliveredBefore(err, messages), flushMs: 0 };
        throw err;
      }
    },
    onOutcome: (o) => {
      warnRefreshFailed(log, o, 'ticks');
      const produced: ProducedCounts = {
        new: o.fresh.length,
        duplicate: o.duplicates,
        inFlight: o.inFlight + raced,
        released: o.released,
        produced: sent.delivered,
        bytes: sent.bytes,
        refreshFailed: (o.refreshFailed ?? 0) + renewed.failed,
      };
      deps.onProduced?.(produced);
      if (o.released > 0) {
        // The run fails next, with no result to log: this line is where its counts add up.
        log.warn('ticks released for a retry: producing failed, and the retry produces them', { ticks: counts.ticks, ...produced });
      }
    },
  });
  if (unrecorded.length > 0) throw new ChangesNotRecordedError(unrecorded, recordError);
  const kept = await keeping;
  if (kept && kept.failed > 0) {
    log.warn('rejected market records not kept: the next run keeps them', { notKept: kept.failed, error: kept.firstError });
  }
  return {
    markets: counts.markets,
    rejections,
    ...(deps.keepRejected ? { rejects: rejectsReport(kept) } : {}),
    prices: counts.prices,
    ticks: counts.ticks,
    new: outcome.fresh.length,
    duplicate: outcome.duplicates,
    inFlight: outcome.inFlight + raced,
    produced: sent.delivered,
    bytes: sent.bytes,
    flushMs: Math.round(sent.flushMs),
  };
}
