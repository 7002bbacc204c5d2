import { dynamoEnvSchema, s3EnvSchema, s3FolderPrefix } from '@laminar/aws';
import { envInt } from '@laminar/runtime';
import { z } from 'zod';

/**
 * An in-progress claim's lease (renewed every third of it; claim-lease.ts): a crashed invocation's
 * object is free again before Lambda's second retry, ~3 minutes after the crash.
 */
export const DEFAULT_LEASE_SECONDS = 60;

export const configSchema = s3EnvSchema.extend(dynamoEnvSchema.shape).extend({
  /** The lake bucket (logical `lake`): sources are read from it and outputs written to it. */
  LAKE_BUCKET: z.string().min(3).max(63),
  SILVER_PREFIX: s3FolderPrefix.default('silver/'),
  QUARANTINE_PREFIX: s3FolderPrefix.default('quarantine/'),
  /** Powertools idempotency records (table kind `idempotency`: key `id`, TTL `expiration`). */
  IDEMPOTENCY_TABLE: z.string().min(3).max(255),
  /**
   * How long a finished object stays "done". A day covers EventBridge's own delivery retries (24 h
   * by default) on top of Lambda's async ones; a later duplicate is only processed again, into the
   * same keys with the same content. At least Lambda's longest timeout (900 s): the claim's lease is
   * renewed, its record's expiry is not, and a record expired under a run still going lets a
   * duplicate take the object over and do the work a second time.
   */
  IDEMPOTENCY_EXPIRY_SECONDS: envInt(900, 7 * 86_400).default(86_400),
  /**
   * How long an in-progress claim outlives its last renewal (claim-lease.ts): after a crash, the
   * object is free again within this. 60 s on AWS, where Lambda retries ~1 and ~3 minutes after a
   * failure; the spec's local env shortens it as the local runner shortens those waits.
   */
  IDEMPOTENCY_LEASE_SECONDS: envInt(1, 900).default(DEFAULT_LEASE_SECONDS),
});
export type Config = z.output<typeof configSchema>;
