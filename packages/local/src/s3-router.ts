import type { EventEmitter } from 'node:events';
import type { AsyncInvoker, AsyncSubmission } from './async.ts';
import { type Output, silentOutput } from './output.ts';
import { type LocalQueues, localQueueName } from './queues.ts';
import {
  changesFromNotification,
  createSequencer,
  type EmulatorRequest,
  matchesEventPattern,
  type S3EventBridgeEvent,
  type S3Route,
  s3EventBridgeEvent,
} from './s3-events.ts';

/** One event one rule delivered, to whom. */
export interface S3Delivery {
  event: S3EventBridgeEvent;
  /** The real (decoded) key. */
  key: string;
  ruleName: string;
  /** 1, or 2 for the duplicate of --duplicate-events. */
  copy: number;
  functions: { name: string; requestId: string }[];
  queues: { name: string; messageId: string }[];
}

export interface S3EventRouterOptions {
  /** The embedded S3's notification feed (`startS3().events`). */
  source: EventEmitter;
  routes: S3Route[];
  asyncInvoker: Pick<AsyncInvoker, 'submit'>;
  queues: LocalQueues;
  region: string;
  accountId?: string;
  /** Deliver every event twice, as EventBridge's at-least-once delivery may. */
  duplicateEvents?: boolean;
  output?: Output;
  onDelivery?: (delivery: S3Delivery, submissions: AsyncSubmission[]) => void;
}

/**
 * Turns the embedded S3's notifications into S3 → EventBridge events and delivers each to the
 * targets of every matching rule: functions asynchronously, queues as a message. Events that match
 * no rule are counted and dropped, as EventBridge drops them.
 */
export class S3EventRouter {
  readonly deliveries: S3Delivery[] = [];
  /** Events seen (matching or not). */
  seen = 0;
  private readonly sequencer = createSequencer();
  private readonly listener = (event: unknown, request?: EmulatorRequest) => this.route(event, request);
  private readonly output: Output;

  constructor(private readonly options: S3EventRouterOptions) {
    this.output = options.output ?? silentOutput;
    for (const r of options.routes) for (const q of r.queues) options.queues.declare(localQueueName(q), 'queue', q);
    options.source.on('event', this.listener);
  }

  stop(): void {
    this.options.source.off('event', this.listener);
  }

  private route(notification: unknown, request: EmulatorRequest | undefined): void {
    for (const change of changesFromNotification(notification, request, this.sequencer)) {
      this.seen++;
      const event = s3EventBridgeEvent(change, {
        region: this.options.region,
        ...(this.options.accountId ? { account: this.options.accountId } : {}),
      });
      const matching = this.options.routes.filter((r) => matchesEventPattern(r.pattern, event));
      if (matching.length === 0) continue;
      const copies = this.options.duplicateEvents ? 2 : 1;
      for (const route of matching) {
        const targets = [...route.functions, ...route.queues.map((q) => `queue ${q}`)].join(', ');
        this.output.line(
          'events',
          `${event['detail-type']} s3://${change.bucket}/${change.key} (${change.reason}) → rule ${route.ruleName} → ${targets}${copies > 1 ? ' (delivered twice: --duplicate-events)' : ''}`,
        );
        for (let copy = 1; copy <= copies; copy++) {
          // A redelivery is the same event, id included: that is what an idempotent consumer sees.
          const submissions = route.functions.map((name) =>
            this.options.asyncInvoker.submit(name, event, {
              trigger: { kind: 's3', ruleName: route.ruleName, eventId: event.id, detailType: event['detail-type'], bucket: change.bucket, key: change.key },
            }),
          );
          const queues = route.queues.map((q) => {
            const name = localQueueName(q);
            const queue = this.options.queues.get(name) ?? this.options.queues.declare(name, 'queue', q);
            return { name, messageId: queue.send(event, { rule: route.ruleName, key: change.key }).messageId };
          });
          const delivery: S3Delivery = {
            event,
            key: change.key,
            ruleName: route.ruleName,
            copy,
            functions: route.functions.map((name, i) => ({ name, requestId: (submissions[i] as AsyncSubmission).requestId })),
            queues,
          };
          this.deliveries.push(delivery);
          this.options.onDelivery?.(delivery, submissions);
        }
      }
    }
  }
}
