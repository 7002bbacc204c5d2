import { CloudwatchMetricAlarm } from '@cdktf/provider-aws/lib/cloudwatch-metric-alarm/index.js';
import { SqsQueue } from '@cdktf/provider-aws/lib/sqs-queue/index.js';
import { SqsQueuePolicy } from '@cdktf/provider-aws/lib/sqs-queue-policy/index.js';
import { type QueueSpec, queueName } from '@laminar/spec';
import { Construct } from 'constructs';
import { denyInsecureTransport } from './tls-only.ts';

export interface EventQueueProps {
  stage: string;
  queue: QueueSpec;
}

/** A declared queue (queues/<name>.ts) for downstream consumers: encrypted, bounded retention. */
export class EventQueue extends Construct {
  readonly queue: SqsQueue;
  readonly #props: EventQueueProps;

  constructor(scope: Construct, id: string, props: EventQueueProps) {
    super(scope, id);
    this.#props = props;
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

  /**
   * An alarm once the oldest message has waited half the retention. SQS deletes a message when its
   * retention ends, read or not: a consumer that stopped would otherwise lose events unnoticed.
   */
  alarmOnAge(alarmTopicArn: string): void {
    const name = queueName(this.#props.stage, this.#props.queue.name);
    const limitS = (this.#props.queue.retentionDays * 86_400) / 2;
    new CloudwatchMetricAlarm(this, 'age-alarm', {
      alarmName: `${name}-oldest-message-age`,
      alarmDescription: `A message has waited in ${name} over ${limitS / 3600} h, half its ${this.#props.queue.retentionDays}-day retention: is its consumer running? SQS deletes messages unread at the end.`,
      namespace: 'AWS/SQS',
      metricName: 'ApproximateAgeOfOldestMessage',
      dimensions: { QueueName: name },
      statistic: 'Maximum',
      period: 300,
      evaluationPeriods: 1,
      threshold: limitS,
      comparisonOperator: 'GreaterThanThreshold',
      treatMissingData: 'notBreaching',
      alarmActions: [alarmTopicArn],
      okActions: [alarmTopicArn],
    });
  }

  /**
   * The queue's policy (SQS has one per queue): exactly these EventBridge rules may send to it, and
   * nothing reaches it without TLS. Called once, also with no rules.
   */
  setPolicy(ruleArns: string[]): void {
    new SqsQueuePolicy(this, 'policy', {
      queueUrl: this.queue.url,
      policy: JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          ...(ruleArns.length > 0
            ? [
                {
                  Sid: 'FromSubscribedRules',
                  Effect: 'Allow',
                  Principal: { Service: 'events.amazonaws.com' },
                  Action: 'sqs:SendMessage',
                  Resource: this.queue.arn,
                  Condition: { ArnEquals: { 'aws:SourceArn': ruleArns } },
                },
              ]
            : []),
          denyInsecureTransport('sqs:*', this.queue.arn),
        ],
      }),
    });
  }
}
