import { CloudwatchEventRule } from '@cdktf/provider-aws/lib/cloudwatch-event-rule/index.js';
import { CloudwatchEventTarget } from '@cdktf/provider-aws/lib/cloudwatch-event-target/index.js';
import { CloudwatchMetricAlarm } from '@cdktf/provider-aws/lib/cloudwatch-metric-alarm/index.js';
import { LambdaPermission } from '@cdktf/provider-aws/lib/lambda-permission/index.js';
import type { SqsQueue } from '@cdktf/provider-aws/lib/sqs-queue/index.js';
import { describeS3KeyPattern, type S3Pattern, s3EventPattern, s3PatternKey, s3RuleName } from '@laminar/spec';
import { Construct } from 'constructs';
import type { DataBucket } from './data-bucket.ts';
import type { EventQueue } from './event-queue.ts';
import type { NodeFunction } from './node-function.ts';
import { queueArrivals, queueNotEmpty } from './queue-alarm.ts';
import { FUNCTION_TARGET_RETRY, undeliveredQueue } from './undelivered-queue.ts';

export interface S3EventRouteProps {
  stage: string;
  pattern: S3Pattern;
  bucket: DataBucket;
  functions: NodeFunction[];
  queues: EventQueue[];
  /** Where the alarm on undelivered events goes. */
  alarmTopicArn: string;
}

/**
 * One EventBridge rule for one S3 event pattern, with every function and queue that declared that
 * pattern as its targets: the fan-out. A rule rather than S3's own notifications because S3 allows
 * one destination per event type and prefix/suffix overlap, while a rule takes up to five targets
 * and more rules can match the same event without coordination.
 *
 * Events EventBridge cannot deliver to a target — after its retries, or at once when it may not
 * (a function or queue deleted, a permission or queue policy wrong) — go to the rule's
 * `-undelivered` queue (encrypted, its own alarm) with the error in their attributes, instead of
 * being dropped unseen.
 */
export class S3EventRoute extends Construct {
  readonly rule: CloudwatchEventRule;
  readonly undelivered: SqsQueue;

  constructor(scope: Construct, id: string, props: S3EventRouteProps) {
    super(scope, id);
    const { pattern } = props;
    this.rule = new CloudwatchEventRule(this, 'rule', {
      name: s3RuleName(props.stage, pattern),
      description: `${pattern.events.join(', ')} in ${props.bucket.name} matching ${describeS3KeyPattern(pattern)}`,
      eventPattern: JSON.stringify(s3EventPattern(props.bucket.name, pattern)),
    });
    if (props.functions.length + props.queues.length > 5) {
      throw new Error(`S3 pattern ${s3PatternKey(pattern)} has more than the 5 targets an EventBridge rule allows`);
    }
    const name = s3RuleName(props.stage, pattern);
    this.undelivered = undeliveredQueue(this, 'undelivered', { name: `${name}-undelivered`, sid: 'UndeliveredFromTheRule', sourceArn: this.rule.arn });
    // Two alarms, because the queue keeps its events for 14 days: the not-empty one stays in ALARM
    // while any wait for a redrive, so after the first it tells no one of later failures; the
    // arrivals one fires on each new one and clears after 5 quiet minutes, which alone would leave no
    // sign that events still wait. Nothing else reports an event EventBridge could not deliver: the
    // target never ran, so none of its alarms moves.
    new CloudwatchMetricAlarm(this, 'undelivered-alarm', {
      alarmName: `${name}-undelivered-not-empty`,
      alarmDescription: `Events matching ${s3PatternKey(pattern)} that EventBridge could not deliver to a target wait in ${name}-undelivered`,
      ...queueNotEmpty(this.undelivered.name),
      alarmActions: [props.alarmTopicArn],
      okActions: [props.alarmTopicArn],
    });
    new CloudwatchMetricAlarm(this, 'undelivered-arrivals-alarm', {
      alarmName: `${name}-undelivered-arrivals`,
      alarmDescription: `EventBridge could not deliver new events matching ${s3PatternKey(pattern)} to a target in the last 5 minutes: they are in ${name}-undelivered`,
      ...queueArrivals(this.undelivered.name),
      alarmActions: [props.alarmTopicArn],
      okActions: [props.alarmTopicArn],
    });
    const deadLetterConfig = { arn: this.undelivered.arn };

    for (const fn of props.functions) {
      const target = fn.node.id;
      new CloudwatchEventTarget(this, `target-${target}`, {
        rule: this.rule.name,
        arn: fn.fn.arn,
        retryPolicy: FUNCTION_TARGET_RETRY,
        deadLetterConfig,
      });
      new LambdaPermission(this, `permission-${target}`, {
        statementId: `events-${this.rule.friendlyUniqueId}`.slice(0, 100),
        action: 'lambda:InvokeFunction',
        functionName: fn.fn.functionName,
        principal: 'events.amazonaws.com',
        sourceArn: this.rule.arn,
      });
    }
    // The queues' access policies (which rules may send to them) are made once per queue by the stack.
    for (const q of props.queues) {
      new CloudwatchEventTarget(this, `target-${q.node.id}`, { rule: this.rule.name, arn: q.arn, deadLetterConfig });
    }
  }
}
