import { z } from 'zod';
import type { JsonClient } from './http.ts';

/** One market as the rest of the function uses it: parsed, normalized, nothing else. */
export interface Market {
  id: string;
  conditionId: string;
  question: string;
  slug: string;
  /** Outcome names, index-aligned with tokenIds and gammaPrices. */
  outcomes: string[];
  /** CLOB token id per outcome. */
  tokenIds: string[];
  /** Gamma's own price per outcome (its `outcomePrices`), when it has them: the fallback price. */
  gammaPrices: number[] | undefined;
  /** Why `outcomePrices` was there but could not be used (the market then has the CLOB's prices only). */
  gammaPricesProblem?: string | undefined;
  /** When Gamma last wrote this market record: the price timestamp of its ticks. */
  updatedAt: Date;
  volume: number | undefined;
  liquidity: number | undefined;
  endDate: string | undefined;
}

export interface Rejection {
  /** The record's id when it had a usable one. */
  marketId: string | undefined;
  /** Every reason, joined with "; ". */
  reason: string;
}

/** A rejection with what is kept in S3: each reason on its own, and the record as Gamma sent it. */
export interface RejectedMarket extends Rejection {
  reasons: string[];
  /** The fields the reasons are about, without the values they quote (which change from poll to poll). */
  fields: string[];
  record: unknown;
}

export interface MarketListing {
  markets: Market[];
  rejected: RejectedMarket[];
  /** Records received over all pages; = markets + rejected + repeated. */
  fetched: number;
  /** Records whose id an earlier page already gave (offset pages shift while the listing changes). */
  repeated: number;
  pages: number;
}

/**
 * Gamma encodes some arrays as JSON inside a string (`"outcomes": "[\"Yes\", \"No\"]"`). Both that
 * and a plain array are accepted, in case the API ever sends the array itself.
 */
function jsonArray<T extends z.ZodType>(item: T) {
  return z
    .unknown()
    .transform((v, ctx) => {
      if (typeof v !== 'string') return v;
      try {
        return JSON.parse(v) as unknown;
      } catch {
        ctx.addIssue({ code: 'custom', message: `not a JSON-encoded array: ${JSON.stringify(v.slice(0, 40))}` });
        return z.NEVER;
      }
    })
    .pipe(z.array(item));
}

/** Numbers that Gamma and the CLOB write either as JSON numbers or as decimal strings ("0.615"). */
const decimal = z.unknown().transform((v, ctx) => {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && /^\s*(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?\s*$/.test(v)) return Number(v);
  ctx.addIssue({ code: 'custom', message: 'not a decimal number' });
  return z.NEVER;
});

/** A price: a probability, 0..1. */
export const probability = decimal.pipe(z.number().min(0).max(1));

/** Amounts such as volume and liquidity. */
const amount = decimal.pipe(z.number().finite().nonnegative());

/**
 * Gamma's timestamps are ISO 8601 with microseconds ("2026-11-25T20:58:41.391224Z"); some
 * records use the database form ("2026-11-25 20:58:41.391224+00"). A zone is required: without
 * one the instant would depend on the machine's time zone.
 */
const timestamp = z.string().transform((s, ctx) => {
  const iso = s
    .trim()
    .replace(' ', 'T')
    .replace(/([+-]\d{2})(\d{2})$/, '$1:$2')
    .replace(/([+-]\d{2})$/, '$1:00');
  const ms = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/i.test(iso) ? Date.parse(iso) : Number.NaN;
  if (Number.isNaN(ms)) {
    ctx.addIssue({ code: 'custom', message: `not an ISO 8601 timestamp with a zone: ${JSON.stringify(s.slice(0, 40))}` });
    return z.NEVER;
  }
  return new Date(ms);
});

/**
 * Every text field a tick carries is bounded, so one tick stays far below Kafka's 1 MB
 * message.max.bytes whatever Gamma sends: a single oversized tick would fail the flush of every
 * run until the market closed. The question is display text: cut, with "…" to show it was.
 * A slug is an address, useless cut short, and an id is a key: too long, they refuse the market,
 * with the reason, counted. Real questions and slugs are a few hundred characters at most.
 */
export const QUESTION_MAX_CHARS = 1000;
const SLUG_MAX_CHARS = 500;
const END_DATE_MAX_CHARS = 64;

/** At most `max` characters ending in "…" when cut; never splits a surrogate pair. */
function truncate(s: string, max: number): string {
  if (s.length <= max) return s;
  const cut = s.slice(0, max - 1);
  const last = cut.charCodeAt(cut.length - 1);
  return `${last >= 0xd800 && last <= 0xdbff ? cut.slice(0, -1) : cut}…`;
}

/**
 * What a market record must have to give price ticks. Loose: Gamma sends ~80 more fields (and
 * adds new ones); they are tolerated and ignored. Required fields missing or malformed reject
 * that record only, with the reason.
 */
export const gammaMarketSchema = z
  .looseObject({
    id: z.union([z.string().max(100, 'ids are at most 100 characters').regex(/^\S+$/, 'must be a non-empty id'), z.number().int().nonnegative().transform(String)]),
    question: z.string().trim().min(1).transform((q) => truncate(q, QUESTION_MAX_CHARS)),
    conditionId: z.string().regex(/^0x[0-9a-fA-F]{64}$/, 'must be 0x followed by 64 hex digits'),
    slug: z.string().trim().min(1).max(SLUG_MAX_CHARS, `slugs are at most ${SLUG_MAX_CHARS} characters`),
    // Bounded: an outcome is part of the dedup key, which DynamoDB caps at 2,048 bytes.
    outcomes: jsonArray(z.string().trim().min(1).max(200, 'outcome names are at most 200 characters')).pipe(z.array(z.string()).min(1, 'has no outcomes')),
    clobTokenIds: jsonArray(z.string().regex(/^\d+$/, 'token ids are decimal integers').max(100, 'token ids are at most 100 digits')),
    // Only the fallback where the CLOB has no price: read apart (readOutcomePrices), so a bad one
    // costs the fallback, never the market.
    outcomePrices: z.unknown().optional(),
    updatedAt: timestamp,
    active: z.boolean().nullish(),
    closed: z.boolean().nullish(),
    // Informational only: a bad value is dropped, not a reason to lose the market's prices.
    volume: amount.optional().catch(undefined),
    volumeNum: amount.optional().catch(undefined),
    liquidity: amount.optional().catch(undefined),
    liquidityNum: amount.optional().catch(undefined),
    endDate: z.string().max(END_DATE_MAX_CHARS).optional().catch(undefined),
  })
  .superRefine((m, ctx) => {
    if (m.clobTokenIds.length !== m.outcomes.length) {
      ctx.addIssue({
        code: 'custom',
        path: ['clobTokenIds'],
        message: `has ${m.clobTokenIds.length} token ids for ${m.outcomes.length} outcomes`,
      });
    }
    if (new Set(m.outcomes).size !== m.outcomes.length) {
      ctx.addIssue({ code: 'custom', path: ['outcomes'], message: 'has repeated outcome names' });
    }
    // The listing asks for active, open markets; a record saying otherwise has no current price.
    if (m.closed === true) ctx.addIssue({ code: 'custom', path: ['closed'], message: 'market is closed' });
    if (m.active === false) ctx.addIssue({ code: 'custom', path: ['active'], message: 'market is not active' });
  });

const outcomePricesSchema = jsonArray(probability).nullish();

/**
 * Gamma's outcomePrices, index-aligned with the outcomes, or why they cannot be used: then none
 * of them are (one bad value or a wrong count says the list is not to be trusted), and each
 * outcome has only its CLOB price. Absent is not a problem.
 */
function readOutcomePrices(raw: unknown, outcomes: number): { prices: number[] | undefined; problem?: string } {
  const parsed = outcomePricesSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { prices: undefined, problem: `${['outcomePrices', ...(issue?.path ?? []).map(String)].join('.')}: ${issue?.message ?? 'unreadable'}` };
  }
  const prices = parsed.data ?? undefined;
  if (prices && prices.length !== outcomes) return { prices: undefined, problem: `outcomePrices: has ${prices.length} prices for ${outcomes} outcomes` };
  return { prices };
}

/** Validates one raw record; never throws. */
export function parseMarket(raw: unknown): { ok: true; market: Market } | { ok: false; rejection: RejectedMarket } {
  const parsed = gammaMarketSchema.safeParse(raw);
  if (!parsed.success) {
    const record = typeof raw === 'object' && raw !== null ? (raw as Record<string, unknown>) : {};
    const id = record.id;
    const fields = parsed.error.issues.map((i) => i.path.map(String).join('.') || '(record)');
    const reasons = parsed.error.issues.map((i, n) => {
      const field = i.path[0];
      const missing = i.path.length === 1 && typeof field === 'string' && (record[field] === undefined || record[field] === null);
      return `${fields[n]}: ${missing ? 'missing' : i.message}`;
    });
    return {
      ok: false,
      rejection: { marketId: typeof id === 'string' || typeof id === 'number' ? String(id) : undefined, reason: reasons.join('; '), reasons, fields, record: raw ?? null },
    };
  }
  const m = parsed.data;
  const gamma = readOutcomePrices(m.outcomePrices, m.outcomes.length);
  return {
    ok: true,
    market: {
      id: m.id,
      conditionId: m.conditionId,
      question: m.question,
      slug: m.slug,
      outcomes: m.outcomes,
      tokenIds: m.clobTokenIds,
      gammaPrices: gamma.prices,
      ...(gamma.problem ? { gammaPricesProblem: gamma.problem } : {}),
      updatedAt: m.updatedAt,
      volume: m.volumeNum ?? m.volume,
      liquidity: m.liquidityNum ?? m.liquidity,
      endDate: m.endDate,
    },
  };
}

export interface ListOptions {
  baseUrl: string;
  http: JsonClient;
  /** Records to read at most; the last page asks only for what is left. */
  maxMarkets: number;
  /** Gamma serves at most 100 markets per page whatever `limit` asks. */
  pageSize?: number;
  /** Throws when the invocation must stop; called before each page. */
  checkDeadline?: (what: string) => void;
}

export const GAMMA_PAGE_SIZE = 100;

/**
 * Reads active, open markets page by page (`limit`/`offset`) until a page comes back shorter than
 * asked for or `maxMarkets` records were read. The busiest markets first (24 h volume), so the
 * cap keeps the ones that matter. Offset pages can shift while the ranking changes between
 * requests: a market seen twice (accepted or rejected) is counted once, its repeat in `repeated`;
 * one that moved across a page boundary the other way is picked up on the next run, five minutes
 * later.
 */
export async function listActiveMarkets(options: ListOptions): Promise<MarketListing> {
  const pageSize = options.pageSize ?? GAMMA_PAGE_SIZE;
  const out: MarketListing = { markets: [], rejected: [], fetched: 0, repeated: 0, pages: 0 };
  const seen = new Set<string>();
  while (out.fetched < options.maxMarkets) {
    options.checkDeadline?.('listing Gamma markets');
    const limit = Math.min(pageSize, options.maxMarkets - out.fetched);
    const query = new URLSearchParams({
      active: 'true',
      closed: 'false',
      order: 'volume24hr',
      ascending: 'false',
      limit: String(limit),
      offset: String(out.fetched),
    });
    const url = `${options.baseUrl}/markets?${query}`;
    const page = await options.http.json(url);
    if (!Array.isArray(page)) {
      throw new TypeError(`Gamma ${url} answered ${page === null ? 'null' : typeof page} instead of an array of markets`);
    }
    out.pages++;
    for (const raw of page.slice(0, limit)) {
      out.fetched++;
      const result = parseMarket(raw);
      // A rejected record with an id is one market too: served again on a later page, it is a
      // repeat, not a second rejection.
      const id = result.ok ? result.market.id : result.rejection.marketId;
      if (id !== undefined && seen.has(id)) {
        out.repeated++;
        continue;
      }
      if (id !== undefined) seen.add(id);
      if (result.ok) out.markets.push(result.market);
      else out.rejected.push(result.rejection);
    }
    if (page.length < limit) break;
  }
  return out;
}
