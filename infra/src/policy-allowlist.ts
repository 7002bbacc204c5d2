/**
 * The one list of IAM statements that may Allow on a wildcard resource: Resource "*", or an ARN
 * naming every resource of its type (`table/*`, `function:*`, `event-source-mapping:*`, every
 * object of every bucket; policy-checks.ts isWildcardResource). The policy suite refuses any other:
 * such a statement passes only when every one of its actions is listed in a single entry here, that
 * entry lists the wildcard resource (entries without `resources`: "*" only), the statement sits in a
 * policy of one of the entry's kinds, and it carries the condition keys the entry requires.
 *
 * Keep the action and resource lists literal (not imported from the constructs that use them): a
 * construct that starts granting a new action on a wildcard resource must then change this file
 * too, which is what review sees.
 */

/** Where a policy document comes from. */
export type PolicyKind =
  /** An identity policy: role inline policies, managed policies. */
  | 'identity'
  /** A role's trust (assume-role) policy. */
  | 'trust'
  /** A resource policy: bucket, queue, topic. */
  | 'resource'
  /** A KMS key policy. */
  | 'key';

export interface AllowListEntry {
  /** Short id, printed in breach messages and the README. */
  id: string;
  /** Exact actions (no wildcards) this entry lets a statement grant on its wildcard resources. */
  actions: readonly string[];
  /**
   * The wildcard resources the entry accepts, as ARNs in which `<partition>`, `<region>`,
   * `<account>` and `<stage>` each stand for one name without wildcards (a literal or a Terraform
   * reference) and everything else is literal, `*` included. Absent: Resource "*" (or an ARN whose
   * resource part is only "*") and nothing else.
   */
  resources?: readonly string[];
  /** Policy kinds the entry applies to. */
  kinds: readonly PolicyKind[];
  /** Condition keys the statement must carry (any operator), so the grant stays narrowed. */
  requireConditions?: readonly string[];
  /** Why AWS leaves no narrower Resource. */
  reason: string;
}

export const WILDCARD_RESOURCE_ALLOWLIST: readonly AllowListEntry[] = [
  {
    id: 'xray-segments',
    actions: ['xray:PutTelemetryRecords', 'xray:PutTraceSegments'],
    kinds: ['identity'],
    reason:
      'Active tracing: Lambda and the X-Ray SDK send segments with the function role (AWS managed ' +
      'AWSXRayDaemonWriteAccess, attached to each function role; the stage boundary lets it through). X-Ray defines ' +
      'no resource types for these calls, so "*" is the only Resource they accept.',
  },
  {
    id: 'msk-poller-network',
    actions: [
      'ec2:CreateNetworkInterface',
      'ec2:DeleteNetworkInterface',
      'ec2:DescribeNetworkInterfaces',
      'ec2:DescribeSecurityGroups',
      'ec2:DescribeSubnets',
      'ec2:DescribeVpcs',
    ],
    kinds: ['identity'],
    reason:
      'Lambda pollers of an Amazon MSK trigger create and delete network interfaces in the cluster VPC with the ' +
      "function's role. The Describe* calls support no resource-level scoping at all; Create/DeleteNetworkInterface " +
      'would need the subnet and security group ARNs of the cluster, which the stack does not know (the cluster is ' +
      'a variable). Same actions and Resource as the AWS managed AWSLambdaMSKExecutionRole.',
  },
  {
    id: 'kms-key-policy-self',
    actions: [
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
    ],
    kinds: ['key'],
    reason:
      'In a KMS key policy, Resource "*" means the key the policy is attached to and nothing else; AWS accepts ' +
      'no other value there.',
  },
  {
    id: 'lambda-create-event-source-mapping',
    actions: ['lambda:CreateEventSourceMapping'],
    kinds: ['identity'],
    requireConditions: ['lambda:FunctionArn'],
    reason:
      'CreateEventSourceMapping has no resource type (the mapping does not exist yet); Lambda scopes it only ' +
      "through the lambda:FunctionArn condition, which the deploy role sets to the stage's functions.",
  },
  {
    id: 'lambda-event-source-mapping-changes',
    actions: ['lambda:DeleteEventSourceMapping', 'lambda:UpdateEventSourceMapping'],
    resources: ['arn:<partition>:lambda:<region>:<account>:event-source-mapping:*'],
    kinds: ['identity'],
    requireConditions: ['lambda:FunctionArn'],
    reason:
      "An event source mapping's ARN ends in a UUID Lambda assigns when it creates the mapping, so no pattern names " +
      "a stage's mappings; Lambda scopes these calls through the lambda:FunctionArn condition, which the deploy role " +
      "sets to the stage's functions.",
  },
  {
    id: 'lambda-event-source-mapping-read',
    actions: ['lambda:GetEventSourceMapping'],
    resources: ['arn:<partition>:lambda:<region>:<account>:event-source-mapping:*'],
    kinds: ['identity'],
    reason:
      "The provider's refresh of a mapping (every plan). Mapping ARNs end in a UUID Lambda assigns, and Lambda " +
      'evaluates lambda:FunctionArn for create, update and delete only (a condition on a key the request lacks never ' +
      'matches, so the read would be denied). It returns configuration, never records.',
  },
  {
    id: 'lambda-event-source-mapping-tags',
    actions: ['lambda:ListTags', 'lambda:TagResource', 'lambda:UntagResource'],
    resources: ['arn:<partition>:lambda:<region>:<account>:event-source-mapping:*'],
    kinds: ['identity'],
    reason:
      'The provider tags a mapping it creates (default_tags) and reads the tags back; mapping ARNs end in a UUID ' +
      'Lambda assigns and lambda:FunctionArn does not apply to the tagging calls. No policy of the project decides ' +
      "anything by a mapping's tags, so tags on another stage's mapping give nothing.",
  },
  {
    id: 'msk-boundary-cluster',
    actions: ['kafka-cluster:Connect', 'kafka-cluster:DescribeClusterDynamicConfiguration', 'kafka:DescribeClusterV2', 'kafka:GetBootstrapBrokers'],
    resources: ['arn:<partition>:kafka:<region>:<account>:cluster/*'],
    kinds: ['identity'],
    reason:
      "The permissions boundary of a stage that reads from MSK (a ceiling that grants nothing itself): the cluster " +
      "is the stage stack's msk_cluster_arn variable, unknown when the bootstrap stack is applied. The function roles " +
      "inside it are granted the one cluster's ARN.",
  },
  {
    id: 'msk-boundary-topics',
    actions: ['kafka-cluster:DescribeTopic', 'kafka-cluster:ReadData'],
    resources: ['arn:<partition>:kafka:<region>:<account>:topic/*/*/<stage>.*'],
    kinds: ['identity'],
    reason:
      "The MSK stage's boundary: topic ARNs start with the cluster's name and UUID, which the bootstrap stack does " +
      "not know (a stage variable); the topic name is narrowed to the stage's own (<stage>.…). Function roles are " +
      'granted their topics on the one cluster.',
  },
  {
    id: 'msk-boundary-groups',
    actions: ['kafka-cluster:AlterGroup', 'kafka-cluster:DescribeGroup'],
    resources: ['arn:<partition>:kafka:<region>:<account>:group/*/*/laminar-<stage>-*'],
    kinds: ['identity'],
    reason:
      "The MSK stage's boundary: consumer group ARNs start with the cluster's name and UUID, unknown to the " +
      "bootstrap stack (a stage variable); the group name is narrowed to the stage's own (laminar-<stage>-…).",
  },
  {
    id: 'deploy-list-calls',
    actions: ['logs:DescribeLogGroups'],
    kinds: ['identity'],
    reason:
      'The list call the AWS provider makes to read log groups back: DescribeLogGroups is authorised account-wide, ' +
      'not per group. It returns names and settings, never log events.',
  },
];
