import { envInt } from '@laminar/runtime';
import { z } from 'zod';

/** The environment dedupSpec declares, as a function's config schema reads it. */
export const dedupEnvSchema = z.object({
  DEDUP_TABLE: z.string().min(3).max(255),
  /** How long a record of an item seen is kept (DynamoDB TTL), renewed while the item is still listed. */
  DEDUP_TTL_DAYS: envInt(1, 365).default(7),
});
