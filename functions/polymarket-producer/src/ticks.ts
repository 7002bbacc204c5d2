import { envelope, type OutgoingMessage } from '@laminar/kafka';
import type { Market } from './gamma.ts';

export type PriceSource = 'clob-midpoint' | 'gamma-outcome-prices';

/** One outcome's price at one moment: what a `polymarket.price_tick` message carries (PriceTickPayload). */
export interface PriceTick {
  marketId: string;
  conditionId: string;
  question: string;
  slug: string;
  outcome: string;
  outcomeIndex: number;
  tokenId: string;
  /** Probability, 0..1. */
  price: number;
  priceSource: PriceSource;
  /**
   * The price timestamp (ISO 8601, UTC, ms): the market record's `updatedAt` at Gamma. See
   * README "Price timestamps" for why this and not the fetch time.
   */
  observedAt: string;
  /** When this invocation read the price. */
  fetchedAt: string;
  volume?: number;
  liquidity?: number;
  endDate?: string;
}

/**
 * A message's payload: the tick, and `change`, the number of its outcome's state change (1, 2, …
 * per outcome; the `#n` of its id). Consumers that keep each outcome's latest price keep the
 * highest number: two overlapping runs may produce an outcome's changes out of order.
 */
export type PriceTickPayload = PriceTick & { change: number };

export const TICK_TYPE = 'polymarket.price_tick';
export const TICK_SCHEMA_VERSION = 1;

/**
 * What a tick says about its outcome: the price, its timestamp (Gamma's `updatedAt`, README "Price
 * timestamps") and where the price came from. An outcome's change is recorded when this differs
 * from the last one recorded for that outcome (LatestValueStore); the CLOB's midpoint moves between
 * rewrites of Gamma's record, so a moved price under the same `updatedAt` is news. A price that
 * fell back to Gamma's copy (the CLOB failed) is marked: the CLOB's price for the same record,
 * equal to Gamma's, is then news too once the CLOB answers.
 */
export function tickState(t: Pick<PriceTick, 'marketId' | 'outcome' | 'observedAt' | 'price' | 'priceSource'>): string {
  // String(number): the shortest text that reads back as that number, so one price is one state.
  const state = `${t.marketId}:${t.outcome}:${t.observedAt}:${String(t.price)}`;
  return t.priceSource === 'gamma-outcome-prices' ? `${state}:gamma` : state;
}

/** The outcome a tick is about: the key of its last produced state. */
export function outcomeKey(t: Pick<PriceTick, 'marketId' | 'outcome'>): string {
  return `${t.marketId}:${t.outcome}`;
}

/**
 * The tick's id (dedup claim and envelope): its state and the number of the change, counted per
 * outcome. The number is what tells a price that returns to an earlier value (A#1, B#2, A#3) from
 * a repeat of that value, which a state alone could not: the return would be dropped as a
 * duplicate and consumers left holding B.
 */
export function tickId(t: Pick<PriceTick, 'marketId' | 'outcome' | 'observedAt' | 'price' | 'priceSource'>, seq: number): string {
  return `${tickState(t)}#${seq}`;
}

export interface BuiltTicks {
  ticks: PriceTick[];
  /** Outcomes neither the CLOB nor Gamma priced: no tick, but counted. */
  unpriced: { marketId: string; outcome: string }[];
  fromClob: number;
  fromGamma: number;
}

/**
 * One tick per outcome of every market: the CLOB midpoint where the CLOB has one, else Gamma's
 * `outcomePrices` for that outcome (Gamma's own copy, refreshed less often), and the tick says
 * which.
 */
export function buildTicks(markets: readonly Market[], clob: ReadonlyMap<string, number>, fetchedAt: Date): BuiltTicks {
  const out: BuiltTicks = { ticks: [], unpriced: [], fromClob: 0, fromGamma: 0 };
  const fetched = fetchedAt.toISOString();
  for (const m of markets) {
    const observedAt = m.updatedAt.toISOString();
    m.outcomes.forEach((outcome, i) => {
      const tokenId = m.tokenIds[i] as string;
      const midpoint = clob.get(tokenId);
      const fallback = m.gammaPrices?.[i];
      if (midpoint === undefined && fallback === undefined) {
        out.unpriced.push({ marketId: m.id, outcome });
        return;
      }
      const priceSource: PriceSource = midpoint !== undefined ? 'clob-midpoint' : 'gamma-outcome-prices';
      if (midpoint !== undefined) out.fromClob++;
      else out.fromGamma++;
      out.ticks.push({
        marketId: m.id,
        conditionId: m.conditionId,
        question: m.question,
        slug: m.slug,
        outcome,
        outcomeIndex: i,
        tokenId,
        price: (midpoint ?? fallback) as number,
        priceSource,
        observedAt,
        fetchedAt: fetched,
        ...(m.volume !== undefined ? { volume: m.volume } : {}),
        ...(m.liquidity !== undefined ? { liquidity: m.liquidity } : {}),
        ...(m.endDate !== undefined ? { endDate: m.endDate } : {}),
      });
    });
  }
  return out;
}

export interface MessageTarget {
  topic: string;
  /** Base URLs, named as the envelope's source by where the price came from. */
  gammaUrl: string;
  clobUrl: string;
}

/**
 * Keyed by market id: every outcome of one market lands on one partition, so a consumer reads a
 * market's outcome prices in the order they were produced and can keep per-market state (the
 * outcomes of a binary market sum to ~1) without joining across partitions.
 */
export function toMessage(tick: PriceTick, seq: number, target: MessageTarget): OutgoingMessage {
  const { value, headers } = envelope({
    type: TICK_TYPE,
    source: tick.priceSource === 'clob-midpoint' ? target.clobUrl : target.gammaUrl,
    id: tickId(tick, seq),
    observedAt: new Date(tick.observedAt),
    payload: { ...tick, change: seq } satisfies PriceTickPayload,
    schemaVersion: TICK_SCHEMA_VERSION,
  });
  return { topic: target.topic, key: tick.marketId, value, headers };
}
