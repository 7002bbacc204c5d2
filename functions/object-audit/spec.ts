import { defineFunction } from '@laminar/spec';

export default defineFunction({
  name: 'object-audit',
  description: 'Records every .csv (or .CSV, as the rule matches) arriving in bronze/ (key, size, etag, time) in a DynamoDB ledger (one item per arrival; a redelivered event is recognized, not recorded again).',
  entry: './src/handler.ts',
  memoryMb: 128,
  timeoutS: 30,
  architecture: 'arm64',
  env: {
    AUDIT_TABLE: { ref: { table: 'object-arrivals' } },
    AUDIT_TTL_DAYS: '400',
    POWERTOOLS_SERVICE_NAME: 'object-audit',
    POWERTOOLS_METRICS_NAMESPACE: 'Laminar',
  },
  tables: [{ name: 'object-arrivals', kind: 'ledger' }],
  // Same pattern as csv-validator and the bronze-arrivals queue: one EventBridge rule feeds all three.
  // So the ledger holds the CSV uploads (what the fan-out audits), not kafka-archiver's
  // .jsonl batches, which also land in bronze/: auditing those would take a rule of its own (a
  // `suffix: ''` pattern), invoked for every archived batch.
  // The EMF metrics it emits (dashboard, cost; checked against src/ by infra's tests).
  // ObjectsRecorded counts ledger items created; DuplicateDeliveries the redeliveries whose item was
  // already there (the conditional PutItem needs no permission beyond dynamodb:PutItem).
  metrics: ['ObjectsRecorded', 'DuplicateDeliveries'],
  triggers: [{ kind: 's3', bucket: 'lake', prefix: 'bronze/', suffix: '.csv', alsoUpperCaseSuffix: true }],
  permissions: [{ actions: ['dynamodb:PutItem'], resource: { table: 'object-arrivals' } }],
  async: { maxRetries: 2, maxEventAgeS: 3600, onFailure: 'dlq' },
});
