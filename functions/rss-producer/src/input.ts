import { z } from 'zod';

/**
 * EventBridge's scheduled event, checked loosely: the fields this function logs, the rest passed
 * over (AWS may add some). `{}` (or no payload) is a manual invoke. Anything else — say an S3
 * notification wired here by mistake — is refused rather than treated as a schedule tick.
 */
export const scheduledEventSchema = z.union([
  z.looseObject({
    'detail-type': z.literal('Scheduled Event'),
    source: z.string().min(1),
    id: z.string().min(1),
    time: z.string().min(1),
    resources: z.array(z.string()).optional(),
  }),
  z.strictObject({}),
]);
export type ScheduledEvent = z.output<typeof scheduledEventSchema>;
