import { InputValidationError, issuesOf } from '@laminar/runtime';
import { z } from 'zod';

/** The longest `runId` taken: an EventBridge event id or a Lambda request id is 36 characters. */
export const MAX_RUN_ID_CHARS = 128;

/**
 * What a run generates. A schedule's input (spec `input`, with the firing's id and time as `runId`
 * and `at`) or a manual event sets it.
 */
export const runRequestSchema = z.strictObject({
  stores: z.number().int().min(1).max(1_000).default(5),
  recordsPerStore: z.number().int().min(1).max(10_000).default(20),
  /** Fixes the records (with `at`): tests and replays get the same output. Random when absent. */
  seed: z.number().int().min(0).max(2 ** 31 - 1).optional(),
  /**
   * Names the run the records are seeded from, when there is no `seed`: a scheduled firing's event
   * id, or the `runId` a failed run reported. Lambda's request id when absent, which a DLQ replay
   * (a new request) does not keep.
   */
  runId: z.string().min(1).max(MAX_RUN_ID_CHARS).optional(),
  /** Time of the first observation (ISO 8601); the invocation's time when absent. */
  at: z.iso.datetime().optional(),
});
export type RunRequest = z.output<typeof runRequestSchema>;

/** A schedule without constant input delivers EventBridge's own event: generate the defaults. */
const scheduledEvent = z.looseObject({ 'detail-type': z.literal('Scheduled Event'), source: z.literal('aws.events'), time: z.unknown(), id: z.unknown() });

/**
 * The defaults; for a bare scheduled event, starting at its firing's time and seeded from its id,
 * which a retry and a replay of it keep.
 */
function inputOf(event: unknown): unknown {
  if (event === undefined || event === null) return {};
  const scheduled = scheduledEvent.safeParse(event);
  if (!scheduled.success) return event;
  const { time, id } = scheduled.data;
  return {
    ...(typeof time === 'string' && !Number.isNaN(new Date(time).getTime()) ? { at: new Date(time).toISOString() } : {}),
    ...(typeof id === 'string' && id.length > 0 && id.length <= MAX_RUN_ID_CHARS ? { runId: id } : {}),
  };
}

export function parseRunRequest(event: unknown, maxRecords: number): RunRequest {
  const input = inputOf(event);
  const parsed = runRequestSchema.safeParse(input);
  if (!parsed.success) throw new InputValidationError(issuesOf(parsed.error), 'event');
  const total = parsed.data.stores * parsed.data.recordsPerStore;
  if (total > maxRecords) {
    throw new InputValidationError([{ path: 'recordsPerStore', message: `stores × recordsPerStore = ${total}, above MAX_RECORDS (${maxRecords})` }], 'event');
  }
  return parsed.data;
}
