import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { z } from 'zod';
import { DLQ_SUFFIX, SCHEDULE_UNDELIVERED_SUFFIX } from './resource-name.ts';
import { logicalName } from './resources.ts';
import { s3Trigger, SpecError } from './spec.ts';

/**
 * A queue that is not any one function's: downstream consumers read it, and it may subscribe to
 * the same S3 events functions react to (one EventBridge rule per pattern feeds all of them).
 * Declared once in `queues/<name>.ts`, read by infra (SQS queue, encrypted, rule target) and the
 * runner (a local queue `laminar queue list <name>` shows).
 */
export const queueSpec = z.strictObject({
  // Not a name the stack gives a function's own queues: the two would be one SQS name, and the
  // runner's DLQ commands tell DLQs by that suffix.
  name: logicalName.refine((n) => !n.endsWith(DLQ_SUFFIX) && !n.endsWith(SCHEDULE_UNDELIVERED_SUFFIX), {
    error: `a declared queue's name may not end in "${DLQ_SUFFIX}" or "${SCHEDULE_UNDELIVERED_SUFFIX}": those name functions' own queues`,
  }),
  description: z.string().default(''),
  subscribe: z.array(s3Trigger).default([]),
  retentionDays: z.number().int().min(1).max(14).default(4),
});
export type QueueSpecInput = z.input<typeof queueSpec>;
export type QueueSpec = z.output<typeof queueSpec>;

export function defineQueue(input: QueueSpecInput): QueueSpec {
  const parsed = queueSpec.safeParse(input);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  - ${i.path.join('.') || '(queue)'}: ${i.message}`);
    throw new SpecError(`invalid queue ${String(input?.name)}:\n${lines.join('\n')}`);
  }
  return parsed.data;
}

/** Loads every `queues/<name>.ts`, sorted by name. */
export async function loadAllQueues(root: string): Promise<QueueSpec[]> {
  const base = join(root, 'queues');
  if (!existsSync(base)) return [];
  const files = readdirSync(base).filter((f) => f.endsWith('.ts')).sort();
  return Promise.all(
    files.map(async (f) => {
      const mod = (await import(pathToFileURL(join(base, f)).href)) as { default?: QueueSpec };
      if (!mod.default) throw new SpecError(`queues/${f} must export default defineQueue({...})`);
      if (`${mod.default.name}.ts` !== f) throw new SpecError(`queues/${f} declares name "${mod.default.name}"; they must match`);
      return mod.default;
    }),
  );
}
