import { bucketsOf, byCodePoint, DEFAULT_EPHEMERAL_STORAGE_MB, describeS3KeyPattern, type FunctionSpec, hasDlq, kafkaMappings, kafkaTriggersOf, type QueueSpec, type S3Pattern, type S3Trigger, s3PatternKey, s3TriggersOf } from '@laminar/spec';
import type { Assumptions, FunctionAssumptions } from './assumptions.ts';
import { type DurationStatistic, type Durations, pickDuration } from './durations.ts';
import { FIREHOSE_RECORD_ROUNDING_BYTES, FREE_TIER, GB, MONTH_HOURS, PRICES_AS_OF, PRICES_SOURCE, type PriceTable } from './prices.ts';
import { firesPerMonth, MONTH_DAYS } from './schedule.ts';

/**
 * The monthly estimate: invocations from the triggers (schedules counted, event volumes assumed),
 * Lambda's requests and billed GB-seconds, the other services each function drives, and what is
 * shared (storage, secrets, queues). Pure: specs, assumptions, prices and measurements in, numbers
 * out — the CLI prints them and the console can show the same.
 */

export type Service = 'Lambda' | 'DynamoDB' | 'S3' | 'Firehose' | 'SQS' | 'Secrets Manager' | 'CloudWatch' | 'EventBridge' | 'Glue' | 'KMS' | 'X-Ray';

export interface LineItem {
  service: Service;
  item: string;
  quantity: number;
  unit: string;
  cost: number;
  note?: string;
  /** Not covered by the free tier (a dashboard over its metric limit). */
  notFree?: true;
}

export type DurationSource = 'measured' | 'assumed' | 'default';

export interface FunctionEstimate {
  name: string;
  architecture: FunctionSpec['architecture'];
  memoryMb: number;
  invocations: number;
  /** Where the invocations come from, one entry per trigger. */
  sources: string[];
  duration: {
    ms: number;
    source: DurationSource;
    statistic?: DurationStatistic;
    p95Ms?: number;
    initMs: number;
    coldStartShare: number;
  };
  /** Average billed duration: handler plus INIT on cold starts, each invocation rounded up to 1 ms. */
  billedMsPerInvocation: number;
  gbSeconds: number;
  lambda: LineItem[];
  other: LineItem[];
  lambdaCost: number;
  otherCost: number;
  total: number;
}

export interface Estimate {
  region: string;
  regionName: string;
  pricesAsOf: string;
  pricesSource: string;
  monthDays: number;
  freeTier: boolean;
  durationStatistic: DurationStatistic;
  functions: FunctionEstimate[];
  shared: LineItem[];
  freeTierCredits: LineItem[];
  totals: { lambda: number; other: number; functions: number; shared: number; freeTier: number; total: number };
  assumptions: string[];
  warnings: string[];
}

export interface EstimateInput {
  functions: readonly FunctionSpec[];
  queues?: readonly QueueSpec[];
  assumptions: Assumptions;
  prices: PriceTable;
  durations?: Durations;
  durationStatistic?: DurationStatistic;
  freeTier?: boolean;
}

const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits });
const sum = (items: readonly { cost: number }[]) => items.reduce((a, i) => a + i.cost, 0);

/** S3 event volume key: how the assumptions file names a pattern. */
export function s3PatternName(t: Pick<S3Pattern, 'bucket' | 'prefix' | 'suffix' | 'alsoUpperCaseSuffix'>): string {
  // As listings name it: a pattern that also takes the upper-case suffix is another rule, whose
  // volume is assumed on its own.
  return `${t.bucket}/${describeS3KeyPattern(t)}`;
}

/** Average billed ms of one invocation: cold ones bill INIT + handler as one duration, rounded up. */
export function billedMs(durationMs: number, initMs: number, coldStartShare: number): number {
  const warm = Math.max(1, Math.ceil(durationMs));
  const cold = Math.max(1, Math.ceil(durationMs + initMs));
  return (1 - coldStartShare) * warm + coldStartShare * cold;
}

/** GB-seconds of `invocations` at `billed` ms each; Lambda's GB is 1,024 MB. */
export function gbSeconds(invocations: number, billed: number, memoryMb: number): number {
  return invocations * (billed / 1000) * (memoryMb / 1024);
}

/**
 * The ephemeral storage (/tmp) line of a function, when it has more than the free 512 MB: the extra
 * GB for every billed second of every invocation, whether it writes to /tmp or not.
 */
function ephemeralStorage(f: FunctionSpec, invocations: number, billed: number, p: PriceTable): LineItem[] {
  const extraMb = f.ephemeralStorageMb - DEFAULT_EPHEMERAL_STORAGE_MB;
  if (extraMb <= 0) return [];
  const quantity = gbSeconds(invocations, billed, extraMb);
  return [
    {
      service: 'Lambda',
      item: 'ephemeral storage',
      quantity,
      unit: 'GB-s',
      cost: quantity * p.lambda.ephemeralStorageGbSecond,
      note: `/tmp ${fmt(f.ephemeralStorageMb)} MB: the ${fmt(extraMb)} MB above the free 512 MB, for the billed duration`,
    },
  ];
}

/** Bytes Firehose bills for `records` records of `recordBytes` each: every record rounds up to 5 KB. */
export function firehoseBilledBytes(records: number, recordBytes: number): number {
  return records * Math.ceil(recordBytes / FIREHOSE_RECORD_ROUNDING_BYTES) * FIREHOSE_RECORD_ROUNDING_BYTES;
}

export function estimate(input: EstimateInput): Estimate {
  const { assumptions: a, prices: p } = input;
  const statistic = input.durationStatistic ?? 'avg';
  const functions = [...input.functions].sort((x, y) => byCodePoint(x.name, y.name));
  const queues = [...(input.queues ?? [])].sort((x, y) => byCodePoint(x.name, y.name));
  const assumed: string[] = [];
  const warnings: string[] = [];
  const fa = (name: string): FunctionAssumptions => a.functions[name] ?? {};

  // Typos in the assumptions would silently count nothing: refuse names the specs do not have.
  const names = new Set(functions.map((f) => f.name));
  for (const n of Object.keys(a.functions)) if (!names.has(n)) throw new Error(`assumptions name function "${n}", which functions/ does not have`);
  for (const n of Object.keys(input.durations ?? {})) if (!names.has(n)) throw new Error(`durations name function "${n}", which functions/ does not have`);
  const patterns = new Set(s3Patterns(functions, queues).map(s3PatternName));
  for (const k of Object.keys(a.s3Events)) if (!patterns.has(k)) throw new Error(`assumptions give s3Events "${k}", which no trigger or queue subscribes to (known: ${[...patterns].join(', ') || 'none'})`);
  for (const k of Object.keys(a.queues)) if (!queues.some((q) => q.name === k)) throw new Error(`assumptions name queue "${k}", which queues/ does not declare`);

  const patternPerMonth = (t: S3Trigger): { n: number; text: string } => {
    const key = s3PatternName(t);
    const v = a.s3Events[key];
    if (!v) {
      warnings.push(`no s3Events assumption for ${key}: counted as 0 objects/day`);
      return { n: 0, text: `${key}: no assumption → 0` };
    }
    return { n: v.objectsPerDay * MONTH_DAYS, text: `${key}: ${fmt(v.objectsPerDay)}/day` };
  };
  for (const key of [...patterns].sort()) {
    const v = a.s3Events[key];
    if (v) assumed.push(`S3 ${key}: ${fmt(v.objectsPerDay)} objects/day${v.note ? ` — ${v.note}` : ''}`);
  }

  // Invocations from everything but Kafka; producers' runs then give the topics their volume.
  const base = new Map<string, { n: number; sources: string[] }>();
  for (const f of functions) {
    let n = 0;
    const sources: string[] = [];
    for (const t of f.triggers) {
      if (t.kind === 'schedule') {
        const fires = firesPerMonth(t.expression, a.cronReferenceYear);
        n += fires.perMonth;
        sources.push(`${t.expression} → ${fmt(fires.perMonth, 1)}${t.expression.startsWith('cron') ? ` (${fires.method})` : ''}`);
      } else if (t.kind === 's3') {
        const v = patternPerMonth(t);
        n += v.n;
        sources.push(v.text);
      } else if (t.kind === 'invoke') {
        const perDay = fa(f.name).invocationsPerDay;
        if (perDay === undefined) warnings.push(`${f.name}: no invocationsPerDay assumption for its invoke trigger: counted as 0`);
        n += (perDay ?? 0) * MONTH_DAYS;
        sources.push(`invoke: ${fmt(perDay ?? 0)}/day`);
      }
    }
    base.set(f.name, { n, sources });
  }

  const topics = new Map<string, { messages: number; bursts: number; text: string[] }>();
  for (const f of functions) {
    const per = fa(f.name).messagesPerInvocation;
    for (const v of Object.values(f.env)) {
      if (typeof v === 'string' || !('topic' in v.ref)) continue;
      const runs = base.get(f.name)?.n ?? 0;
      if (per === undefined) warnings.push(`${f.name} produces to ${v.ref.topic} but has no messagesPerInvocation assumption: counted as 0`);
      const t = topics.get(v.ref.topic) ?? { messages: 0, bursts: 0, text: [] };
      // One run's messages reach the topic together: one burst per run.
      t.messages += runs * (per ?? 0);
      t.bursts += per ? runs : 0;
      t.text.push(`${fmt(per ?? 0)} per ${f.name} run × ${fmt(runs, 1)} runs`);
      topics.set(v.ref.topic, t);
    }
  }
  for (const [name, v] of Object.entries(a.topics)) {
    topics.set(name, {
      messages: v.messagesPerDay * MONTH_DAYS,
      bursts: (v.burstsPerDay ?? v.messagesPerDay) * MONTH_DAYS,
      text: [`${fmt(v.messagesPerDay)}/day in ${fmt(v.burstsPerDay ?? v.messagesPerDay)} bursts/day (assumed${v.note ? `: ${v.note}` : ''})`],
    });
  }
  for (const [name, t] of [...topics].sort(([x], [y]) => byCodePoint(x, y))) {
    assumed.push(`Kafka ${name}: ${fmt(t.messages)} messages/month — ${t.text.join(' + ')}`);
  }

  const results: FunctionEstimate[] = [];
  for (const f of functions) {
    const own = fa(f.name);
    const b = base.get(f.name) as { n: number; sources: string[] };
    let invocations = b.n;
    const sources = [...b.sources];
    const lambda: LineItem[] = [];
    for (const t of kafkaTriggersOf(f)) {
      for (const topic of t.topics) {
        const v = topics.get(topic);
        if (!v) warnings.push(`${f.name} consumes ${topic}, which has no producer here and no topics assumption: counted as 0`);
        const bursts = v?.bursts ?? 0;
        const perBurst = bursts ? (v?.messages ?? 0) / bursts : 0;
        // The mapping invokes once per burst (its batching window gathers it), more when a burst exceeds the batch size.
        const n = bursts * Math.ceil(perBurst / t.batchSize);
        invocations += n;
        sources.push(`Kafka ${topic}: ${fmt(bursts, 1)} bursts × ⌈${fmt(perBurst, 1)}/${fmt(t.batchSize)}⌉`);
      }
      if (t.provisioned) {
        // Provisioned pollers run around the clock, records or not: the minimum is a fixed cost —
        // per mapping, and infra creates one mapping per topic (AWS takes one topic per mapping).
        const mappings = kafkaMappings('', t.topics).length;
        const hours = t.provisioned.minPollers * mappings * MONTH_HOURS;
        lambda.push({
          service: 'Lambda',
          item: `Kafka ESM provisioned pollers (min ${t.provisioned.minPollers} × ${mappings} mapping${mappings === 1 ? '' : 's'}, one per topic)`,
          quantity: hours,
          unit: 'EPU-hours',
          cost: hours * p.lambda.eventPollerUnitHour,
          // An EPU may carry several pollers (poller groups share them): one per minimum poller is the upper bound, exact for min 1.
          note: 'one event poller unit per minimum poller, all month; scaling above the minimum adds more; on-demand pollers cost nothing extra',
        });
      }
    }

    const measured = input.durations?.[f.name];
    const picked = measured ? pickDuration(measured, statistic) : undefined;
    const source: DurationSource = picked ? 'measured' : own.durationMs !== undefined ? 'assumed' : 'default';
    const durationMs = picked?.ms ?? own.durationMs ?? a.defaults.durationMs;
    const initMs = measured?.initMs ?? own.initMs ?? a.defaults.initMs;
    const coldStartShare = measured?.coldStartShare ?? own.coldStartShare ?? a.defaults.coldStartShare;
    // Measured records each rounded up, where known: the mean's rounding would bill less.
    const billed = picked?.statistic === 'avg' && measured?.avgBilledMs !== undefined ? measured.avgBilledMs : billedMs(durationMs, initMs, coldStartShare);
    const gbs = gbSeconds(invocations, billed, f.memoryMb);
    lambda.unshift(
      { service: 'Lambda', item: 'requests', quantity: invocations, unit: 'requests', cost: (invocations / 1e6) * p.lambda.requestsPerMillion },
      { service: 'Lambda', item: `duration (${f.architecture})`, quantity: gbs, unit: 'GB-s', cost: gbs * p.lambda.gbSecond[f.architecture] },
      ...ephemeralStorage(f, invocations, billed, p),
    );
    const durationNote =
      source === 'measured'
        ? `${fmt(durationMs, 1)} ms measured (${picked?.statistic}${measured?.source ? `, ${measured.source}` : ''})`
        : source === 'assumed'
          ? `${fmt(durationMs)} ms assumed${own.note ? ` — ${own.note}` : ''}`
          : `${fmt(durationMs)} ms (default: no measurement, no assumption)`;
    assumed.push(`${f.name}: ${durationNote}; INIT ${fmt(initMs)} ms on ${fmt(coldStartShare * 100)}% of invocations (cold starts)`);

    const other: LineItem[] = [];
    const coldStarts = invocations * coldStartShare;
    if (own.dynamodb) {
      const r = invocations * own.dynamodb.readUnits;
      const w = invocations * own.dynamodb.writeUnits;
      if (r) other.push({ service: 'DynamoDB', item: 'read request units', quantity: r, unit: 'RRU', cost: (r / 1e6) * p.dynamodb.readRequestUnitsPerMillion });
      if (w) other.push({ service: 'DynamoDB', item: 'write request units', quantity: w, unit: 'WRU', cost: (w / 1e6) * p.dynamodb.writeRequestUnitsPerMillion });
    } else if (f.tables.length) warnings.push(`${f.name} uses DynamoDB but has no dynamodb assumption: its requests count as 0`);
    if (own.s3) {
      const put = invocations * (own.s3.put + own.s3.list);
      const get = invocations * own.s3.get;
      if (put) other.push({ service: 'S3', item: 'PUT/LIST requests', quantity: put, unit: 'requests', cost: (put / 1000) * p.s3.putCopyPostListPer1000 });
      if (get) other.push({ service: 'S3', item: 'GET requests', quantity: get, unit: 'requests', cost: (get / 1000) * p.s3.getPer1000 });
    }
    for (const d of f.deliveryStreams) {
      if (!own.firehose) {
        warnings.push(`${f.name} owns Firehose ${d.name} but has no firehose assumption: its ingestion counts as 0`);
        continue;
      }
      const records = invocations * own.firehose.recordsPerInvocation;
      const actual = records * own.firehose.recordBytes;
      const billedBytes = firehoseBilledBytes(records, own.firehose.recordBytes);
      other.push({
        service: 'Firehose',
        item: `ingestion ${d.name}`,
        quantity: billedBytes / GB,
        unit: 'GB',
        cost: (billedBytes / GB) * p.firehose.ingestionPerGb,
        note: `${fmt(records)} records of ${fmt(own.firehose.recordBytes)} B = ${fmt(actual / GB, 4)} GB, billed as 5 KB each`,
      });
      // Firehose writes one object per buffer flush: when the buffer fills or its interval ends.
      const bySize = Math.ceil(actual / (d.buffering.sizeMb * 1024 * 1024));
      const byTime = Math.min(invocations, (MONTH_DAYS * 86_400) / Math.max(d.buffering.intervalS, 1));
      const objects = records > 0 ? Math.max(bySize, byTime) : 0;
      other.push({ service: 'S3', item: `PUT by Firehose ${d.name}`, quantity: objects, unit: 'requests', cost: (objects / 1000) * p.s3.putCopyPostListPer1000 });
      assumed.push(
        `${f.name} → Firehose ${d.name}: ${fmt(own.firehose.recordsPerInvocation)} records of ${fmt(own.firehose.recordBytes)} B per invocation (billed as ${fmt(Math.ceil(own.firehose.recordBytes / FIREHOSE_RECORD_ROUNDING_BYTES) * 5)} KB each)`,
      );
    }
    const secrets = f.secrets.filter((s) => s.from === 'secretsmanager');
    if (secrets.length) {
      // Credentials are fetched once per execution environment (cached for its lifetime).
      const calls = coldStarts * secrets.length;
      other.push({ service: 'Secrets Manager', item: 'GetSecretValue calls', quantity: calls, unit: 'calls', cost: (calls / 10_000) * p.secretsManager.apiCallsPer10000 });
    }
    const logBytes = invocations * (own.logBytesPerInvocation ?? a.defaults.logBytesPerInvocation);
    other.push({ service: 'CloudWatch', item: 'log ingestion', quantity: logBytes / GB, unit: 'GB', cost: (logBytes / GB) * p.cloudWatch.logsIngestionPerGb });
    // Steady state: `retention` days of logs are kept (stored compressed, so this is an upper bound).
    const storedGb = (logBytes / GB / MONTH_DAYS) * f.logRetentionDays;
    other.push({ service: 'CloudWatch', item: `log storage (${f.logRetentionDays} days)`, quantity: storedGb, unit: 'GB-month', cost: storedGb * p.cloudWatch.logsStorageGbMonth });
    if (hasDlq(f)) other.push({ service: 'CloudWatch', item: 'DLQ alarm', quantity: 1, unit: 'alarm', cost: p.cloudWatch.alarmMonth });
    // A Kafka consumer's alarms on its OffsetLag, on going without invocations (a mapping that cannot
    // poll) and on batches its mappings could not hand to their on-failure destination.
    if (kafkaTriggersOf(f).length) {
      other.push({ service: 'CloudWatch', item: 'Kafka offset lag, idle and destination-failure alarms', quantity: 3, unit: 'alarms', cost: 3 * p.cloudWatch.alarmMonth });
    }
    // The other alarms infra gives a function from its spec: one per metricAlarms entry, two on its
    // schedules' undelivered firings (while any wait, and on each new one) and one per schedule rule
    // on firings EventBridge could not put in that queue either, one per Firehose stream it feeds.
    const schedules = f.triggers.filter((t) => t.kind === 'schedule').length;
    const specAlarms = f.metricAlarms.length + (schedules ? 2 + schedules : 0) + f.deliveryStreams.length;
    if (specAlarms) {
      other.push({ service: 'CloudWatch', item: 'metric, undelivered-schedule and delivery-stream alarms', quantity: specAlarms, unit: specAlarms === 1 ? 'alarm' : 'alarms', cost: specAlarms * p.cloudWatch.alarmMonth });
    }
    // Its EMF metrics and Powertools' ColdStart: each name × dimension set is a custom metric, billed
    // by the hours it is sent in (a metric sent every hour costs the full month; counted so).
    const metrics = customMetricsOf(f);
    other.push({ service: 'CloudWatch', item: 'custom metrics (EMF, and ColdStart)', quantity: metrics, unit: 'metrics', cost: metrics * p.cloudWatch.customMetricMonth, note: 'a full month each: fewer if some are sent in fewer hours' });
    // Active tracing: these low-rate invocations are each sampled (1 a second, then 5 %).
    other.push({ service: 'X-Ray', item: 'traces recorded', quantity: invocations, unit: 'traces', cost: (invocations / 1e6) * p.xray.tracesRecordedPerMillion });
    // Infra gives every function errors, throttles and duration-p95 alarms.
    other.push({ service: 'CloudWatch', item: 'errors, throttles, p95 duration alarms', quantity: 3, unit: 'alarms', cost: 3 * p.cloudWatch.alarmMonth });
    // And one with an async invoke config, alarms on events Lambda dropped or could not hand to a destination.
    if (f.async) other.push({ service: 'CloudWatch', item: 'async dropped-event and destination-failure alarms', quantity: 2, unit: 'alarms', cost: 2 * p.cloudWatch.alarmMonth });

    const lambdaCost = sum(lambda);
    const otherCost = sum(other);
    results.push({
      name: f.name,
      architecture: f.architecture,
      memoryMb: f.memoryMb,
      invocations,
      sources,
      duration: { ms: durationMs, source, ...(picked ? { statistic: picked.statistic } : {}), ...(measured?.p95Ms !== undefined ? { p95Ms: measured.p95Ms } : {}), initMs, coldStartShare },
      billedMsPerInvocation: billed,
      gbSeconds: gbs,
      lambda,
      other,
      lambdaCost,
      otherCost,
      total: lambdaCost + otherCost,
    });
    const extra = [
      own.dynamodb ? `DynamoDB ${fmt(own.dynamodb.readUnits)} RRU + ${fmt(own.dynamodb.writeUnits)} WRU` : '',
      own.s3 ? `S3 ${fmt(own.s3.put)} PUT, ${fmt(own.s3.get)} GET, ${fmt(own.s3.list)} LIST` : '',
      `${fmt(own.logBytesPerInvocation ?? a.defaults.logBytesPerInvocation)} B of logs`,
    ].filter(Boolean);
    assumed.push(`${f.name} per invocation: ${extra.join('; ')}`);
  }

  const shared = sharedItems(functions, queues, a, p, patternPerMonth, assumed, warnings, results);
  const freeTierCredits = input.freeTier ? freeTier(results, shared, p) : [];

  const lambdaTotal = results.reduce((x, r) => x + r.lambdaCost, 0);
  const otherTotal = results.reduce((x, r) => x + r.otherCost, 0);
  const sharedTotal = sum(shared);
  const freeTotal = sum(freeTierCredits);
  return {
    region: p.region,
    regionName: p.regionName,
    pricesAsOf: PRICES_AS_OF,
    pricesSource: PRICES_SOURCE,
    monthDays: MONTH_DAYS,
    freeTier: input.freeTier ?? false,
    durationStatistic: statistic,
    functions: results,
    shared,
    freeTierCredits,
    totals: {
      lambda: lambdaTotal,
      other: otherTotal,
      functions: lambdaTotal + otherTotal,
      shared: sharedTotal,
      freeTier: freeTotal,
      total: lambdaTotal + otherTotal + sharedTotal + freeTotal,
    },
    assumptions: [
      `a month is ${MONTH_DAYS} days (${MONTH_HOURS} hours); cron schedules are counted over ${a.cronReferenceYear} and scaled to ${MONTH_DAYS} days`,
      ...assumed,
      'no failures: retries, DLQ messages and redrives add nothing here (each retry is a full invocation)',
      'Kafka itself (Confluent Cloud or an MSK cluster) is billed outside this estimate; so are data transfer out and Athena queries',
    ],
    warnings,
  };
}

function sharedItems(
  functions: readonly FunctionSpec[],
  queues: readonly QueueSpec[],
  a: Assumptions,
  p: PriceTable,
  patternPerMonth: (t: S3Trigger) => { n: number },
  assumed: string[],
  warnings: string[],
  results: readonly FunctionEstimate[],
): LineItem[] {
  const out: LineItem[] = [];
  const buckets = [...new Set([...functions.flatMap(bucketsOf), ...queues.flatMap((q) => q.subscribe.map((t) => t.bucket))])].sort();
  for (const b of buckets) {
    const gb = a.storage.bucketsGb[b];
    if (gb === undefined) warnings.push(`no storage.bucketsGb assumption for bucket ${b}: counted as 0 GB`);
    out.push({ service: 'S3', item: `storage ${b}`, quantity: gb ?? 0, unit: 'GB-month', cost: (gb ?? 0) * p.s3.storageGbMonth });
  }
  const tables = [...new Set(functions.flatMap((f) => f.tables.map((t) => t.name)))].sort();
  for (const t of tables) {
    const gb = a.storage.tablesGb[t] ?? 0;
    out.push({ service: 'DynamoDB', item: `storage ${t}`, quantity: gb, unit: 'GB-month', cost: gb * p.dynamodb.storageGbMonth });
    // Infra enables point-in-time recovery on every table.
    out.push({ service: 'DynamoDB', item: `continuous backups ${t}`, quantity: gb, unit: 'GB-month', cost: gb * p.dynamodb.pitrGbMonth });
  }
  if (buckets.length || tables.length) {
    assumed.push(
      `stored: ${[...buckets.map((b) => `s3 ${b} ${fmt(a.storage.bucketsGb[b] ?? 0, 2)} GB`), ...tables.map((t) => `table ${t} ${fmt(a.storage.tablesGb[t] ?? 0, 2)} GB`)].join(', ')}${a.storage.note ? ` — ${a.storage.note}` : ''}`,
    );
  }

  // What infra adds per stage for operations: the alarm topic's KMS key and the functions' dashboard
  // (a row per function: 5 Lambda metrics, its DLQ's depth, its EMF metrics and ColdStart).
  const dashboardMetrics = functions.reduce((n, f) => n + 5 + (hasDlq(f) ? 1 : 0) + customMetricsOf(f), 0);
  out.push({
    service: 'CloudWatch',
    item: `dashboard (${dashboardMetrics} metrics)`,
    quantity: 1,
    unit: 'dashboard',
    cost: p.cloudWatch.dashboardMonth,
    note: dashboardMetrics > FREE_TIER.cloudWatchDashboardMetrics ? `over the ${FREE_TIER.cloudWatchDashboardMetrics} metrics a free dashboard holds: billed even in a fresh account` : 'free if the account has fewer than 3',
    ...(dashboardMetrics > FREE_TIER.cloudWatchDashboardMetrics ? { notFree: true } : {}),
  });
  // Three alarms per S3 rule — a distinct pattern, event types included, as infra groups them — on the
  // events EventBridge could not deliver to its targets (while any wait, and on each new one) and on
  // those it could not put in the rule's queue either.
  const s3Rules = new Set(s3Patterns(functions, queues).map(s3PatternKey)).size;
  if (s3Rules) out.push({ service: 'CloudWatch', item: 'S3 rules: undelivered-event alarms', quantity: 3 * s3Rules, unit: 'alarms', cost: 3 * s3Rules * p.cloudWatch.alarmMonth });
  out.push({ service: 'KMS', item: 'alarm topic key', quantity: 1, unit: 'key', cost: p.kms.keyMonth, note: 'with yearly rotation, from year three ($1 in year one, $2 in year two)' });

  // Secrets: the functions' own (Secrets Manager ones; SSM standard parameters are free) and the Kafka mappings' credentials.
  const secrets = new Set<string>();
  for (const f of functions) {
    for (const s of f.secrets) if (s.from === 'secretsmanager') secrets.add(s.id);
    for (const t of kafkaTriggersOf(f)) if (t.cluster.kind === 'self-managed') secrets.add(t.cluster.secret);
  }
  if (secrets.size) {
    out.push({
      service: 'Secrets Manager',
      item: `secrets (${[...secrets].sort().join(', ')})`,
      quantity: secrets.size,
      unit: 'secrets',
      cost: secrets.size * p.secretsManager.secretMonth,
    });
  }

  for (const q of queues) {
    const subscribed = q.subscribe.reduce((n, t) => n + patternPerMonth(t).n, 0);
    // A function's async successes, when this queue is its on-success destination: every one of its
    // invocations counted as asynchronous, an upper bound (a synchronous call sends nothing).
    const senders = functions.filter((f) => f.async?.onSuccess?.queue === q.name).map((f) => f.name);
    const successes = results.filter((r) => senders.includes(r.name)).reduce((n, r) => n + r.invocations, 0);
    const messages = subscribed + successes;
    const consumer = a.queues[q.name]?.consumerRequestsPerMessage ?? 2;
    // EventBridge's (or Lambda's) SendMessage, then the consumers' receive and delete.
    const requests = messages * (1 + consumer);
    out.push({
      service: 'SQS',
      item: `queue ${q.name}`,
      quantity: requests,
      unit: 'requests',
      cost: (requests / 1e6) * p.sqs.requestsPerMillion,
      note: `${fmt(messages)} messages${successes ? ` (${senders.join(', ')}: every invocation's success, at most)` : ''} × (1 send + ${fmt(consumer, 1)} consumer requests)`,
    });
    assumed.push(`queue ${q.name}: consumers make ${fmt(consumer, 1)} requests per message${a.queues[q.name]?.note ? ` — ${a.queues[q.name]?.note}` : ''}`);
  }
  // One alarm per declared queue, on its oldest message's age (infra's EventQueue.alarmOnAge).
  if (queues.length) out.push({ service: 'CloudWatch', item: 'declared queues: oldest-message-age alarms', quantity: queues.length, unit: queues.length === 1 ? 'alarm' : 'alarms', cost: queues.length * p.cloudWatch.alarmMonth });

  // Free, and listed so the reader sees they were not forgotten.
  const scheduled = functions.reduce(
    (n, f) => n + f.triggers.reduce((m, t) => m + (t.kind === 'schedule' ? firesPerMonth(t.expression, a.cronReferenceYear).perMonth : 0), 0),
    0,
  );
  const s3Events = [...new Map(s3Patterns(functions, queues).map((t) => [s3PatternName(t), t] as const)).values()].reduce(
    (n, t) => n + patternPerMonth(t).n,
    0,
  );
  if (scheduled) out.push({ service: 'EventBridge', item: 'scheduled rule invocations', quantity: scheduled, unit: 'events', cost: 0, note: 'scheduled rules are free' });
  if (s3Events) out.push({ service: 'EventBridge', item: 'S3 events on the default bus', quantity: s3Events, unit: 'events', cost: 0, note: 'AWS service events are free; each matched target is invoked at no charge' });
  const glue = functions.flatMap((f) => f.deliveryStreams.flatMap((d) => (d.table ? [`${d.table.database}.${d.table.name}`] : [])));
  if (glue.length) out.push({ service: 'Glue', item: `Data Catalog tables (${glue.join(', ')})`, quantity: glue.length, unit: 'tables', cost: 0, note: 'partition projection stores no partitions: far below the free million objects' });
  return out;
}

/** A function's custom metrics: its EMF metrics and Powertools' ColdStart. */
const customMetricsOf = (f: FunctionSpec): number => f.metrics.length + 1;

/** Every S3 pattern something subscribes to: the functions' triggers and the queues' subscriptions. */
const s3Patterns = (functions: readonly FunctionSpec[], queues: readonly QueueSpec[]): S3Trigger[] => [...functions.flatMap(s3TriggersOf), ...queues.flatMap((q) => q.subscribe)];

/** The account's always-free allowances, taken off what this pipeline uses (never below zero). */
function freeTier(results: readonly FunctionEstimate[], shared: readonly LineItem[], p: PriceTable): LineItem[] {
  const out: LineItem[] = [];
  const requests = results.reduce((n, r) => n + r.invocations, 0);
  const freeRequests = Math.min(requests, FREE_TIER.lambdaRequests);
  out.push({ service: 'Lambda', item: 'free requests', quantity: freeRequests, unit: 'requests', cost: -(freeRequests / 1e6) * p.lambda.requestsPerMillion });
  // The free GB-seconds cover both architectures: credited at each one's share of the usage.
  const gbs = results.reduce((n, r) => n + r.gbSeconds, 0);
  const freeGbs = Math.min(gbs, FREE_TIER.lambdaGbSeconds);
  const durationCost = results.reduce((n, r) => n + r.gbSeconds * p.lambda.gbSecond[r.architecture], 0);
  out.push({ service: 'Lambda', item: 'free GB-seconds', quantity: freeGbs, unit: 'GB-s', cost: gbs ? -(freeGbs / gbs) * durationCost : 0 });
  const sqs = shared.filter((i) => i.service === 'SQS').reduce((n, i) => n + i.quantity, 0);
  if (sqs) {
    const free = Math.min(sqs, FREE_TIER.sqsRequests);
    out.push({ service: 'SQS', item: 'free requests', quantity: free, unit: 'requests', cost: -(free / 1e6) * p.sqs.requestsPerMillion });
  }
  const other = results.flatMap((r) => r.other);
  const logs = other.filter((i) => i.item === 'log ingestion').reduce((n, i) => n + i.quantity, 0);
  const freeLogs = Math.min(logs, FREE_TIER.logsGb);
  out.push({ service: 'CloudWatch', item: 'free log ingestion', quantity: freeLogs, unit: 'GB', cost: -freeLogs * p.cloudWatch.logsIngestionPerGb });
  const tableGb = shared.filter((i) => i.service === 'DynamoDB' && i.item.startsWith('storage ')).reduce((n, i) => n + i.quantity, 0);
  const freeTables = Math.min(tableGb, FREE_TIER.dynamodbStorageGb);
  if (freeTables) out.push({ service: 'DynamoDB', item: 'free storage', quantity: freeTables, unit: 'GB-month', cost: -freeTables * p.dynamodb.storageGbMonth });
  const alarms = [...other, ...shared].filter((i) => i.unit === 'alarm' || i.unit === 'alarms').reduce((n, i) => n + i.quantity, 0);
  const freeAlarms = Math.min(alarms, FREE_TIER.cloudWatchAlarms);
  if (freeAlarms) out.push({ service: 'CloudWatch', item: 'free alarms', quantity: freeAlarms, unit: 'alarms', cost: -freeAlarms * p.cloudWatch.alarmMonth });
  const metrics = other.filter((i) => i.unit === 'metrics').reduce((n, i) => n + i.quantity, 0);
  const freeMetrics = Math.min(metrics, FREE_TIER.cloudWatchMetrics);
  if (freeMetrics) out.push({ service: 'CloudWatch', item: 'free custom metrics', quantity: freeMetrics, unit: 'metrics', cost: -freeMetrics * p.cloudWatch.customMetricMonth });
  const traces = other.filter((i) => i.service === 'X-Ray').reduce((n, i) => n + i.quantity, 0);
  const freeTraces = Math.min(traces, FREE_TIER.xrayTracesRecorded);
  if (freeTraces) out.push({ service: 'X-Ray', item: 'free traces recorded', quantity: freeTraces, unit: 'traces', cost: -(freeTraces / 1e6) * p.xray.tracesRecordedPerMillion });
  const dashboards = shared.filter((i) => i.unit === 'dashboard' && !i.notFree).reduce((n, i) => n + i.quantity, 0);
  const freeDashboards = Math.min(dashboards, FREE_TIER.cloudWatchDashboards);
  if (freeDashboards) out.push({ service: 'CloudWatch', item: 'free dashboards', quantity: freeDashboards, unit: 'dashboards', cost: -freeDashboards * p.cloudWatch.dashboardMonth });
  return out;
}
