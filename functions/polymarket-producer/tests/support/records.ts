import { createHash } from 'node:crypto';

/** Deterministic stand-ins for Polymarket's identifiers, in their real formats. */
const digest = (seed: string) => createHash('sha256').update(seed).digest();
export const conditionIdOf = (seed: string) => `0x${digest(`condition:${seed}`).toString('hex')}`;
export const tokenIdOf = (seed: string) => BigInt(`0x${digest(`token:${seed}`).toString('hex')}`).toString().slice(0, 77);
const addressOf = (seed: string) => `0x${digest(`address:${seed}`).toString('hex').slice(0, 40)}`;

export interface RecordSpec {
  id: string;
  question: string;
  outcomes?: string[];
  prices?: string[];
  updatedAt?: string;
  volume?: number;
  liquidity?: number;
}

/**
 * A Gamma `/markets` record with the fields the real API sends (JSON-encoded string arrays,
 * amounts as strings and numbers, nested events, rewards, ~80 keys), so tolerance of unknown
 * fields is exercised by every test that uses one.
 */
export function gammaRecord(spec: RecordSpec): Record<string, unknown> {
  const outcomes = spec.outcomes ?? ['Yes', 'No'];
  const prices = spec.prices ?? ['0.5', '0.5'];
  const tokens = outcomes.map((o) => tokenIdOf(`${spec.id}:${o}`));
  const conditionId = conditionIdOf(spec.id);
  const slug = spec.question
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');
  const volume = spec.volume ?? 125_000.5 + Number(spec.id);
  const liquidity = spec.liquidity ?? 18_250.25;
  const bestBid = Number(prices[0]) - 0.005;
  return {
    id: spec.id,
    question: spec.question,
    conditionId,
    slug,
    resolutionSource: '',
    endDate: '2026-12-31T12:00:00Z',
    liquidity: String(liquidity),
    startDate: '2026-09-01T16:00:00.000Z',
    image: `https://polymarket-upload.s3.us-east-2.amazonaws.com/${slug}.png`,
    icon: `https://polymarket-upload.s3.us-east-2.amazonaws.com/${slug}.png`,
    description: `${spec.question} This market will resolve to "${outcomes[0]}" or "${outcomes[1] ?? outcomes[0]}" according to the official result published by the resolution source.`,
    outcomes: JSON.stringify(outcomes),
    outcomePrices: JSON.stringify(prices),
    volume: String(volume),
    active: true,
    closed: false,
    marketMakerAddress: '',
    createdAt: '2026-09-01T15:42:10.118207Z',
    updatedAt: spec.updatedAt ?? '2026-11-25T20:58:41.391224Z',
    new: false,
    featured: false,
    submitted_by: addressOf('submitter'),
    archived: false,
    resolvedBy: addressOf('resolver'),
    restricted: true,
    groupItemTitle: '',
    groupItemThreshold: '0',
    questionID: `0x${digest(`question:${spec.id}`).toString('hex')}`,
    enableOrderBook: true,
    orderPriceMinTickSize: 0.001,
    orderMinSize: 5,
    volumeNum: volume,
    liquidityNum: liquidity,
    endDateIso: '2026-12-31',
    startDateIso: '2026-09-01',
    hasReviewedDates: true,
    volume24hr: 4_210.77,
    volume1wk: 30_114.02,
    volume1mo: 98_020.4,
    volume1yr: volume,
    clobTokenIds: JSON.stringify(tokens),
    umaBond: '500',
    umaReward: '5',
    volume24hrClob: 4_210.77,
    volume1wkClob: 30_114.02,
    volume1moClob: 98_020.4,
    volume1yrClob: volume,
    volumeClob: volume,
    liquidityClob: liquidity,
    acceptingOrders: true,
    negRisk: false,
    events: [
      {
        id: String(Number(spec.id) + 90_000),
        ticker: slug,
        slug,
        title: spec.question,
        startDate: '2026-09-01T16:00:00.000Z',
        endDate: '2026-12-31T12:00:00Z',
        active: true,
        closed: false,
        archived: false,
        new: false,
        featured: false,
        restricted: true,
        liquidity,
        volume,
        openInterest: 0,
        enableOrderBook: true,
        negRisk: false,
        commentCount: 12,
        cyom: false,
        showAllOutcomes: true,
        showMarketImages: true,
      },
    ],
    ready: false,
    funded: false,
    acceptingOrdersTimestamp: '2026-09-01T15:44:03Z',
    cyom: false,
    competitive: 0.9712,
    pagerDutyNotificationEnabled: false,
    approved: true,
    clobRewards: [
      {
        id: String(Number(spec.id) * 3),
        conditionId,
        assetAddress: addressOf('usdc'),
        rewardsAmount: 0,
        rewardsDailyRate: 5,
        startDate: '2026-09-01',
        endDate: '2500-12-31',
      },
    ],
    rewardsMinSize: 50,
    rewardsMaxSpread: 3.5,
    spread: 0.01,
    oneDayPriceChange: -0.004,
    oneHourPriceChange: 0,
    oneWeekPriceChange: 0.021,
    lastTradePrice: Number(prices[0]),
    bestBid: Number(bestBid.toFixed(3)),
    bestAsk: Number((bestBid + 0.01).toFixed(3)),
    automaticallyActive: true,
    clearBookOnStart: true,
    showGmpSeries: false,
    showGmpOutcome: false,
    manualActivation: false,
    negRiskOther: false,
    umaResolutionStatuses: '[]',
    pendingDeployment: false,
    deploying: false,
    rfqEnabled: false,
    holdingRewardsEnabled: false,
    feesEnabled: false,
  };
}

/** A `POST /midpoints` answer: token id → midpoint as a decimal string, as the CLOB writes it. */
export function midpointsFor(records: Record<string, unknown>[], price = (_token: string, gamma: string) => gamma): Record<string, string> {
  const out: Record<string, string> = {};
  for (const r of records) {
    const tokens = JSON.parse(r.clobTokenIds as string) as string[];
    const prices = JSON.parse(r.outcomePrices as string) as string[];
    tokens.forEach((t, i) => {
      out[t] = price(t, prices[i] as string);
    });
  }
  return out;
}
