import { firehoseEnvSchema } from '@laminar/firehose';
import { envInt } from '@laminar/runtime';
import { z } from 'zod';

export const configSchema = firehoseEnvSchema.extend({
  /** The delivery stream's real name (a deliveryStream ref in the spec). */
  DELIVERY_STREAM: z.string().min(1).max(64),
  /** Attempts per record failing for any reason but throttling, before it is reported as failed. */
  MAX_ATTEMPTS: envInt(1, 10).default(4),
  /**
   * Attempts per record while Firehose throttles it: enough that the deadline, not this, ends them
   * (49 backoffs of up to 5 s average about 113 s; the function has 120 s, less its reserve).
   */
  MAX_THROTTLED_ATTEMPTS: envInt(1, 1_000).default(50),
  /** Upper bound of one run's records (stores × recordsPerStore). */
  MAX_RECORDS: envInt(1, 1_000_000).default(100_000),
});
export type Config = z.output<typeof configSchema>;
