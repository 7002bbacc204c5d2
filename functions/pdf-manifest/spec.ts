import { defineFunction } from '@laminar/spec';

export default defineFunction({
  name: 'pdf-manifest',
  description: 'Lists PDFs under an S3 prefix, presigns each and returns one presigned JSONL manifest URL.',
  entry: './src/handler.ts',
  memoryMb: 256,
  timeoutS: 300,
  architecture: 'arm64',
  env: {
    DEFAULT_BUCKET: { ref: { bucket: 'documents' } },
    MANIFEST_PREFIX: 'manifests/',
    URL_EXPIRY_SECONDS: '900',
    POWERTOOLS_SERVICE_NAME: 'pdf-manifest',
    POWERTOOLS_METRICS_NAMESPACE: 'Laminar',
  },
  // The EMF metrics it emits (dashboard, cost; checked against src/ by infra's tests).
  metrics: ['ManifestObjects', 'ObjectsScanned', 'ManifestBytes', 'ObjectsArchived'],
  triggers: [{ kind: 'invoke' }],
  // An async request that fails its retries lands in the DLQ (alarmed) instead of being dropped:
  // Lambda's default keeps no record of it. An hour: a manifest asked for later is stale anyway.
  // One that succeeds sends its result (the manifest URL, its only output, which Lambda discards
  // for an async caller) to queues/pdf-manifest-results.
  async: { maxRetries: 2, maxEventAgeS: 3600, onFailure: 'dlq', onSuccess: { queue: 'pdf-manifest-results' } },
  permissions: [
    { actions: ['s3:ListBucket'], resource: { bucket: 'documents' } },
    { actions: ['s3:GetObject'], resource: { bucket: 'documents', prefix: '*' } },
    {
      actions: ['s3:PutObject', 's3:AbortMultipartUpload'],
      resource: { bucket: 'documents', prefix: 'manifests/*' },
    },
  ],
  // A manifest is worth nothing once its links are dead: they live URL_EXPIRY_SECONDS, capped
  // by the signing credentials, and SigV4 signs for 7 days at most.
  expiringOutputs: [{ bucket: 'documents', prefix: 'manifests/', days: 8 }],
  logRetentionDays: 30,
});
