import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createDynamoDBClient, dynamoOptionsFromEnv, parseS3Event } from '@laminar/aws';
import { defineHandler, MetricUnit } from '@laminar/runtime';
import { type RecordResult, recordArrivals } from './audit.ts';
import { configSchema } from './config.ts';

export type { RecordResult };

export const handler = defineHandler({
  config: configSchema,
  init: ({ config, tracer }) => ({ db: DynamoDBDocumentClient.from(tracer.captureAWSv3Client(createDynamoDBClient(dynamoOptionsFromEnv(config)))) }),
  handle: async (event: unknown, { config, deps, deadline, logger, metrics }): Promise<RecordResult> => {
    // A shape that is not an S3 object event is an InputValidationError: async retries cannot help,
    // so it goes to the DLQ with the reason instead of being recorded as something it is not.
    const refs = parseS3Event(event);
    logger.appendKeys({ objects: refs.map((r) => `${r.bucket}/${r.key}`) });

    // Writes are idempotent, so stopping early only costs a retry; what it buys is a clear error
    // instead of Lambda's timeout killing a request the SDK is still retrying.
    const counts: RecordResult = { recorded: 0, alreadyRecorded: 0 };
    try {
      await recordArrivals(refs, { db: deps.db, tableName: config.AUDIT_TABLE, ttlDays: config.AUDIT_TTL_DAYS, signal: deadline.signal, counts });
    } finally {
      // Published even when a write failed: its retry counts what this invocation wrote as
      // DuplicateDeliveries, so ObjectsRecorded adds up to the ledger's items only if these count.
      metrics.addMetric('ObjectsRecorded', MetricUnit.Count, counts.recorded);
      metrics.addMetric('DuplicateDeliveries', MetricUnit.Count, counts.alreadyRecorded);
    }
    logger.info('arrivals recorded', { ...counts, events: refs.map((r) => r.eventName) });
    return counts;
  },
});
