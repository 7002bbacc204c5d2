import { CloudwatchEventRule } from '@cdktf/provider-aws/lib/cloudwatch-event-rule/index.js';
import { CloudwatchEventTarget } from '@cdktf/provider-aws/lib/cloudwatch-event-target/index.js';
import { LambdaPermission } from '@cdktf/provider-aws/lib/lambda-permission/index.js';
import { type S3Pattern, s3EventPattern, s3PatternKey, s3RuleName } from '@laminar/spec';
import { Construct } from 'constructs';
import type { DataBucket } from './data-bucket.ts';
import type { EventQueue } from './event-queue.ts';
import type { NodeFunction } from './node-function.ts';

export interface S3EventRouteProps {
  stage: string;
  pattern: S3Pattern;
  bucket: DataBucket;
  functions: NodeFunction[];
  queues: EventQueue[];
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
    this.rule = new CloudwatchEventRule(this, 'rule', {
      name: s3RuleName(props.stage, pattern),
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
