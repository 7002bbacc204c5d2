/**
 * The EMF metrics each function emits (Powertools `metrics.addMetric(name, …)` in
 * functions/<name>/src), for the stage dashboard. Specs have no field for them yet, so they are
 * declared here; tests/operability.test.ts reads the functions' sources and fails when this list and
 * the code disagree, in either direction.
 *
 * Every metric lands in the spec's POWERTOOLS_METRICS_NAMESPACE with the dimensions
 * `service` = POWERTOOLS_SERVICE_NAME (Powertools' default) and `stage` (the runtime adds LAMINAR_STAGE).
 */
export const EMF_METRICS: Readonly<Record<string, readonly string[]>> = {
  'csv-validator': [
    'RowsRead',
    'RowsValid',
    'RowsRejected',
    'FilesProcessed',
    'FilesPoisoned',
    'FilesRejected',
    'FilesSkipped',
    'DuplicateDeliveries',
    'ObjectsIgnored',
    'FilesFailed',
  ],
  'kafka-archiver': ['RecordsArchived', 'RecordsQuarantined', 'ObjectsWritten'],
  'object-audit': ['ObjectsRecorded'],
  'pdf-manifest': ['ManifestObjects', 'ObjectsScanned', 'ManifestBytes'],
  'polymarket-producer': [
    'MarketsFetched',
    'MarketsAccepted',
    'MarketsRejected',
    'MarketsRepeated',
    'PricesFromClob',
    'PricesFromGamma',
    'OutcomesUnpriced',
    'ClobFailedBatches',
    'TicksBuilt',
    'TicksNew',
    'TicksDuplicate',
    'TicksInFlight',
    'TicksProduced',
    'ProducedBytes',
  ],
  'rss-producer': ['FeedsFailed', 'ItemsFetched', 'ItemsNew', 'ItemsDuplicate', 'ItemsInFlight', 'ItemsRejected', 'MessagesProduced'],
  'store-inventory': ['RecordsGenerated', 'RecordsDelivered', 'RecordsFailed', 'PutRecordBatchCalls'],
};

/**
 * Emitted by @laminar/runtime's handler wrapper for every function on a cold start, with the
 * dimensions `service` and `function_name` (Powertools captureColdStartMetric).
 */
export const COLD_START_METRIC = 'ColdStart';
