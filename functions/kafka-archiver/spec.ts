import { defineFunction } from '@laminar/spec';

export default defineFunction({
  name: 'kafka-archiver',
  description: 'Archives the producers’ Kafka topics to S3 bronze/ as JSON Lines, through a Kafka event source mapping.',
  entry: './src/handler.ts',
  memoryMb: 512,
  timeoutS: 120,
  architecture: 'arm64',
  env: {
    LAKE_BUCKET: { ref: { bucket: 'lake' } },
    ARCHIVE_PREFIX: 'bronze/',
    QUARANTINE_PREFIX: 'quarantine/kafka/',
    POWERTOOLS_SERVICE_NAME: 'kafka-archiver',
    POWERTOOLS_METRICS_NAMESPACE: 'Laminar',
  },
  // The EMF metrics it emits (dashboard, cost; checked against src/ by infra's tests).
  metrics: ['RecordsArchived', 'RecordsQuarantined', 'ObjectsWritten'],
  triggers: [
    {
      kind: 'kafka',
      topics: ['rss-items', 'polymarket-prices'],
      // Confluent Cloud: an API key pair is SASL/PLAIN, which the mapping calls BASIC_AUTH.
      cluster: { kind: 'self-managed', auth: 'BASIC_AUTH', secret: 'kafka-consumer-credentials' },
      batchSize: 1_000,
      batchingWindowS: 5,
      startingPosition: 'TRIM_HORIZON',
      // On-demand pollers: a batch that fails is retried until it succeeds or its records expire —
      // or, if the cap AWS documents for provisioned mode (10 retries with an on-failure
      // destination) applies here too, until its coordinates go to the DLQ (README, "The mapping").
      // That suits this function: bad records are quarantined, never thrown, so only S3 failures
      // fail a batch. Provisioned pollers would bound the
      // retries (maxRetries, then the DLQ) for ~$133 a month per poller and mapping — two topics, two
      // mappings: ~$266 at one poller each (pnpm cost).

    },
  ],
  // Quarantined records succeed (retrying cannot mend them), so neither Errors nor a DLQ would say
  // a producer is sending what the archive refuses; the quarantine line says why.
  metricAlarms: [{ metric: 'RecordsQuarantined', description: 'Kafka records were quarantined (not envelopes, or keys, headers or timestamps the archive cannot keep): their lines under quarantine/kafka/ say why' }],
  permissions: [
    // JSON Lines only: an archiver that could write bronze/*.csv would set off csv-validator's rule.
    { actions: ['s3:PutObject'], resource: { bucket: 'lake', prefix: 'bronze/*.jsonl' } },
    { actions: ['s3:PutObject'], resource: { bucket: 'lake', prefix: 'quarantine/kafka/*.jsonl' } },
  ],
});
