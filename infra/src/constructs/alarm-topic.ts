import { KmsAlias } from '@cdktf/provider-aws/lib/kms-alias/index.js';
import { KmsKey } from '@cdktf/provider-aws/lib/kms-key/index.js';
import { SnsTopic } from '@cdktf/provider-aws/lib/sns-topic/index.js';
import { SnsTopicPolicy } from '@cdktf/provider-aws/lib/sns-topic-policy/index.js';
import { SnsTopicSubscription } from '@cdktf/provider-aws/lib/sns-topic-subscription/index.js';
import { TerraformVariable } from 'cdktf';
import { Construct } from 'constructs';
import { denyInsecureTransport } from './tls-only.ts';
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
 * The alias of the key that encrypts the stage's alarm topic (the bootstrap stack creates both).
 * Not `alias/laminar-<stage>-alarms`, the stage stack's own key until it moved: that stack destroys
 * its key and alias on its next apply, which may come after the bootstrap has created this one.
 */
export function alarmKeyAlias(stage: string): string {
  return `alias/${resourceName(stage, 'alarm-topic', 256 - 'alias/'.length)}`;
}

/** Alarms of the stage: the only ones that may publish to its topic and use its key. */
function fromStageAlarms(props: Pick<AlarmTopicProps, 'stage' | 'region' | 'partition' | 'accountId'>) {
  const { stage, partition, accountId, region } = props;
  const alarms = `arn:${partition}:cloudwatch:${region}:${accountId}:alarm:${resourceName(stage, '*')}`;
  return { StringEquals: { 'aws:SourceAccount': accountId }, ArnLike: { 'aws:SourceArn': alarms } };
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
 * The key of a stage's alarm topic, created by the bootstrap stack (administrator credentials): a
 * deploy role that may create, tag or re-policy keys could take over any key of the account, so
 * deploy roles get no KMS rights at all, and the stage stack names the key by its alias only.
 *
 * A customer managed key, not the AWS managed `alias/aws/sns`: CloudWatch alarms cannot publish to
 * a topic under the AWS managed key (its key policy does not let cloudwatch.amazonaws.com use it,
 * and AWS managed key policies cannot be changed), so alarm actions would fail silently. This key's
 * policy lets CloudWatch use it for the stage's alarms only.
 */
export class AlarmTopicKey extends Construct {
  readonly key: KmsKey;

  constructor(scope: Construct, id: string, props: Pick<AlarmTopicProps, 'stage' | 'region' | 'partition' | 'accountId'> & { tags?: Record<string, string> }) {
    super(scope, id);
    const { stage, partition, accountId } = props;
    this.key = new KmsKey(this, 'key', {
      description: `Laminar ${stage}: encrypts the alarm topic ${resourceName(stage, 'alarms')}`,
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
            Condition: fromStageAlarms(props),
          },
        ],
      }),
      ...(props.tags ? { tags: props.tags } : {}),
    });
    new KmsAlias(this, 'alias', { name: alarmKeyAlias(stage), targetKeyId: this.key.keyId });
  }
}

/**
 * The stage's alarm topic `laminar-<stage>-alarms`: every alarm's alarm and OK action, encrypted
 * with the stage's AlarmTopicKey, which the bootstrap stack must have created first.
 */
export class AlarmTopic extends Construct {
  readonly topic: SnsTopic;
  readonly email: TerraformVariable;

  constructor(scope: Construct, id: string, props: AlarmTopicProps) {
    super(scope, id);
    const { stage } = props;
    const name = resourceName(stage, 'alarms');
    const fromAlarms = fromStageAlarms(props);

    // By alias, which SNS accepts: reading the key would take KMS rights the deploy role does not have.
    this.topic = new SnsTopic(this, 'topic', { name, kmsMasterKeyId: alarmKeyAlias(stage) });
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
          denyInsecureTransport('sns:Publish', this.topic.arn),
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
