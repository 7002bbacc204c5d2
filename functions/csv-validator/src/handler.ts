import { createDynamoDBClient, createS3Client, dynamoOptionsFromEnv, parseS3Event, s3OptionsFromEnv } from '@laminar/aws';
import { DeadlineExceededError, defineHandler, MetricUnit } from '@laminar/runtime';
import { configSchema } from './config.ts';
import { removeLeftSpills } from './duplicates.ts';
import { settleOldGeneration } from './old-generation.ts';
import { PoisonFileError } from './outcome.ts';
import { createProcessor, type ObjectOutcome } from './processor.ts';

export type { ObjectOutcome };

export interface InvocationResult {
  objects: ObjectOutcome[];
  /** Sums over the objects validated (replayed ones included): rowsRead = valid + rejected. */
  rowsRead: number;
  valid: number;
  rejected: number;
}

export const handler = defineHandler({
  config: configSchema,
  init: ({ config, tracer, logger }) => {
    // Lambda (and each local environment) gives this process a /tmp of its own: what an earlier
    // process there left, it left by crashing.
    if (process.env.LAMBDA_TASK_ROOT) {
      const removed = removeLeftSpills();
      if (removed.length > 0) logger.warn('removed the duplicate-check spill folders a crashed invocation left in /tmp', { folders: removed });
    }
    const processor = createProcessor({
      s3: tracer.captureAWSv3Client(createS3Client(s3OptionsFromEnv(config))),
      dynamo: tracer.captureAWSv3Client(createDynamoDBClient(dynamoOptionsFromEnv(config))),
      config,
    });
    // Once everything long-lived is loaded: V8's old generation sized from it (src/old-generation.ts).
    settleOldGeneration();
    return { processor };
  },
  handle: async (event: unknown, { deps, lambda, deadline, logger, metrics }): Promise<InvocationResult> => {
    // Not an S3 event: InputValidationError, which retries cannot fix — it goes to the DLQ as is.
    const refs = parseS3Event(event);
    deps.processor.registerLambdaContext(lambda);

    const objects: ObjectOutcome[] = [];
    const failures: { key: string; error: unknown }[] = [];
    try {
      // One object at a time: each is CPU-bound, and a failure leaves the others done (a retry
      // replays those from the idempotency store and redoes only the failed one).
      for (const ref of refs) {
        logger.appendKeys({ bucket: ref.bucket, key: ref.key });
        try {
          const outcome = await deps.processor.process(ref, {
            requestId: lambda.awsRequestId,
            checkDeadline: (what) => deadline.check(what),
            // Cancels reads and uploads in flight when the reserve is reached, so the invocation
            // fails cleanly (uploads aborted, claim released) instead of being killed by Lambda's timeout.
            signal: deadline.signal,
            warn: (message, fields) => logger.warn(message, fields ?? {}),
          });
          objects.push(outcome);
          logOutcome(logger, outcome);
        } catch (error) {
          failures.push({ key: ref.key, error });
          if (error instanceof PoisonFileError) {
            // Once, when found; a retry's failure is still logged by the runtime wrapper (a warning).
            if (!error.repeated) logger.error('poison file: quarantine manifest written; failing so that the event reaches the DLQ after the retries', error);
          } else {
            logger.error('object failed; it will be retried', error as Error);
          }
          if (error instanceof DeadlineExceededError || deadline.signal.aborted) break;
        }
      }
    } finally {
      logger.removeKeys(['bucket', 'key']);
      recordMetrics(metrics, objects, failures);
    }
    if (failures.length === 1) throw failures[0]?.error;
    if (failures.length > 1) throw new AggregateError(failures.map((f) => f.error), `${failures.length} objects failed: ${failures.map((f) => f.key).join(', ')}`);
    return summarize(objects);
  },
});

function summarize(objects: ObjectOutcome[]): InvocationResult {
  const result: InvocationResult = { objects, rowsRead: 0, valid: 0, rejected: 0 };
  for (const o of objects) {
    if (o.status === 'ignored') continue;
    result.rowsRead += o.rowsRead;
    result.valid += o.valid;
    result.rejected += o.rejected;
  }
  return result;
}

type Metrics = Parameters<Parameters<typeof defineHandler>[0]['init']>[0]['metrics'];
type Logger = Parameters<Parameters<typeof defineHandler>[0]['init']>[0]['logger'];

/**
 * The work this invocation did. Every file lands in exactly one of FilesProcessed (validated row by
 * row), FilesRejected (quarantined whole) and FilesSkipped (its version was gone); replays did no
 * work and count only as DuplicateDeliveries. Row metrics reconcile: RowsRead = RowsValid + RowsRejected.
 * A file that failed counts in FilesPoisoned (no text at all: manifest written, failing on purpose
 * so that the event reaches the DLQ; counted by a request's first attempt, not its retries) or else
 * in FilesFailed (an error a retry may get past).
 */
function recordMetrics(metrics: Metrics, objects: ObjectOutcome[], failures: { error: unknown }[]): void {
  const count = { RowsRead: 0, RowsValid: 0, RowsRejected: 0, FilesProcessed: 0, FilesRejected: 0, FilesSkipped: 0, DuplicateDeliveries: 0, ObjectsIgnored: 0 };
  for (const o of objects) {
    if (o.status === 'ignored') count.ObjectsIgnored++;
    // Superseded: another invocation took the claim over and stored (and counts) its own result.
    else if (o.replayed || o.superseded) count.DuplicateDeliveries++;
    else {
      count.RowsRead += o.rowsRead;
      count.RowsValid += o.valid;
      count.RowsRejected += o.rejected;
      if (o.status === 'validated') count.FilesProcessed++;
      else if (o.status === 'rejected') count.FilesRejected++;
      else count.FilesSkipped++;
    }
  }
  for (const [name, value] of Object.entries(count)) metrics.addMetric(name, MetricUnit.Count, value);
  const poison = failures.filter((f) => f.error instanceof PoisonFileError);
  // Not attempts: a poison file fails each of its attempts, and counts on the first (outcome.ts).
  const found = poison.filter((f) => !(f.error as PoisonFileError).repeated).length;
  if (found > 0) metrics.addMetric('FilesPoisoned', MetricUnit.Count, found);
  if (failures.length > poison.length) metrics.addMetric('FilesFailed', MetricUnit.Count, failures.length - poison.length);
}

function logOutcome(logger: Logger, o: ObjectOutcome): void {
  if (o.status === 'ignored') return;
  const fields = { status: o.status, reason: o.reason, rowsRead: o.rowsRead, valid: o.valid, rejected: o.rejected, replayed: o.replayed ?? false, outputs: o.outputs };
  if (o.status === 'validated') logger.info('validated', fields);
  else logger.warn(o.status === 'rejected' ? `file rejected: ${o.detail}` : `skipped: ${o.detail}`, fields);
}
