import type { CloudwatchMetricAlarmConfig } from '@cdktf/provider-aws/lib/cloudwatch-metric-alarm/index.js';
import { SqsQueue } from '@cdktf/provider-aws/lib/sqs-queue/index.js';
import { SqsQueuePolicy } from '@cdktf/provider-aws/lib/sqs-queue-policy/index.js';
import type { Construct } from 'constructs';
import { denyInsecureTransport } from './tls-only.ts';

/**
 * A rule target's retries when it is a function: EventBridge's own (24 h, 185 attempts) cover
 * delivery to Lambda; the function's async config covers its errors.
 */
export const FUNCTION_TARGET_RETRY = { maximumRetryAttempts: 185, maximumEventAgeInSeconds: 86_400 };

/**
 * How long a DLQ keeps a message — a function's, and the undelivered-events queues alike: two
 * weeks, SQS's maximum, so that failed events outlive a long weekend before anyone looks.
 */
export const DLQ_RETENTION_S = 14 * 24 * 3600;

/**
 * The queue an EventBridge rule's targets dead-letter into: what EventBridge could not deliver
 * (after its retries, or at once when it may not) waits there, encrypted, with the error in its
 * attributes, instead of being dropped unseen. Only the given rules may send to it. `id` names the
 * queue's construct, `${id}-policy` its policy's; the caller alarms on it as its other queues.
 */
export function undeliveredQueue(
  scope: Construct,
  id: string,
  props: { name: string; sid: string; sourceArn: string | string[]; tags?: Record<string, string> },
): SqsQueue {
  const queue = new SqsQueue(scope, id, {
    name: props.name,
    sqsManagedSseEnabled: true,
    messageRetentionSeconds: DLQ_RETENTION_S,
    ...(props.tags ? { tags: props.tags } : {}),
  });
  new SqsQueuePolicy(scope, `${id}-policy`, {
    queueUrl: queue.url,
    policy: JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        {
          Sid: props.sid,
          Effect: 'Allow',
          Principal: { Service: 'events.amazonaws.com' },
          Action: 'sqs:SendMessage',
          Resource: queue.arn,
          Condition: { ArnEquals: { 'aws:SourceArn': props.sourceArn } },
        },
        denyInsecureTransport('sqs:*', queue.arn),
      ],
    }),
  });
  return queue;
}

/**
 * The metric half of an alarm on a rule's events that reached neither a target nor the queue
 * above: EventBridge's InvocationsFailedToBeSentToDlq (the queue deleted, its policy refusing the
 * rule, an event too large for SQS), summed over 5 minutes. Such an event is lost, and the queue's
 * own alarms cannot see it: it never arrived. EventBridge sends the metric only when it is not
 * zero, so no data is no failure.
 */
export function undeliveredLost(
  ruleName: string,
): Pick<CloudwatchMetricAlarmConfig, 'namespace' | 'metricName' | 'dimensions' | 'statistic' | 'period' | 'evaluationPeriods' | 'threshold' | 'comparisonOperator' | 'treatMissingData'> {
  return {
    namespace: 'AWS/Events',
    metricName: 'InvocationsFailedToBeSentToDlq',
    // The rule alone: the rules are on the default event bus, whose metrics carry no EventBusName.
    dimensions: { RuleName: ruleName },
    statistic: 'Sum',
    period: 300,
    evaluationPeriods: 1,
    threshold: 0,
    comparisonOperator: 'GreaterThanThreshold',
    treatMissingData: 'notBreaching',
  };
}
