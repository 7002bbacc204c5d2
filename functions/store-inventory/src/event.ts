import { InputValidationError, issuesOf } from '@laminar/runtime';
import { z } from 'zod';

/** What a run generates. A schedule's constant input (spec `input`) or a manual event sets it. */
export const runRequestSchema = z.strictObject({
  stores: z.number().int().min(1).max(1_000).default(5),
  recordsPerStore: z.number().int().min(1).max(10_000).default(20),
  /** Fixes the records (with `at`): tests and replays get the same output. Random when absent. */
  seed: z.number().int().min(0).max(2 ** 31 - 1).optional(),
  /** Time of the first observation (ISO 8601); the invocation's time when absent. */
  at: z.iso.datetime().optional(),
});
export type RunRequest = z.output<typeof runRequestSchema>;

/** A schedule without constant input delivers EventBridge's own event: generate the defaults. */
const scheduledEvent = z.looseObject({ 'detail-type': z.literal('Scheduled Event'), source: z.literal('aws.events'), time: z.unknown() });

/** The defaults; for a bare scheduled event, starting at its firing's time (the same on a retry of it). */
function inputOf(event: unknown): unknown {
  if (event === undefined || event === null) return {};
  const scheduled = scheduledEvent.safeParse(event);
  if (!scheduled.success) return event;
  const time = scheduled.data.time;
  return typeof time === 'string' && !Number.isNaN(new Date(time).getTime()) ? { at: new Date(time).toISOString() } : {};
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
