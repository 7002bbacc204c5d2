import { createHash } from 'node:crypto';
import { deliveredBefore, envelope, type KafkaProducer, lazyMessages, type OutgoingMessage } from '@laminar/kafka';
import { type KeptRejected, type RejectedRecord, type RejectsReport, rejectsReport, startKeeping } from '@laminar/aws';
import { type PublishOutcome as DedupOutcome, warnRefreshFailed } from '@laminar/dedup';
import { DeadlineExceededError, type InitContext } from '@laminar/runtime';
import type { FeedStateStore } from './feed-state.ts';
import { type FeedClock, type FetchOutcome, fetchFeed, mapLimit, type Validators } from './fetch.ts';
import { type RejectedEntry, type RssItem, normalizeEntries } from './normalize.ts';
import { decodeBody, FeedParseError, type FeedFormat, parseFeedDocument, type RawEntry, type UnreadEntries } from './parse.ts';

export interface FeedReport {
  url: string;
  /** `stopped`: not fetched, or cut short, for want of the invocation's time — later runs read it. */
  status: 'ok' | 'not-modified' | 'failed' | 'stopped';
  reason?: string;
  format?: FeedFormat;
  /** Entries in the document; fetched = new + duplicate + rejected. */
  fetched: number;
  new: number;
  /** Already produced, repeated within this run, or being produced by a concurrent invocation. */
  duplicate: number;
  rejected: number;
}

export interface RunResult {
  feeds: FeedReport[];
  /** fetched = new + duplicate + inFlight + rejected + released. */
  totals: {
    feeds: number;
    fetched: number;
    new: number;
    duplicate: number;
    inFlight: number;
    rejected: number;
    /**
     * Claimed for producing, not delivered, and handed back for the retry (publishOnce). Only a
     * run whose flush failed has any, and such a run returns no result: its counts, this one
     * included, are in its metrics (onProduced) and its "items released" warning. 0 here.
     */
    released: number;
    failedFeeds: number;
    /** Feeds the invocation's time did not reach: not bad feeds, a run too short for its feeds. */
    stoppedFeeds: number;
    produced: number;
  };
  /**
   * Where the rejected entries went (only when the run was given somewhere to keep them):
   * totals.rejected = kept + notKept. Kept: in S3, written now or by an earlier run (the same
   * entry still served). Not kept: the write failed, and their feeds are read whole again next
   * run (their validators are not saved), which tries again.
   */
  rejects?: RejectsReport;
}

/** What fetching and parsing gave, before anything is produced. */
export type FetchedCounts = Pick<RunResult['totals'], 'feeds' | 'fetched' | 'rejected' | 'failedFeeds' | 'stoppedFeeds'>;

export interface RunOptions {
  feedUrls: readonly string[];
  topic: string;
  timeoutMs: number;
  maxBytes: number;
  concurrency: number;
}

/** What publishOnce did, its items feed items. */
export type PublishOutcome = DedupOutcome<RssItem>;

/** @laminar/dedup's publishOnce with its store and scope bound (a seam for unit tests). */
export type PublishOnce = (a: {
  items: RssItem[];
  idOf: (item: RssItem) => string;
  publish: (fresh: RssItem[]) => Promise<void>;
  /** Told what was done once publishing is over, whether publishOnce then returns or throws. */
  onOutcome: (outcome: PublishOutcome) => void;
}) => Promise<PublishOutcome>;

/**
 * What producing did, in the totals' terms; `refreshFailed`: dedup records of items still listed
 * whose expiry could not be renewed (they are forgotten, and produced again, a TTL after their
 * last renewal).
 */
export type ProducedCounts = Pick<RunResult['totals'], 'new' | 'duplicate' | 'inFlight' | 'released' | 'produced'> & { refreshFailed: number };

/** The Powertools logger the runtime hands out, as far as this module uses it. */
export type Log = Pick<InitContext<unknown>['logger'], 'info' | 'warn'>;

export interface RunDeps {
  feedState: FeedStateStore;
  publishOnce: PublishOnce;
  /** Started at once, so connecting overlaps fetching; awaited only when there is something to send. */
  producer: () => Promise<KafkaProducer>;
  deadline: { remainingMs(): number };
  log: Log;
  /**
   * Told what fetching and parsing gave before anything is produced, so those counts are known
   * (to metrics, say) even when producing then fails the run.
   */
  onFetched?: (counts: FetchedCounts) => void;
  /**
   * Told what producing did as soon as it is over, also when the run then fails: a flush that
   * delivered 30 of 35 items confirmed those 30 (the retry finds them duplicates) and released
   * the other 5 (fetched = new + duplicate + inFlight + rejected + released holds), and an
   * EarlierAttemptClaimsError comes after everything else was produced — counted only on
   * success, neither would be counted anywhere. Not called when claiming fails (nothing was
   * produced).
   */
  onProduced?: (counts: ProducedCounts) => void;
  /**
   * Keeps the rejected entries, each with its reasons and the entry as read (@laminar/aws's
   * keepRejectedRecords into the function's own prefix). Without it they are counted and logged only.
   */
  keepRejected?: (records: RejectedRecord[]) => Promise<KeptRejected>;
  now?: () => Date;
  fetch?: typeof fetch;
  /** The clock of each feed's time limit (tests). */
  clock?: FeedClock;
}

/**
 * How long a feed's validators live: 40 % of the items' TTL. A feed answering 304 is not read, so
 * its items are not seen and their dedup records not renewed; once the validators lapse the feed
 * is fetched whole and its still-listed items, past half their TTL, are renewed (@laminar/dedup).
 * After every whole fetch each listed item has at least half its TTL left — so validators living
 * exactly half the TTL could lapse at the very moment the records do (the validators are saved
 * after the records were read), and the next run would produce those items again. The tenth of
 * the TTL between the two (16.8 h at 7 days, 2.4 h at the 1-day minimum) covers the schedule
 * period until the next run (15 min), a run's length, and feeds failing for that long.
 */
export function validatorTtlSeconds(ttlSeconds: number): number {
  return Math.floor(ttlSeconds * 0.4);
}

export const MESSAGE_TYPE = 'rss.item';

/**
 * Keyed by item id, not by feed host: one item always lands on one partition, so a redelivery
 * (at-least-once: a retry after a crash between flush and claim) follows the original on the
 * same partition, where a compacting or deduplicating consumer meets both; keying by host would
 * also pile a busy publisher onto one partition.
 */
export function toMessage(topic: string, item: RssItem, observedAt: Date): OutgoingMessage {
  const { value, headers } = envelope({ type: MESSAGE_TYPE, source: item.feedUrl, id: item.id, observedAt, payload: item });
  return { topic, key: item.id, value, headers };
}

/**
 * Where in the feed list a run starts fetching: a hash of the run's minute, so that runs on any
 * schedule (every 15 minutes with 3, 5 or 15 feeds, say) do not all start at the same feed.
 */
export function fetchStart(at: Date, feeds: number): number {
  if (feeds <= 1) return 0;
  return createHash('sha256').update(String(Math.floor(at.getTime() / 60_000))).digest().readUInt32BE(0) % feeds;
}

/**
 * Time kept for producing once fetching is cut off: a third of what is left, at most 30 s. Feeds
 * still downloading then stop ("stopped") and the run produces what the others gave.
 */
const produceReserveMs = (remainingMs: number) => Math.min(30_000, Math.floor(remainingMs / 3));

interface FeedWork {
  report: FeedReport;
  items: RssItem[];
  rejects?: RejectedRecord[];
  validators?: Validators;
}

/**
 * A feed's rejected entries as kept: each entry as the parser read it, with its reason; the
 * entries malformed XML kept from the parser, which cannot be told apart, as one record with
 * their count. Not the entry's place in the document: it shifts as the feed grows, and the same
 * entry would be kept again on every poll.
 */
function rejectsOf(url: string, rejected: RejectedEntry[], unread: UnreadEntries | undefined): RejectedRecord[] {
  // Without `base`, the URL the feed was served from: a redirect that rotates (a CDN, a signed
  // URL) would make the same entry another record on every poll.
  const records: RejectedRecord[] = rejected.map((r) => ({ source: url, reasons: [r.reason], record: r.record ? entryAsRead(r.record) : null }));
  if (unread && unread.count > 0) {
    // Named by their count and what is wrong, not where: the error's line moves as the feed grows.
    records.push({ source: url, reasons: [unread.reason], record: unread.excerpt !== undefined ? { excerpt: unread.excerpt } : null, count: unread.count, identity: `${unread.count} unread: ${unread.kind}` });
  }
  return records;
}

function entryAsRead(entry: RawEntry): Omit<RawEntry, 'base'> {
  const { base: _servedFrom, ...rest } = entry;
  return rest;
}

function digest(outcome: FetchOutcome, log: Log): FeedWork {
  const counts = { fetched: 0, new: 0, duplicate: 0, rejected: 0 };
  const { url } = outcome;
  if (outcome.status === 'not-modified') return { report: { url, status: 'not-modified', ...counts }, items: [] };
  if (outcome.status === 'failed' || outcome.status === 'stopped') return { report: { url, status: outcome.status, reason: outcome.reason, ...counts }, items: [] };
  try {
    const text = decodeBody(outcome.body, outcome.contentType, (message) => log.warn('feed charset', { url, message }));
    // Relative links resolve against where the body came from; the configured URL stays the
    // feed's name (its state, its report, its items' feedUrl and id scope).
    const parsed = parseFeedDocument(text, outcome.finalUrl, outcome.contentType);
    const { items, rejected } = normalizeEntries(url, parsed.entries, parsed.homepage, outcome.finalUrl);
    const rejects = rejectsOf(url, rejected, parsed.unread);
    // Entries malformed XML kept from the parser are the document's too: counted, with the reason.
    const unread = parsed.unread;
    if (unread) for (let i = 0; i < unread.count; i++) rejected.push({ reason: unread.reason });
    if (rejected.length > 0) logRejected(url, rejected, log);
    return {
      report: { url, status: 'ok', format: parsed.format, ...counts, fetched: parsed.entries.length + (unread?.count ?? 0), rejected: rejected.length },
      items,
      ...(rejects.length > 0 ? { rejects } : {}),
      validators: outcome.validators,
    };
  } catch (err) {
    // Whatever went wrong with this feed stays with it: the other feeds' items are produced.
    if (!(err instanceof FeedParseError)) log.warn('feed could not be digested', { url, error: String((err as Error)?.stack ?? err) });
    const reason = err instanceof FeedParseError ? err.message : `${(err as Error)?.name ?? 'Error'}: ${(err as Error)?.message ?? String(err)}`;
    return { report: { url, status: 'failed', reason, ...counts }, items: [] };
  }
}

/** Feeds named in the line that says the time ran out before them (the count says how many in all). */
const STOPPED_URLS_LOGGED = 20;

/** Rejected entries named in the log line, each by its place in the document and its guid. */
const REJECTED_SAMPLE = 10;
const GUID_LOGGED_CHARS = 200;

function logRejected(url: string, rejected: RejectedEntry[], log: Log): void {
  const reasons: Record<string, number> = {};
  for (const r of rejected) reasons[r.reason] = (reasons[r.reason] ?? 0) + 1;
  // Enough to find them in the feed: counts alone leave the feed's owner nothing to look up.
  const sample = rejected.slice(0, REJECTED_SAMPLE).map((r) => ({
    ...(r.entry !== undefined ? { entry: r.entry } : {}),
    ...(r.guid ? { guid: r.guid.length > GUID_LOGGED_CHARS ? `${r.guid.slice(0, GUID_LOGGED_CHARS)}…` : r.guid } : {}),
    reason: r.reason,
  }));
  log.info('entries rejected', { url, rejected: rejected.length, reasons, sample });
}

const sameValidators = (a: Validators | undefined, b: Validators) => a?.etag === b.etag && a?.lastModified === b.lastModified;

/**
 * One scheduled run: fetch every feed (bounded concurrency, conditional GET), normalize, drop
 * items already produced, produce the rest and flush within the invocation's time. A feed that
 * fails is reported and skipped; a failed flush fails the run (publishOnce has confirmed the items
 * the error says were delivered and released the others, so Lambda's retry produces those again).
 */
export async function runOnce(options: RunOptions, deps: RunDeps): Promise<RunResult> {
  const producer = deps.producer();
  // Only awaited if there is something to produce; a failure then surfaces there.
  producer.catch(() => undefined);
  try {
    return await runWith(producer, options, deps);
  } finally {
    await settledWithin(producer, deps.deadline.remainingMs());
  }
}

const ignore = () => undefined;

/**
 * Waits for a promise to settle, or for `ms` to pass. A run with nothing to produce returns while
 * the producer may still be connecting (fetching credentials, the SASL handshake): Lambda would
 * freeze the environment in the middle of it, and the next invocation, 15 minutes later, would
 * find a connect that timed out meanwhile and fail on it. A failed connect is not kept (the next
 * run tries again).
 */
async function settledWithin(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const elapsed = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, Math.max(0, ms));
  });
  await Promise.race([promise.then(ignore, ignore), elapsed]);
  clearTimeout(timer);
}

async function runWith(producer: Promise<KafkaProducer>, options: RunOptions, deps: RunDeps): Promise<RunResult> {
  const now = deps.now ?? (() => new Date());

  const known = await deps.feedState.load(options.feedUrls);
  const left = deps.deadline.remainingMs();
  const fetchOptions = {
    timeoutMs: options.timeoutMs,
    maxBytes: options.maxBytes,
    signal: AbortSignal.timeout(Math.max(0, left - produceReserveMs(left))),
    ...(deps.fetch ? { fetch: deps.fetch } : {}),
    ...(deps.clock ? { clock: deps.clock } : {}),
  };
  // Each body is parsed as soon as it arrives and then dropped: at most `concurrency` bodies are
  // held at once, never one per feed.
  // Fetched from a starting point that moves from run to run (the report keeps the configured
  // order): a run too short for its list stops another tail of it each time, so every feed is read
  // now and then while the FeedsStopped alarm says the runs are too short.
  const urls = options.feedUrls;
  const start = fetchStart(now(), urls.length);
  const order = urls.map((_, i) => (i + start) % urls.length);
  const work: FeedWork[] = new Array(urls.length);
  await mapLimit(order, options.concurrency, async (i) => {
    const url = urls[i] as string;
    work[i] = digest(await fetchFeed(url, known.get(url), fetchOptions), deps.log);
  });
  const observedAt = now();
  for (const w of work) {
    if (w.report.status === 'failed') deps.log.warn('feed failed', { url: w.report.url, reason: w.report.reason });
  }
  const stopped = work.filter((w) => w.report.status === 'stopped').map((w) => w.report.url);
  if (stopped.length > 0) {
    // One line, not one per feed: the run was too short for its feeds, none of them is at fault.
    deps.log.warn("feeds not read: the invocation's time ran out; later runs read them", {
      count: stopped.length,
      urls: stopped.slice(0, STOPPED_URLS_LOGGED),
    });
  }
  const sum = (k: 'fetched' | 'rejected') => work.reduce((n, w) => n + w.report[k], 0);
  // Producing changes only new/duplicate: these are the run's totals as well.
  const fetchedCounts: FetchedCounts = {
    feeds: work.length,
    fetched: sum('fetched'),
    rejected: sum('rejected'),
    failedFeeds: work.filter((w) => w.report.status === 'failed').length,
    stoppedFeeds: stopped.length,
  };
  deps.onFetched?.(fetchedCounts);

  // Kept while the items are produced; a failure here fails nothing else (see RunResult.rejects).
  const rejects = work.flatMap((w) => w.rejects ?? []);
  const keeping = startKeeping(deps.keepRejected, rejects);

  // The same item in two feeds (or twice in one) is produced once: the first feed listed keeps it.
  const unique = new Map<string, RssItem>();
  let repeated = 0;
  for (const w of work) {
    for (const item of w.items) {
      if (!unique.has(item.id)) unique.set(item.id, item);
      else {
        w.report.duplicate++;
        repeated++;
      }
    }
  }

  let produced = 0;
  let fresh: RssItem[] = [];
  let duplicates = 0;
  let inFlight = 0;
  let refresh: Pick<PublishOutcome, 'refreshFailed' | 'refreshFailedIds'> = {};
  const report = (o: Pick<PublishOutcome, 'fresh' | 'duplicates' | 'inFlight' | 'released' | 'refreshFailed' | 'refreshError'>) => {
    warnRefreshFailed(deps.log, o, 'items');
    const counts: ProducedCounts = { new: o.fresh.length, duplicate: o.duplicates + repeated, inFlight: o.inFlight, released: o.released, produced, refreshFailed: o.refreshFailed ?? 0 };
    deps.onProduced?.(counts);
    if (o.released > 0) {
      // The run fails next, with no result to log: this line is where its counts add up.
      deps.log.warn('items released for a retry: producing failed, and the retry produces them', { ...fetchedCounts, ...counts });
    }
  };
  // Awaited however producing ends: a failed flush must not leave the writes running past the invocation.
  try {
    if (unique.size > 0) {
      const outcome = await deps.publishOnce({
        items: [...unique.values()],
        idOf: (item) => item.id,
        publish: async (batch) => {
          if (batch.length === 0) return;
          // Connecting (and fetching credentials) may still be under way: the send's budget is what is left after it.
          const ready = await producer;
          const left = deps.deadline.remainingMs();
          if (left <= 0) throw new DeadlineExceededError(`stopped before producing ${batch.length} items: no time left to flush`);
          // Each message is encoded as the producer enqueues it: a run with tens of thousands of
          // items would otherwise hold all their envelopes at once, on top of the items.
          const messages = lazyMessages(batch, (item) => toMessage(options.topic, item, observedAt));
          let result: Awaited<ReturnType<KafkaProducer['send']>>;
          try {
            result = await ready.send(messages, { timeoutMs: left });
          } catch (err) {
            // FlushTimeoutError and DeliveryError say how many were delivered: produced, whatever the run does next.
            produced += deliveredBefore(err, messages).delivered;
            throw err;
          }
          produced += result.delivered;
          deps.log.info('produced', { topic: options.topic, messages: result.delivered, bytes: result.bytes, flushMs: result.flushMs });
        },
        onOutcome: report,
      });
      ({ fresh, duplicates, inFlight } = outcome);
      refresh = outcome;
    } else {
      report({ fresh: [], duplicates: 0, inFlight: 0, released: 0 });
    }
  } finally {
    await keeping;
  }
  const kept = await keeping;
  const notKeptFeeds = new Set(kept?.failedSources ?? []);
  if (kept && kept.failed > 0) {
    deps.log.warn('rejected entries not kept: their feeds are read whole again next run', { notKept: kept.failed, feeds: [...notKeptFeeds], error: kept.firstError });
  }

  const freshIds = new Set(fresh.map((i) => i.id));
  const feedsWithSeenItems = new Set<string>();
  // Items whose dedup record the table would not renew: a feed listing one must not get a 304
  // next run, which would hide the item until its record lapsed and it was produced again.
  const lapsing = new Set(refresh.refreshFailedIds ?? []);
  const feedsWithLapsingItems = new Set<string>();
  for (const w of work) {
    for (const item of w.items) {
      if (lapsing.has(item.id)) feedsWithLapsingItems.add(w.report.url);
      if (unique.get(item.id) !== item) {
        // A repeat, counted above. Its feed lists an item that is not new all the same: if another
        // invocation holds it and fails, this feed may be the one still listing it next run.
        if (!freshIds.has(item.id)) feedsWithSeenItems.add(w.report.url);
        continue;
      }
      if (freshIds.has(item.id)) w.report.new++;
      else {
        w.report.duplicate++;
        feedsWithSeenItems.add(w.report.url);
      }
    }
  }

  // A count without ids (a store that does not say which): any feed with items seen before may list one.
  const refreshFailedUnnamed = (refresh.refreshFailed ?? 0) > lapsing.size;

  // Validators are saved only now that the items are produced: saved earlier, a failed flush
  // would be retried against a 304 and lose them. A feed with items a concurrent invocation is
  // still producing keeps its old validators, so if that invocation fails the items come back.
  // So does a feed with items whose expiry refresh failed: read whole next run, it tries again.
  const toSave = work.flatMap((w) =>
    w.validators &&
    (w.validators.etag || w.validators.lastModified) &&
    !sameValidators(known.get(w.report.url), w.validators) &&
    !(inFlight > 0 && feedsWithSeenItems.has(w.report.url)) &&
    !feedsWithLapsingItems.has(w.report.url) &&
    !(refreshFailedUnnamed && feedsWithSeenItems.has(w.report.url)) &&
    // A 304 next run would not show the entries again, and they would never be kept.
    !notKeptFeeds.has(w.report.url)
      ? [[w.report.url, w.validators] as const]
      : [],
  );
  if (toSave.length > 0) await deps.feedState.save(toSave);

  const feeds = work.map((w) => w.report);
  return {
    feeds,
    totals: {
      feeds: fetchedCounts.feeds,
      fetched: fetchedCounts.fetched,
      new: fresh.length,
      duplicate: duplicates + repeated,
      inFlight,
      rejected: fetchedCounts.rejected,
      released: 0,
      failedFeeds: fetchedCounts.failedFeeds,
      stoppedFeeds: fetchedCounts.stoppedFeeds,
      produced,
    },
    ...(deps.keepRejected ? { rejects: rejectsReport(kept) } : {}),
  };
}
