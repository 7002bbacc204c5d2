import { KmsAlias } from '@cdktf/provider-aws/lib/kms-alias/index.js';
import { KmsKey } from '@cdktf/provider-aws/lib/kms-key/index.js';
import { SnsTopic } from '@cdktf/provider-aws/lib/sns-topic/index.js';
import { SnsTopicPolicy } from '@cdktf/provider-aws/lib/sns-topic-policy/index.js';
import { SnsTopicSubscription } from '@cdktf/provider-aws/lib/sns-topic-subscription/index.js';
import { TerraformVariable } from 'cdktf';
import { Construct } from 'constructs';
import { resourceName } from '../naming.ts';

export interface AlarmTopicProps {
  stage: string;
  region: string;
  /** `data.aws_partition` / `data.aws_caller_identity` attributes. */
  partition: string;
  accountId: string;
  /** Default of the `alarm_email` variable (a stage setting); empty: no subscription unless given at plan time. */
  alarmEmail?: string;
}

/**
 * What the account administrators may do with the key, through IAM policies (the account principal
 * delegates to IAM). Enumerated rather than "kms:*": the alias calls are needed to create the
 * alias, Decrypt/GenerateDataKey let an operator publish a test message.
 */
export const KEY_ADMIN_ACTIONS = [
  'kms:CancelKeyDeletion',
  'kms:CreateAlias',
  'kms:CreateGrant',
  'kms:Decrypt',
  'kms:DeleteAlias',
  'kms:DescribeKey',
  'kms:DisableKey',
  'kms:DisableKeyRotation',
  'kms:EnableKey',
  'kms:EnableKeyRotation',
  'kms:GenerateDataKey',
  'kms:GetKeyPolicy',
  'kms:GetKeyRotationStatus',
  'kms:ListGrants',
  'kms:ListKeyPolicies',
  'kms:ListResourceTags',
  'kms:PutKeyPolicy',
  'kms:RevokeGrant',
  'kms:ScheduleKeyDeletion',
  'kms:TagResource',
  'kms:UntagResource',
  'kms:UpdateAlias',
  'kms:UpdateKeyDescription',
];

/**
 * The stage's alarm topic `laminar-<stage>-alarms`: every alarm's alarm and OK action.
 *
 * Encrypted with a customer managed KMS key, not the AWS managed `alias/aws/sns`: CloudWatch alarms
 * cannot publish to a topic under the AWS managed key (its key policy does not let
 * cloudwatch.amazonaws.com use it, and AWS managed key policies cannot be changed), so alarm
 * actions would fail silently. This key's policy lets CloudWatch use it for this stage's alarms only.
 */
export class AlarmTopic extends Construct {
  readonly topic: SnsTopic;
  readonly key: KmsKey;
  readonly email: TerraformVariable;

  constructor(scope: Construct, id: string, props: AlarmTopicProps) {
    super(scope, id);
    const { stage, partition, accountId, region } = props;
    const name = resourceName(stage, 'alarms');
    const alarms = `arn:${partition}:cloudwatch:${region}:${accountId}:alarm:${resourceName(stage, '*')}`;
    const fromAlarms = { StringEquals: { 'aws:SourceAccount': accountId }, ArnLike: { 'aws:SourceArn': alarms } };

    this.key = new KmsKey(this, 'key', {
      description: `Laminar ${stage}: encrypts the alarm topic ${name}`,
      enableKeyRotation: true,
      deletionWindowInDays: 30,
      policy: JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          {
            Sid: 'AccountAdministration',
            Effect: 'Allow',
            Principal: { AWS: `arn:${partition}:iam::${accountId}:root` },
            Action: KEY_ADMIN_ACTIONS,
            Resource: '*',
          },
          {
            Sid: 'CloudWatchAlarmsPublish',
            Effect: 'Allow',
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
            Resource: '*',
            Condition: fromAlarms,
          },
        ],
      }),
    });
    new KmsAlias(this, 'alias', { name: `alias/${name}`, targetKeyId: this.key.keyId });

    this.topic = new SnsTopic(this, 'topic', { name, kmsMasterKeyId: this.key.arn });
    new SnsTopicPolicy(this, 'policy', {
      arn: this.topic.arn,
      policy: JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          {
            Sid: 'CloudWatchAlarmsPublish',
            Effect: 'Allow',
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: 'sns:Publish',
            Resource: this.topic.arn,
            Condition: fromAlarms,
          },
        ],
      }),
    });

    this.email = new TerraformVariable(this, 'alarm_email', {
      type: 'string',
      default: props.alarmEmail ?? '',
      description: `E-mail address subscribed to ${name} (confirm the subscription mail); empty: no subscription`,
      nullable: false,
      validation: [
        {
          condition: '${var.alarm_email == "" || can(regex("^[^@\\\\s]+@[^@\\\\s]+\\\\.[^@\\\\s]+$", var.alarm_email))}',
          errorMessage: 'alarm_email must be empty or an e-mail address.',
        },
      ],
    });
    // The variable's id is its Terraform name: a construct path would make it alarm-topic_alarm_email.
    this.email.overrideLogicalId('alarm_email');
    const subscription = new SnsTopicSubscription(this, 'email', {
      topicArn: this.topic.arn,
      protocol: 'email',
      endpoint: this.email.stringValue,
    });
    subscription.addOverride('count', '${var.alarm_email == "" ? 0 : 1}');
  }

  get arn(): string {
    return this.topic.arn;
  }
}
