import { InputValidationError, issuesOf } from '@laminar/runtime';
import { z } from 'zod';

/** EventBridge's scheduled event; fields it may add later are tolerated. */
const scheduledEvent = z.looseObject({
  'detail-type': z.literal('Scheduled Event'),
  source: z.literal('aws.events'),
  id: z.string().min(1),
  time: z.string().min(1),
  resources: z.array(z.string()).default([]),
});

export type Trigger = { kind: 'schedule'; id: string; time: string; rule: string | undefined } | { kind: 'manual' };

/**
 * A schedule's event, or nothing at all (`{}`, no payload) for a manual run. The event carries no
 * parameters — what to fetch is configuration — so anything else is a mistake worth refusing.
 */
export function parseTrigger(event: unknown): Trigger {
  if (event === undefined || event === null) return { kind: 'manual' };
  if (typeof event === 'object' && !Array.isArray(event) && Object.keys(event).length === 0) return { kind: 'manual' };
  const parsed = scheduledEvent.safeParse(event);
  if (!parsed.success) {
    throw new InputValidationError(
      [{ path: '', message: 'expected an EventBridge scheduled event, or {} for a manual run' }, ...issuesOf(parsed.error)],
      'event',
    );
  }
  return { kind: 'schedule', id: parsed.data.id, time: parsed.data.time, rule: parsed.data.resources[0] };
}
