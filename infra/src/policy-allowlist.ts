/**
 * The one list of IAM statements that may Allow on Resource "*". The policy suite
 * (policy-checks.ts) refuses any other: a statement on "*" passes only when every one of its
 * actions is listed in a single entry here, the statement sits in a policy of one of the entry's
 * kinds, and it carries the condition keys the entry requires.
 *
 * Keep the action lists literal (not imported from the constructs that use them): a construct that
 * starts granting a new action on "*" must then change this file too, which is what review sees.
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
  /** Exact actions (no wildcards) this entry lets a statement grant on "*". */
  actions: readonly string[];
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
    id: 'deploy-list-calls',
    actions: ['logs:DescribeLogGroups'],
    kinds: ['identity'],
    reason:
      'The list call the AWS provider makes to read log groups back: DescribeLogGroups is authorised account-wide, ' +
      'not per group. It returns names and settings, never log events.',
  },
];
