import { createS3Client, s3OptionsFromEnv } from '@laminar/aws';
import { defineHandler, MetricUnit } from '@laminar/runtime';
import { type ArchiveResult, archiveBatch } from './archive.ts';
import { configSchema } from './config.ts';
import { parseKafkaEvent } from './event.ts';

export type { ArchiveResult };

export const handler = defineHandler({
  config: configSchema,
  init: ({ config, tracer }) => ({ s3: tracer.captureAWSv3Client(createS3Client(s3OptionsFromEnv(config))) }),
  handle: async (event: unknown, { config, deps, deadline, logger, metrics }): Promise<ArchiveResult> => {
    // Not a Kafka batch: InputValidationError, with the reason in the function's log. It cannot
    // succeed on a retry, yet the on-demand mapping (no maxRetries) retries it — until its records
    // expire, or up to the 10 retries AWS documents with an on-failure destination, holding its
    // partition back meanwhile: see the README's "The mapping".
    const batch = parseKafkaEvent(event);
    const result = await archiveBatch(batch, {
      s3: deps.s3,
      bucket: config.LAKE_BUCKET,
      archivePrefix: config.ARCHIVE_PREFIX,
      quarantinePrefix: config.QUARANTINE_PREFIX,
      concurrency: config.PUT_CONCURRENCY,
      signal: deadline.signal,
    });
    metrics.addMetric('RecordsArchived', MetricUnit.Count, result.archived);
    metrics.addMetric('RecordsQuarantined', MetricUnit.Count, result.quarantined);
    metrics.addMetric('ObjectsWritten', MetricUnit.Count, result.objects.length);
    if (result.quarantined > 0) logger.warn('records quarantined', { quarantined: result.quarantined, objects: result.objects.filter((o) => o.kind === 'quarantine').map((o) => o.key) });
    logger.info('batch archived', { records: result.records, archived: result.archived, quarantined: result.quarantined, objects: result.objects.length });
    return result;
  },
});
