import { readFileSync } from 'node:fs';
import { z } from 'zod';

/**
 * What the specs cannot say: how many objects land, how many messages a producer sends, how long a
 * function runs when nobody measured it, what each invocation does to DynamoDB and S3. Kept in one
 * small JSON file (packages/cost/assumptions.json) so every number the estimate rests on is written
 * down, reviewed, and printed with the result.
 */

const count = z.number().min(0);
const note = z.string().optional();

export const functionAssumptions = z.strictObject({
  note,
  /** Average handler duration when no measurement is given (--durations). */
  durationMs: z.number().positive().optional(),
  /** INIT duration of a cold start; billed since August 2025. */
  initMs: count.optional(),
  /** Share of invocations that start a new execution environment. */
  coldStartShare: z.number().min(0).max(1).optional(),
  /** Direct invocations (the `invoke` trigger) per day. */
  invocationsPerDay: count.optional(),
  /** Kafka messages produced per invocation, to each topic the function produces to. */
  messagesPerInvocation: count.optional(),
  /** S3 requests per invocation (a multipart upload is CreateMultipartUpload + one per part + Complete, all PUT-class). */
  s3: z.strictObject({ put: count.default(0), get: count.default(0), list: count.default(0) }).optional(),
  /** DynamoDB request units per invocation (a consistent read of ≤ 4 KB is 1 RRU, a write of ≤ 1 KB is 1 WRU). */
  dynamodb: z.strictObject({ readUnits: count.default(0), writeUnits: count.default(0) }).optional(),
  /** Records sent to the function's Firehose delivery stream per invocation, and their size before rounding. */
  firehose: z.strictObject({ recordsPerInvocation: count, recordBytes: z.number().positive() }).optional(),
  logBytesPerInvocation: count.optional(),
});
export type FunctionAssumptions = z.infer<typeof functionAssumptions>;

export const assumptionsSchema = z.strictObject({
  $comment: z.string().optional(),
  /** Default region of the estimate (--region overrides). */
  region: z.string().default('us-east-1'),
  /** The year a cron's fires are counted over (fixed, so the output does not change with the date). */
  cronReferenceYear: z.number().int().min(1970).max(2199).default(2026),
  defaults: z.strictObject({
    durationMs: z.number().positive(),
    initMs: count,
    coldStartShare: z.number().min(0).max(1),
    logBytesPerInvocation: count,
  }),
  functions: z.record(z.string(), functionAssumptions).default({}),
  /** Objects per day matching an S3 trigger pattern, keyed "bucket/prefix*suffix". */
  s3Events: z.record(z.string(), z.strictObject({ objectsPerDay: count, note })).default({}),
  /**
   * Topics no function here produces to (or an override of what the producers give): messages per
   * day and the bursts they arrive in (a Kafka mapping invokes once per burst and batch).
   */
  topics: z.record(z.string(), z.strictObject({ messagesPerDay: count, burstsPerDay: count.optional(), note })).default({}),
  /** Requests a declared queue's consumers make per message (receive + delete, unbatched: 2). */
  queues: z.record(z.string(), z.strictObject({ consumerRequestsPerMessage: count, note })).default({}),
  /** Data kept, in GB, per logical bucket and table. */
  storage: z
    .strictObject({
      note,
      bucketsGb: z.record(z.string(), count).default({}),
      tablesGb: z.record(z.string(), count).default({}),
    })
    .default({ bucketsGb: {}, tablesGb: {} }),
});
export type Assumptions = z.output<typeof assumptionsSchema>;
export type AssumptionsInput = z.input<typeof assumptionsSchema>;

export const DEFAULT_ASSUMPTIONS_FILE = new URL('../assumptions.json', import.meta.url);

export function parseAssumptions(input: unknown, where = 'assumptions'): Assumptions {
  const parsed = assumptionsSchema.safeParse(input);
  if (!parsed.success) {
    throw new Error(`${where}:\n${parsed.error.issues.map((i) => `  - ${i.path.join('.') || '(file)'}: ${i.message}`).join('\n')}`);
  }
  return parsed.data;
}

export function loadAssumptions(file: string | URL = DEFAULT_ASSUMPTIONS_FILE): Assumptions {
  return parseAssumptions(JSON.parse(readFileSync(file, 'utf8')), String(file));
}
