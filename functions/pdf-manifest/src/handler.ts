import { createS3Client, s3OptionsFromEnv } from '@laminar/aws';
import { defineHandler, MetricUnit, parseInput } from '@laminar/runtime';
import { configSchema } from './config.ts';
import { inputSchema } from './input.ts';
import { LIFETIME_CAPS, type ManifestResult, writeManifest } from './manifest.ts';

export type { ManifestResult };

export const handler = defineHandler({
  config: configSchema,
  // The result holds the presigned manifest URL, which opens every PDF it lists: not for traces.
  traceResponse: false,
  init: ({ config, tracer }) => ({ s3: tracer.captureAWSv3Client(createS3Client(s3OptionsFromEnv(config))), schema: inputSchema(config) }),
  handle: async (event: unknown, { deps, lambda, deadline, logger, metrics }): Promise<ManifestResult> => {
    const input = parseInput(deps.schema, event);
    logger.appendKeys({ bucket: input.bucket, prefix: input.prefix });
    logger.info('writing manifest', { suffix: input.suffix, expiresIn: input.expiresIn });

    // Cancels an upload in flight when the reserve is reached: the invocation then fails cleanly
    // (upload aborted, nothing visible) instead of being killed by Lambda's timeout mid-write.
    const result = await writeManifest(input, lambda.awsRequestId, {
      s3: deps.s3,
      checkDeadline: (what) => deadline.check(what),
      signal: deadline.signal,
      onAbortFailure: (error) => logger.warn('could not abort the multipart upload; the bucket lifecycle rule will', { error: error as Error }),
    });
    metrics.addMetric('ManifestObjects', MetricUnit.Count, result.count);
    metrics.addMetric('ObjectsScanned', MetricUnit.Count, result.scanned);
    metrics.addMetric('ManifestBytes', MetricUnit.Bytes, result.bytes);
    metrics.addMetric('ObjectsArchived', MetricUnit.Count, result.archived);
    if (result.cappedBy) {
      logger.warn(`the URLs live ${result.expiresIn} s, not the ${input.expiresIn} s asked for: ${LIFETIME_CAPS[result.cappedBy].why}`, {
        expiresIn: result.expiresIn,
        asked: input.expiresIn,
        expiresAt: result.expiresAt,
        cappedBy: result.cappedBy,
      });
    }
    if (result.unreachable > 0) {
      logger.warn(`${result.unreachable} matching keys are not in the manifest: a "." or ".." path segment, which no URL reaches`, {
        unreachable: result.unreachable,
        firstKeys: result.unreachableKeys,
      });
    }
    if (result.archived > 0) {
      logger.warn(`${result.archived} matching keys are not in the manifest: archived (GLACIER or DEEP_ARCHIVE), whose links S3 refuses until restored; restored copies are left out too (a listing does not tell them apart)`, {
        archived: result.archived,
        firstKeys: result.archivedKeys,
      });
    }
    logger.info('manifest written', { count: result.count, scanned: result.scanned, manifestKey: result.manifestKey, expiresAt: result.expiresAt });
    return result;
  },
});
