import { createHash } from 'node:crypto';
import { CloudwatchEventRule } from '@cdktf/provider-aws/lib/cloudwatch-event-rule/index.js';
import { CloudwatchEventTarget } from '@cdktf/provider-aws/lib/cloudwatch-event-target/index.js';
import { LambdaPermission } from '@cdktf/provider-aws/lib/lambda-permission/index.js';
import { type S3Trigger, s3PatternKey } from '@laminar/spec';
import { Construct } from 'constructs';
import { resourceName } from '../naming.ts';
import type { DataBucket } from './data-bucket.ts';
import type { EventQueue } from './event-queue.ts';
import type { NodeFunction } from './node-function.ts';

export interface S3EventRouteProps {
  stage: string;
  pattern: Pick<S3Trigger, 'bucket' | 'prefix' | 'suffix' | 'events'>;
  bucket: DataBucket;
  functions: NodeFunction[];
  queues: EventQueue[];
}

/** EventBridge's wildcard matcher treats "*" as any run of characters; literal ones are escaped. */
function wildcardEscape(s: string): string {
  return s.replace(/[\\*]/g, (c) => `\\${c}`);
}

/** The event pattern matching S3's EventBridge events for a bucket, key prefix and suffix. */
export function s3EventPattern(bucketName: string, t: S3EventRouteProps['pattern']): Record<string, unknown> {
  const key =
    t.prefix && t.suffix
      ? [{ wildcard: `${wildcardEscape(t.prefix)}*${wildcardEscape(t.suffix)}` }]
      : t.prefix
        ? [{ prefix: t.prefix }]
        : t.suffix
          ? [{ suffix: t.suffix }]
          : undefined;
  return {
    source: ['aws.s3'],
    'detail-type': [...t.events].sort(),
    detail: { bucket: { name: [bucketName] }, ...(key ? { object: { key } } : {}) },
  };
}

/**
 * One EventBridge rule for one S3 event pattern, with every function and queue that declared that
 * pattern as its targets: the fan-out. A rule rather than S3's own notifications because S3 allows
 * one destination per event type and prefix/suffix overlap, while a rule takes up to five targets
 * and more rules can match the same event without coordination.
 */
export class S3EventRoute extends Construct {
  readonly rule: CloudwatchEventRule;

  constructor(scope: Construct, id: string, props: S3EventRouteProps) {
    super(scope, id);
    const { pattern } = props;
    const digest = createHash('sha256').update(s3PatternKey(pattern)).digest('hex').slice(0, 8);
    this.rule = new CloudwatchEventRule(this, 'rule', {
      name: resourceName(props.stage, `s3-${pattern.bucket}-${digest}`),
      description: `${pattern.events.join(', ')} in ${props.bucket.name} matching ${pattern.prefix || ''}*${pattern.suffix || ''}`,
      eventPattern: JSON.stringify(s3EventPattern(props.bucket.name, pattern)),
    });
    if (props.functions.length + props.queues.length > 5) {
      throw new Error(`S3 pattern ${s3PatternKey(pattern)} has more than the 5 targets an EventBridge rule allows`);
    }
    for (const fn of props.functions) {
      const target = fn.node.id;
      new CloudwatchEventTarget(this, `target-${target}`, {
        rule: this.rule.name,
        arn: fn.fn.arn,
        // EventBridge's own retries cover delivery to Lambda; the function's async config covers its errors.
        retryPolicy: { maximumRetryAttempts: 185, maximumEventAgeInSeconds: 86_400 },
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
      new CloudwatchEventTarget(this, `target-${q.node.id}`, { rule: this.rule.name, arn: q.arn });
    }
  }
}
