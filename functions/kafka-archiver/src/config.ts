import { s3EnvSchema } from '@laminar/aws';
import { envInt } from '@laminar/runtime';
import { z } from 'zod';

const prefix = z.string().regex(/^([^/].*\/)?$/, 'a key prefix ending in "/" (or empty)');

export const configSchema = s3EnvSchema.extend({
  LAKE_BUCKET: z.string().min(3).max(63),
  /** Archived records: <ARCHIVE_PREFIX><topic>/dt=YYYY-MM-DD/hour=HH/… */
  ARCHIVE_PREFIX: prefix.default('bronze/'),
  /** Records that are not valid envelopes, with the reason, laid out the same way. */
  QUARANTINE_PREFIX: prefix.default('quarantine/kafka/'),
  /** PutObject calls in flight. */
  PUT_CONCURRENCY: envInt(1, 64).default(8),
});
export type Config = z.output<typeof configSchema>;
