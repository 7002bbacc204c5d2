import { firehoseEnvSchema } from '@laminar/firehose';
import { envInt } from '@laminar/runtime';
import { z } from 'zod';

export const configSchema = firehoseEnvSchema.extend({
  /** The delivery stream's real name (a deliveryStream ref in the spec). */
  DELIVERY_STREAM: z.string().min(1).max(64),
  /** Attempts per record before it is reported as failed. */
  MAX_ATTEMPTS: envInt(1, 10).default(4),
  /** Upper bound of one run's records (stores × recordsPerStore). */
  MAX_RECORDS: envInt(1, 1_000_000).default(100_000),
});
export type Config = z.output<typeof configSchema>;
