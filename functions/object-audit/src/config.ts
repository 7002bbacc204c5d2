import { dynamoEnvSchema } from '@laminar/aws';
import { envInt } from '@laminar/runtime';
import { z } from 'zod';

export const configSchema = dynamoEnvSchema.extend({
  /** The ledger table (kind `ledger` in the spec); infra and the runner resolve its real name. */
  AUDIT_TABLE: z.string().min(3).max(255),
  /** How long an arrival stays in the ledger, counted from the event's time. */
  AUDIT_TTL_DAYS: envInt(1, 3650).default(400),
});
export type Config = z.output<typeof configSchema>;
