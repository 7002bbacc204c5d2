import { createFirehoseClient, type FailedRecord, firehoseOptionsFromEnv, putRecords } from '@laminar/firehose';
import { DeadlineExceededError, defineHandler, MetricUnit } from '@laminar/runtime';
import type { InventoryRecord } from './columns.ts';
import { configSchema } from './config.ts';
import { parseRunRequest } from './event.ts';
import { generateInventory, seedOf } from './generate.ts';

export interface RunResult {
  deliveryStream: string;
  /** The request's own seed; absent when the records were seeded from the run id. */
  seed?: number;
  /**
   * What the records were seeded from without a seed: the event's `runId` (a scheduled firing's
   * event id), else the request id. An event with it (and `at`) regenerates the same records.
   */
  runId?: string;
  /** The first observation's time (ISO 8601): with the seed or runId, it fixes the records. */
  at: string;
  /** generated = delivered + failed, always. */
  generated: number;
  delivered: number;
  /**
   * Of `delivered`, the records a call also carried without getting a response before another
   * delivered them: Firehose may have taken both, so S3 may hold them twice (same record_id).
   */
  possibleDuplicates: number;
  failed: number;
  needsRestock: number;
  calls: number;
  recordsPerCall: number;
  bytes: number;
}

/** Records Firehose would not take after every retry, or a run stopped short: the run fails and names them. */
export class DeliveryIncompleteError extends Error {
  override name = 'DeliveryIncompleteError';
  /**
   * Every record not delivered, with its reason. Not enumerable: the runtime's "invocation failed"
   * line, and Lambda's own log of the error, copy an error's enumerable properties, and 10,000
   * failed records made that one line 1.35 MB. The log has `failuresByCode` and the first ids.
   */
  declare readonly failures: { recordId: string; errorCode: string; errorMessage: string; attempts: number; mayHaveArrived?: true }[];
  /** How many failed with each reason, as the message says: what a log query filters on. */
  readonly failuresByCode: Record<string, number>;
  /** The first few failed record ids; the handler logs the first 50 failures with their reasons. */
  readonly firstFailedRecordIds: string[];
  constructor(
    readonly result: RunResult,
    failures: DeliveryIncompleteError['failures'],
    stopped?: Error,
    /** The records the request asked for: more than `generated` when the stop came first. */
    requested = result.generated,
  ) {
    const codes = new Map([...byCode(failures)].map(([code, { count }]) => [code, count]));
    // InDoubt ones, and those a later call refused after an earlier one got no response.
    const inDoubt = failures.filter((f) => f.mayHaveArrived).length;
    const notGenerated = requested - result.generated;
    super(
      `${result.failed} of ${result.generated} records were not delivered to ${result.deliveryStream}${codes.size ? ` (${[...codes].map(([c, n]) => `${c} ×${n}`).join(', ')})` : ''}${
        inDoubt ? `, of which ${inDoubt} may have arrived (a call that carried them got no response)` : ''
      }; delivered: ${result.delivered}${
        result.runId ? `; an event with runId ${result.runId} and at ${result.at} regenerates these records` : ''
      }${
        stopped ? `; the run was stopped${notGenerated > 0 ? ` before the other ${notGenerated} of the ${requested} requested were generated` : ''}: ${stopped.message}` : ''
      }`,
      stopped ? { cause: stopped } : undefined,
    );
    Object.defineProperty(this, 'failures', { value: failures, enumerable: false });
    this.failuresByCode = Object.fromEntries(codes);
    this.firstFailedRecordIds = failures.slice(0, 5).map((f) => f.recordId);
  }
}

/** Records go out in chunks, so memory stays flat however many a run generates. */
const CHUNK = 5_000;

export const handler = defineHandler({
  config: configSchema,
  init: ({ config, tracer }) => ({ firehose: tracer.captureAWSv3Client(createFirehoseClient(firehoseOptionsFromEnv(config))) }),
  handle: async (event: unknown, { config, deps, lambda, deadline, logger, metrics }): Promise<RunResult> => {
    const request = parseRunRequest(event, config.MAX_RECORDS);
    // A retry or a replay must regenerate the same records (the same record_ids), so that what the
    // failed attempt delivered can be deduplicated downstream and what it did not is sent again — a
    // random seed sent a different set each time. Lambda keeps the request id across its own
    // retries only: a replay from the DLQ is a new request, so a scheduled firing names its run in
    // the event (runId, the firing's event id), and a manual run's result names the one it used.
    const runId = request.runId ?? lambda.awsRequestId;
    const seed = request.seed ?? seedOf(runId);
    const seededBy = request.seed === undefined ? { runId } : { seed: request.seed };
    const at = request.at ? new Date(request.at) : new Date();
    logger.appendKeys({ ...seededBy, stores: request.stores, recordsPerStore: request.recordsPerStore });

    const requested = request.stores * request.recordsPerStore;
    const stop = deadline.signal;
    const result: RunResult = { deliveryStream: config.DELIVERY_STREAM, ...seededBy, at: at.toISOString(), generated: 0, delivered: 0, possibleDuplicates: 0, failed: 0, needsRestock: 0, calls: 0, recordsPerCall: 0, bytes: 0 };
    const failures: DeliveryIncompleteError['failures'] = [];
    let sent = 0;
    let chunk: InventoryRecord[] = [];
    let stopped: Error | undefined;
    try {
      const flush = async () => {
        if (chunk.length === 0) return;
        deadline.check('sending inventory records');
        stop.throwIfAborted();
        // Firehose concatenates records as they are: the newline makes the objects JSON Lines.
        const out = await putRecords(
          chunk.map((r) => Buffer.from(`${JSON.stringify(r)}\n`)),
          {
            client: deps.firehose,
            deliveryStreamName: config.DELIVERY_STREAM,
            maxAttempts: config.MAX_ATTEMPTS,
            // A throttle lasts seconds: records it holds back wait for it as long as the deadline
            // allows, rather than fail the run for Lambda to resend every record a minute later.
            maxThrottledAttempts: config.MAX_THROTTLED_ATTEMPTS,
            remainingMs: () => deadline.remainingMs(),
            signal: stop,
          },
        );
        result.delivered += out.delivered;
        result.possibleDuplicates += out.possibleDuplicates;
        result.failed += out.failed.length;
        result.calls += out.calls;
        result.bytes += out.bytes;
        sent += out.sent;
        for (const f of out.failed) failures.push(failureOf(chunk, f));
        chunk = [];
        // Stopped during these calls, putRecords returns rather than throws: without this the run
        // would generate another chunk in the cleanup reserve only to find it cannot send it.
        stop.throwIfAborted();
      };
      for (const record of generateInventory({ stores: request.stores, recordsPerStore: request.recordsPerStore, seed, at })) {
        result.generated++;
        if (record.needs_restock) result.needsRestock++;
        chunk.push(record);
        if (chunk.length === CHUNK) {
          await flush();
          // Refused for good: the run fails, and its retry regenerates and resends every record.
          // Chunks sent after this one would only reach S3 twice.
          if (result.failed > 0 && result.generated < requested) {
            stopped = new Error(`a chunk had ${result.failed} records not delivered (${reasonsOf(failures)}): the retry sends every record again, so sending the rest now would only deliver them twice`);
            break;
          }
        }
      }
      if (!stopped) await flush();
    } catch (error) {
      // Stopped by the deadline: the records generated and not sent are failed, so generated =
      // delivered + failed still holds and each is named below; the run's remaining records were
      // never generated (the retry generates them all again).
      if (!(error instanceof DeadlineExceededError) && !stop.aborted) throw error;
      stopped = error as Error;
      for (const r of chunk) failures.push({ recordId: r.record_id, errorCode: 'NotSent', errorMessage: stopped.message, attempts: 0 });
      result.failed += chunk.length;
    } finally {
      result.recordsPerCall = result.calls === 0 ? 0 : Math.round((sent / result.calls) * 10) / 10;
      metrics.addMetric('RecordsGenerated', MetricUnit.Count, result.generated);
      metrics.addMetric('RecordsDelivered', MetricUnit.Count, result.delivered);
      metrics.addMetric('RecordsFailed', MetricUnit.Count, result.failed);
      metrics.addMetric('PutRecordBatchCalls', MetricUnit.Count, result.calls);
    }
    // A stop that came after the last record was delivered cost nothing: the run is complete.
    if (result.failed > 0 || result.generated < requested) {
      for (const f of failures.slice(0, 50)) logger.error('record not delivered', f);
      if (failures.length > 50) logger.error('records not delivered (more than logged)', { count: failures.length });
      throw new DeliveryIncompleteError(result, failures, stopped, requested);
    }
    logger.info('inventory delivered', { ...result });
    return result;
  },
});

function failureOf(chunk: InventoryRecord[], { index, ...failure }: FailedRecord) {
  return { recordId: (chunk[index] as InventoryRecord).record_id, ...failure };
}

/** Failures by error code, in the order first met: how many, and the first one's message. */
function byCode(failures: DeliveryIncompleteError['failures']): Map<string, { count: number; message: string }> {
  const codes = new Map<string, { count: number; message: string }>();
  for (const f of failures) {
    const seen = codes.get(f.errorCode);
    if (seen) seen.count++;
    else codes.set(f.errorCode, { count: 1, message: f.errorMessage });
  }
  return codes;
}

/** Why records were not delivered, as putRecords last said, by code: a refusal, a deadline or a permission alike. */
function reasonsOf(failures: DeliveryIncompleteError['failures']): string {
  return [...byCode(failures)].map(([code, { count, message }]) => `${code} ×${count}: ${message}`).join('; ');
}
