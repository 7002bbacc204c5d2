import { SqsQueue } from '@cdktf/provider-aws/lib/sqs-queue/index.js';
import { SqsQueuePolicy } from '@cdktf/provider-aws/lib/sqs-queue-policy/index.js';
import { type QueueSpec, queueName } from '@laminar/spec';
import { Construct } from 'constructs';

export interface EventQueueProps {
  stage: string;
  queue: QueueSpec;
}

/** A declared queue (queues/<name>.ts) for downstream consumers: encrypted, bounded retention. */
export class EventQueue extends Construct {
  readonly queue: SqsQueue;

  constructor(scope: Construct, id: string, props: EventQueueProps) {
    super(scope, id);
    this.queue = new SqsQueue(this, 'queue', {
      name: queueName(props.stage, props.queue.name),
      sqsManagedSseEnabled: true,
      messageRetentionSeconds: props.queue.retentionDays * 86_400,
      tags: { queue: props.queue.name },
    });
  }

  get arn(): string {
    return this.queue.arn;
  }

  /** Lets exactly these EventBridge rules send to the queue (SQS has one policy per queue). */
  allowRules(ruleArns: string[]): void {
    if (ruleArns.length === 0) return;
    new SqsQueuePolicy(this, 'policy', {
      queueUrl: this.queue.url,
      policy: JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          {
            Sid: 'FromSubscribedRules',
            Effect: 'Allow',
            Principal: { Service: 'events.amazonaws.com' },
            Action: 'sqs:SendMessage',
            Resource: this.queue.arn,
            Condition: { ArnEquals: { 'aws:SourceArn': ruleArns } },
          },
        ],
      }),
    });
  }
}
