import { dynamoEnvSchema, s3EnvSchema } from '@laminar/aws';
import { envInt } from '@laminar/runtime';
import { z } from 'zod';

const prefix = z
  .string()
  .max(512)
  .refine((p) => p !== '' && p.endsWith('/') && !p.startsWith('/'), 'must end with "/" and not start with "/"');

export const configSchema = s3EnvSchema.extend(dynamoEnvSchema.shape).extend({
  /** The lake bucket (logical `lake`): sources are read from it and outputs written to it. */
  LAKE_BUCKET: z.string().min(3).max(63),
  SILVER_PREFIX: prefix.default('silver/'),
  QUARANTINE_PREFIX: prefix.default('quarantine/'),
  /** Powertools idempotency records (table kind `idempotency`: key `id`, TTL `expiration`). */
  IDEMPOTENCY_TABLE: z.string().min(3).max(255),
  /**
   * How long a finished object stays "done". A day covers EventBridge's own delivery retries (24 h
   * by default) on top of Lambda's async ones; a later duplicate is only processed again, into the
   * same keys with the same content.
   */
  IDEMPOTENCY_EXPIRY_SECONDS: envInt(60, 7 * 86_400).default(86_400),
});
export type Config = z.output<typeof configSchema>;
