import type { FunctionSpecInput } from '@laminar/spec';

/**
 * The IAM actions DedupStore's and LatestValueStore's calls need on their table: what a function's
 * spec grants on it. Without UpdateItem the expiry refresh is refused and records lapse a TTL after
 * their first publish (counted in `refreshFailed`), and no change can be recorded. The unit tests
 * check every call the stores make is here.
 */
export const DEDUP_ACTIONS = ['dynamodb:BatchGetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:BatchWriteItem', 'dynamodb:DeleteItem'] as const;

/**
 * What a function that drops records already seen declares: its dedup table (the stack creates it
 * with its TTL attribute), the table's name and the records' lifetime in its environment, and a
 * grant of DEDUP_ACTIONS on that table alone. Pure data, so specs can spread it without loading the
 * SDK; dedupEnvSchema reads the same variables back.
 */
export function dedupSpec(options: { table: string; ttlDays: number }) {
  const { table, ttlDays } = options;
  return {
    env: { DEDUP_TABLE: { ref: { table } }, DEDUP_TTL_DAYS: String(ttlDays) },
    table: { name: table, kind: 'dedup' },
    permission: { actions: [...DEDUP_ACTIONS], resource: { table } },
  } as const satisfies {
    env: FunctionSpecInput['env'];
    table: NonNullable<FunctionSpecInput['tables']>[number];
    permission: NonNullable<FunctionSpecInput['permissions']>[number];
  };
}
