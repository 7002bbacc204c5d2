import { defineFunction } from '@laminar/spec';

export default defineFunction({
  name: 'csv-validator',
  description: 'Validates CSV files landing in bronze/ and writes valid rows to silver/, rejected rows to quarantine/.',
  entry: './src/handler.ts',
  // CPU follows memory on Lambda (1,769 MB = one vCPU): parsing is CPU-bound, memory use is flat.
  memoryMb: 1024,
  timeoutS: 900,
  architecture: 'arm64',
  env: {
    LAKE_BUCKET: { ref: { bucket: 'lake' } },
    SILVER_PREFIX: 'silver/',
    QUARANTINE_PREFIX: 'quarantine/',
    IDEMPOTENCY_TABLE: { ref: { table: 'csv-idempotency' } },
    POWERTOOLS_SERVICE_NAME: 'csv-validator',
    POWERTOOLS_METRICS_NAMESPACE: 'Laminar',
  },
  tables: [{ name: 'csv-idempotency', kind: 'idempotency' }],
  triggers: [{ kind: 's3', bucket: 'lake', prefix: 'bronze/', suffix: '.csv' }],
  permissions: [
    // Lets S3 answer 404 rather than 403 for an object deleted before processing: a clean skip, not a retry.
    { actions: ['s3:ListBucket'], resource: { bucket: 'lake', prefix: 'bronze/*' } },
    { actions: ['s3:GetObject', 's3:GetObjectVersion'], resource: { bucket: 'lake', prefix: 'bronze/*' } },
    { actions: ['s3:PutObject', 's3:AbortMultipartUpload'], resource: { bucket: 'lake', prefix: 'silver/*' } },
    { actions: ['s3:PutObject', 's3:AbortMultipartUpload'], resource: { bucket: 'lake', prefix: 'quarantine/*' } },
    {
      actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'],
      resource: { table: 'csv-idempotency' },
    },
  ],
  async: { maxRetries: 2, maxEventAgeS: 3600, onFailure: 'dlq' },
});
