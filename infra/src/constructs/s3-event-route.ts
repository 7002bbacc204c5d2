import { CloudwatchEventRule } from '@cdktf/provider-aws/lib/cloudwatch-event-rule/index.js';
import { CloudwatchEventTarget } from '@cdktf/provider-aws/lib/cloudwatch-event-target/index.js';
import { CloudwatchMetricAlarm, type CloudwatchMetricAlarmConfig } from '@cdktf/provider-aws/lib/cloudwatch-metric-alarm/index.js';
import { LambdaPermission } from '@cdktf/provider-aws/lib/lambda-permission/index.js';
import type { SqsQueue } from '@cdktf/provider-aws/lib/sqs-queue/index.js';
import { describeS3KeyPattern, type S3Pattern, s3EventPattern, s3PatternKey, s3RuleName } from '@laminar/spec';
import { Construct } from 'constructs';
import { ALARM_DESCRIPTION_BYTES, fitQuoting, RULE_DESCRIPTION_BYTES } from '../descriptions.ts';
import type { DataBucket } from './data-bucket.ts';
import type { EventQueue } from './event-queue.ts';
import type { NodeFunction } from './node-function.ts';
import { queueArrivals, queueNotEmpty } from './queue-alarm.ts';
import { FUNCTION_TARGET_RETRY, undeliveredLost, undeliveredQueue } from './undelivered-queue.ts';

/** EventBridge's limit on a rule's event pattern (PutRule EventPattern: 4,096 characters). */
const RULE_EVENT_PATTERN_BYTES = 4096;

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
 * `-undelivered` queue (encrypted, with alarms) with the error in their attributes, instead of
 * being dropped unseen; one that cannot go there either has an alarm of its own.
 *
 * The descriptions quote the pattern, whose prefix may be longer than a description may be: they
 * are cut to fit (the rule's name carries the pattern's digest, and its event pattern all of it).
 */
export class S3EventRoute extends Construct {
  readonly rule: CloudwatchEventRule;
  readonly undelivered: SqsQueue;
  private readonly alarmTopicArn: string;

  constructor(scope: Construct, id: string, props: S3EventRouteProps) {
    super(scope, id);
    const { pattern } = props;
    this.alarmTopicArn = props.alarmTopicArn;
    // The pattern holds the prefix and suffix as events carry them, percent-encoded: a prefix the
    // spec takes (1,024 characters) can come out longer than EventBridge takes, said here rather
    // than by the provider at plan. Cut, it would match other keys.
    const eventPattern = JSON.stringify(s3EventPattern(props.bucket.name, pattern));
    if (Buffer.byteLength(eventPattern) > RULE_EVENT_PATTERN_BYTES) {
      throw new Error(
        `S3 pattern ${s3PatternKey(pattern)}: its EventBridge event pattern is ${Buffer.byteLength(eventPattern)} characters with the prefix and suffix encoded as S3 events carry them (each byte outside letters, digits and ".-_*/" as %XX), and EventBridge takes at most ${RULE_EVENT_PATTERN_BYTES}: shorten the prefix`,
      );
    }
    this.rule = new CloudwatchEventRule(this, 'rule', {
      name: s3RuleName(props.stage, pattern),
      description: fitQuoting(RULE_DESCRIPTION_BYTES, describeS3KeyPattern(pattern), (keys) => `${pattern.events.join(', ')} in ${props.bucket.name} matching ${keys}`),
      eventPattern,
    });
    if (props.functions.length + props.queues.length > 5) {
      throw new Error(`S3 pattern ${s3PatternKey(pattern)} has more than the 5 targets an EventBridge rule allows`);
    }
    const name = s3RuleName(props.stage, pattern);
    const matching = (text: (key: string) => string) => fitQuoting(ALARM_DESCRIPTION_BYTES, s3PatternKey(pattern), text);
    this.undelivered = undeliveredQueue(this, 'undelivered', { name: `${name}-undelivered`, sid: 'UndeliveredFromTheRule', sourceArn: this.rule.arn });
    // Two alarms, because the queue keeps its events for 14 days: the not-empty one stays in ALARM
    // while any wait for a redrive, so after the first it tells no one of later failures; the
    // arrivals one fires on each new one and clears after 5 quiet minutes, which alone would leave no
    // sign that events still wait. Nothing else reports an event EventBridge could not deliver: the
    // target never ran, so none of its alarms moves.
    this.alarm('undelivered-alarm', {
      alarmName: `${name}-undelivered-not-empty`,
      alarmDescription: matching((key) => `Events matching ${key} that EventBridge could not deliver to a target wait in ${name}-undelivered`),
      ...queueNotEmpty(this.undelivered.name),
    });
    this.alarm('undelivered-arrivals-alarm', {
      alarmName: `${name}-undelivered-arrivals`,
      alarmDescription: matching((key) => `EventBridge could not deliver new events matching ${key} to a target in the last 5 minutes: they are in ${name}-undelivered`),
      ...queueArrivals(this.undelivered.name),
    });
    // And the events that did not reach the queue either: neither alarm above can see those.
    this.alarm('undelivered-lost-alarm', {
      alarmName: `${name}-undelivered-lost`,
      // Counted per target: the rule's other targets may well have had the event.
      alarmDescription: matching((key) => `EventBridge could not deliver events matching ${key} to one of its targets, nor put them in ${name}-undelivered (the queue gone, its policy, an event too large): lost for that target`),
      ...undeliveredLost(this.rule.name),
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

  /** An alarm of the route, notifying the stage's alarm topic on ALARM and on OK. */
  private alarm(id: string, config: Omit<CloudwatchMetricAlarmConfig, 'alarmActions' | 'okActions'>): CloudwatchMetricAlarm {
    return new CloudwatchMetricAlarm(this, id, {
      ...config,
      alarmActions: [this.alarmTopicArn],
      okActions: [this.alarmTopicArn],
    });
  }
}
