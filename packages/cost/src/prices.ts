/**
 * Every price the estimate uses, per region, in one place. USD, on-demand, first pricing tier (this
 * pipeline is far below any volume discount). Figures are AWS's public list prices as of `asOf`,
 * written down from the pricing pages; AWS changes them (DynamoDB on-demand halved in Nov 2024,
 * Lambda started billing INIT in Aug 2025): check them before quoting a number to anyone.
 */
export const PRICES_AS_OF = '2025-10';
export const PRICES_SOURCE =
  'aws.amazon.com/{lambda,eventbridge,dynamodb,s3,sqs,firehose,secrets-manager,cloudwatch,kms,xray}/pricing (public list prices, first tier); check before quoting';

export interface PriceTable {
  region: string;
  regionName: string;
  lambda: {
    requestsPerMillion: number;
    /** Per GB-second of billed duration (memory in GB × billed ms / 1000). */
    gbSecond: { x86_64: number; arm64: number };
    /**
     * Provisioned mode of a Kafka event source mapping: billed per Event Poller Unit-hour while
     * the minimum pollers run, whether records flow or not. The EPU price is the least certain
     * figure here; check it first.
     */
    eventPollerUnitHour: number;
    /**
     * Ephemeral storage (/tmp) above the free 512 MB, per GB-second of billed duration (the extra
     * GB × billed ms / 1000), either architecture. Regional: us-east-1 lists $0.0000000309,
     * eu-west-1 $0.000000034.
     */
    ephemeralStorageGbSecond: number;
  };
  eventBridge: {
    /** Custom and partner events put on a bus. Scheduled rules and AWS service events (S3 → default bus) are free. */
    customEventsPerMillion: number;
  };
  dynamodb: {
    /** On-demand: one WRU writes up to 1 KB; one RRU reads up to 4 KB strongly consistent (half for eventually consistent). */
    writeRequestUnitsPerMillion: number;
    readRequestUnitsPerMillion: number;
    storageGbMonth: number;
    /** Continuous backups (point-in-time recovery, which infra enables on every table), per GB of table. */
    pitrGbMonth: number;
  };
  s3: {
    /** S3 Standard, first 50 TB. */
    storageGbMonth: number;
    /** PUT, COPY, POST and LIST requests (each part of a multipart upload is one). */
    putCopyPostListPer1000: number;
    /** GET, SELECT and all other requests. */
    getPer1000: number;
  };
  sqs: {
    /** Standard queues; every 64 KB chunk of a payload is one request. */
    requestsPerMillion: number;
  };
  firehose: {
    /** Direct PUT ingestion, first 500 TB; each record is rounded up to the next 5 KB. */
    ingestionPerGb: number;
  };
  secretsManager: {
    secretMonth: number;
    apiCallsPer10000: number;
  };
  cloudWatch: {
    /** Logs ingestion (Lambda's vended logs, first 10 TB tier). */
    logsIngestionPerGb: number;
    logsStorageGbMonth: number;
    /** Standard-resolution metric alarm. */
    alarmMonth: number;
    /** A dashboard beyond the account's three free ones (free ones hold at most 50 metrics). */
    dashboardMonth: number;
    /**
     * A custom metric (each name × dimension set; the functions' EMF metrics and Powertools'
     * ColdStart), first 10,000, prorated by the hours it is sent in.
     */
    customMetricMonth: number;
  };
  kms: {
    /**
     * A customer-managed key (the alarm topic's) with yearly rotation, at steady state: $1 a month,
     * plus $1 for each of its first two rotations (AWS stops charging from the third) — so $1 in
     * year one, $2 in year two, $3 from then on.
     */
    keyMonth: number;
  };
  xray: {
    /** Traces recorded (active tracing samples each of these low-rate invocations). */
    tracesRecordedPerMillion: number;
  };
}

/** Firehose bills every record as a whole number of 5 KB blocks. */
export const FIREHOSE_RECORD_ROUNDING_BYTES = 5 * 1024;
/** AWS bills data in binary gigabytes. */
export const GB = 1024 ** 3;
/** Hours in the estimate's 30-day month. */
export const MONTH_HOURS = 720;

export const PRICES = {
  'us-east-1': {
    region: 'us-east-1',
    regionName: 'US East (N. Virginia)',
    lambda: { requestsPerMillion: 0.2, gbSecond: { x86_64: 0.0000166667, arm64: 0.0000133334 }, eventPollerUnitHour: 0.185, ephemeralStorageGbSecond: 0.0000000309 },
    eventBridge: { customEventsPerMillion: 1.0 },
    dynamodb: { writeRequestUnitsPerMillion: 0.625, readRequestUnitsPerMillion: 0.125, storageGbMonth: 0.25, pitrGbMonth: 0.2 },
    s3: { storageGbMonth: 0.023, putCopyPostListPer1000: 0.005, getPer1000: 0.0004 },
    sqs: { requestsPerMillion: 0.4 },
    firehose: { ingestionPerGb: 0.029 },
    secretsManager: { secretMonth: 0.4, apiCallsPer10000: 0.05 },
    cloudWatch: { logsIngestionPerGb: 0.5, logsStorageGbMonth: 0.03, alarmMonth: 0.1, dashboardMonth: 3, customMetricMonth: 0.3 },
    kms: { keyMonth: 3 },
    xray: { tracesRecordedPerMillion: 5 },
  },
  'eu-west-1': {
    region: 'eu-west-1',
    regionName: 'Europe (Ireland)',
    lambda: { requestsPerMillion: 0.2, gbSecond: { x86_64: 0.0000166667, arm64: 0.0000133334 }, eventPollerUnitHour: 0.185, ephemeralStorageGbSecond: 0.000000034 },
    eventBridge: { customEventsPerMillion: 1.0 },
    // PITR: us-east-1's $0.20 scaled as the region's storage price is ($0.283 / $0.25): check it.
    dynamodb: { writeRequestUnitsPerMillion: 0.7068, readRequestUnitsPerMillion: 0.1414, storageGbMonth: 0.283, pitrGbMonth: 0.2264 },
    s3: { storageGbMonth: 0.023, putCopyPostListPer1000: 0.005, getPer1000: 0.0004 },
    sqs: { requestsPerMillion: 0.4 },
    firehose: { ingestionPerGb: 0.031 },
    secretsManager: { secretMonth: 0.4, apiCallsPer10000: 0.05 },
    cloudWatch: { logsIngestionPerGb: 0.57, logsStorageGbMonth: 0.03, alarmMonth: 0.1, dashboardMonth: 3, customMetricMonth: 0.3 },
    kms: { keyMonth: 3 },
    xray: { tracesRecordedPerMillion: 5 },
  },
} as const satisfies Record<string, PriceTable>;

export type Region = keyof typeof PRICES;
export const REGIONS = Object.keys(PRICES) as Region[];

export function pricesFor(region: string): PriceTable {
  if (!(region in PRICES)) throw new Error(`no prices for region "${region}" (known: ${REGIONS.join(', ')}): add them to packages/cost/src/prices.ts`);
  return PRICES[region as Region];
}

/**
 * The always-free allowances of an account, per month (the toggle `--free-tier`; off by default,
 * as a production account shares them with everything else it runs). S3's 12-month free tier is
 * left out: accounts opened since July 2025 get credits instead.
 */
export const FREE_TIER = {
  lambdaRequests: 1_000_000,
  lambdaGbSeconds: 400_000,
  sqsRequests: 1_000_000,
  logsGb: 5,
  dynamodbStorageGb: 25,
  cloudWatchAlarms: 10,
  cloudWatchDashboards: 3,
  /** A free dashboard holds at most this many metrics. */
  cloudWatchDashboardMetrics: 50,
  cloudWatchMetrics: 10,
  xrayTracesRecorded: 100_000,
} as const;
