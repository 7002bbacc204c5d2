/**
 * What a stage's GitHub deploy role may do (bootstrap stack), and the permissions boundary every
 * role the stage stack creates must carry. Both are scoped to the stage's names where AWS allows:
 * `laminar-<stage>-*` for functions, roles, buckets, tables, queues, streams, rules, alarms, the
 * dashboard and the topic; `laminar/<stage>/*` for secrets; `<database>_<stage>` for Glue.
 *
 * The action lists follow the AWS provider's create / read / update / delete calls for the resource
 * types the stage stack uses (infra/src/stack.ts and constructs/). A resource type added to the
 * stack needs its calls here too; AWS answers a missing one with an AccessDenied naming the action.
 *
 * No KMS action at all: key ids are random, so rights on the keys a role creates can only follow tags
 * it sets itself, and a role that may tag keys can claim any untagged key of the account, then
 * rewrite its policy or delete it. The stage's one key (its alarm topic's) is the bootstrap stack's;
 * the policy suite refuses KMS writes here.
 */
import { DEPLOY_ROLE_STEM } from '@laminar/spec';
import { MSK_VPC_ACTIONS } from './msk.ts';
import { PROJECT, resourceName } from './naming.ts';

export interface IamStatement {
  Sid: string;
  Effect: 'Allow' | 'Deny';
  Action: string[];
  Resource: string[];
  Condition?: Record<string, Record<string, string | string[]>>;
}

export interface AccountScope {
  /** `data.aws_partition` attribute or a literal ("aws"). */
  partition: string;
  region: string;
  accountId: string;
}

export interface DeployScope extends AccountScope {
  stage: string;
  /** ARN of the Terraform state bucket. */
  stateBucketArn: string;
}

/** The permissions boundary of stage `stage`: a managed policy the bootstrap stack creates. */
export function boundaryPolicyName(stage: string): string {
  return resourceName(stage, 'boundary', 128);
}

export function boundaryPolicyArn(stage: string, scope: Pick<AccountScope, 'partition' | 'accountId'>): string {
  return `arn:${scope.partition}:iam::${scope.accountId}:policy/${boundaryPolicyName(stage)}`;
}

/**
 * The deploy role of a stage (the GitHub environment of the same name assumes it). Its stem is
 * @laminar/spec's, which refuses a function of that name: the function's role would be this one.
 */
export function deployRoleName(stage: string): string {
  return resourceName(stage, DEPLOY_ROLE_STEM);
}

/** Where the stage's state lives in the state bucket (the stage stack's S3 backend key). */
export function stateKey(stage: string): string {
  return `${PROJECT}/${stage}.tfstate`;
}

/** Glue database names of a stage end in `_<stage>` (partitions.ts glueDatabaseName). */
function glueStage(stage: string): string {
  return stage.replace(/-/g, '_');
}

function arns(scope: AccountScope & { stage: string }) {
  const { partition: p, region: r, accountId: a, stage } = scope;
  const prefix = resourceName(stage, '*');
  return {
    prefix,
    function: `arn:${p}:lambda:${r}:${a}:function:${prefix}`,
    layer: `arn:${p}:lambda:${r}:${a}:layer:${prefix}`,
    layerVersion: `arn:${p}:lambda:${r}:${a}:layer:${prefix}:*`,
    eventSourceMapping: `arn:${p}:lambda:${r}:${a}:event-source-mapping:*`,
    role: `arn:${p}:iam::${a}:role/${prefix}`,
    bucket: `arn:${p}:s3:::${prefix}`,
    objects: `arn:${p}:s3:::${prefix}/*`,
    table: `arn:${p}:dynamodb:${r}:${a}:table/${prefix}`,
    queue: `arn:${p}:sqs:${r}:${a}:${prefix}`,
    deliveryStream: `arn:${p}:firehose:${r}:${a}:deliverystream/${prefix}`,
    rule: `arn:${p}:events:${r}:${a}:rule/${prefix}`,
    lambdaLogs: `arn:${p}:logs:${r}:${a}:log-group:/aws/lambda/${prefix}`,
    firehoseLogs: `arn:${p}:logs:${r}:${a}:log-group:/aws/kinesisfirehose/${prefix}`,
    alarm: `arn:${p}:cloudwatch:${r}:${a}:alarm:${prefix}`,
    dashboard: `arn:${p}:cloudwatch::${a}:dashboard/${prefix}`,
    topic: `arn:${p}:sns:${r}:${a}:${prefix}`,
    secret: `arn:${p}:secretsmanager:${r}:${a}:secret:${PROJECT}/${stage}/*`,
    parameter: `arn:${p}:ssm:${r}:${a}:parameter/${PROJECT}/${stage}/*`,
    glueCatalog: `arn:${p}:glue:${r}:${a}:catalog`,
    glueDatabase: `arn:${p}:glue:${r}:${a}:database/*_${glueStage(stage)}`,
    glueTable: `arn:${p}:glue:${r}:${a}:table/*_${glueStage(stage)}/*`,
    glueFunction: `arn:${p}:glue:${r}:${a}:userDefinedFunction/*_${glueStage(stage)}/*`,
    kafkaCluster: `arn:${p}:kafka:${r}:${a}:cluster/*`,
    kafkaTopic: `arn:${p}:kafka:${r}:${a}:topic/*/*/${stage}.*`,
    kafkaGroup: `arn:${p}:kafka:${r}:${a}:group/*/*/${prefix}`,
  };
}

/**
 * Everything a function or Firehose role of the stage may ever be granted: the ceiling of the spec
 * vocabulary (policy.ts and the constructs), on the stage's resources only. A role policy beyond it
 * grants nothing, so a deploy role that can write role policies still cannot hand out more than this.
 * tests/policy.test.ts proves every action the stage stacks grant is inside.
 */
export function boundaryStatements(scope: AccountScope & { stage: string; msk?: boolean }): IamStatement[] {
  const a = arns(scope);
  return [
    {
      Sid: 'OwnLogs',
      Effect: 'Allow',
      Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
      Resource: [a.lambdaLogs, a.firehoseLogs],
    },
    {
      // What AWSXRayDaemonWriteAccess (attached to every function role for active tracing) may
      // grant within the boundary: sending segments. X-Ray has no resource types for these.
      Sid: 'Traces',
      Effect: 'Allow',
      Action: ['xray:PutTelemetryRecords', 'xray:PutTraceSegments'],
      Resource: ['*'],
    },
    {
      Sid: 'StageBuckets',
      Effect: 'Allow',
      Action: [
        's3:GetBucketLocation',
        's3:GetBucketNotification',
        's3:GetBucketTagging',
        's3:GetBucketVersioning',
        's3:GetLifecycleConfiguration',
        's3:ListBucket',
        's3:ListBucketMultipartUploads',
        's3:ListBucketVersions',
      ],
      Resource: [a.bucket],
    },
    {
      Sid: 'StageObjects',
      Effect: 'Allow',
      Action: [
        's3:AbortMultipartUpload',
        's3:DeleteObject',
        's3:DeleteObjectVersion',
        's3:GetObject',
        's3:GetObjectAttributes',
        's3:GetObjectTagging',
        's3:GetObjectVersion',
        's3:ListMultipartUploadParts',
        's3:PutObject',
        's3:PutObjectTagging',
        's3:RestoreObject',
      ],
      Resource: [a.objects],
    },
    {
      Sid: 'StageTables',
      Effect: 'Allow',
      Action: [
        'dynamodb:BatchGetItem',
        'dynamodb:BatchWriteItem',
        'dynamodb:ConditionCheckItem',
        'dynamodb:DeleteItem',
        'dynamodb:DescribeTable',
        'dynamodb:GetItem',
        'dynamodb:PutItem',
        'dynamodb:Query',
        'dynamodb:UpdateItem',
      ],
      Resource: [a.table],
    },
    {
      Sid: 'StageStreams',
      Effect: 'Allow',
      Action: ['firehose:DescribeDeliveryStream', 'firehose:PutRecord', 'firehose:PutRecordBatch'],
      Resource: [a.deliveryStream],
    },
    { Sid: 'StageQueues', Effect: 'Allow', Action: ['sqs:SendMessage'], Resource: [a.queue] },
    { Sid: 'StageSecrets', Effect: 'Allow', Action: ['secretsmanager:GetSecretValue'], Resource: [a.secret] },
    { Sid: 'StageParameters', Effect: 'Allow', Action: ['ssm:GetParameter'], Resource: [a.parameter] },
    // Only for a stage that reads from MSK (LAMINAR_BOOTSTRAP_MSK_STAGES): its pollers' network
    // interfaces may go in any VPC, which no other stage's roles should ever be able to get.
    ...(scope.msk ? mskStatements(a) : []),
  ];
}

function mskStatements(a: ReturnType<typeof arns>): IamStatement[] {
  return [
    {
      Sid: 'MskCluster',
      Effect: 'Allow',
      Action: ['kafka-cluster:Connect', 'kafka-cluster:DescribeClusterDynamicConfiguration', 'kafka:DescribeClusterV2', 'kafka:GetBootstrapBrokers'],
      Resource: [a.kafkaCluster],
    },
    { Sid: 'MskTopics', Effect: 'Allow', Action: ['kafka-cluster:DescribeTopic', 'kafka-cluster:ReadData'], Resource: [a.kafkaTopic] },
    { Sid: 'MskGroups', Effect: 'Allow', Action: ['kafka-cluster:AlterGroup', 'kafka-cluster:DescribeGroup'], Resource: [a.kafkaGroup] },
    {
      Sid: 'MskPollerNetwork',
      Effect: 'Allow',
      // The boundary must let through exactly what MSK-triggered function roles are granted.
      Action: [...MSK_VPC_ACTIONS],
      Resource: ['*'],
    },
  ];
}

/** A named group of deploy statements: one managed policy each (IAM caps a managed policy at 6,144 characters). */
export interface DeployPolicy {
  /** Suffix of the policy name `laminar-<stage>-deploy-<part>`. */
  part: string;
  statements: IamStatement[];
}

export function deployPolicies(scope: DeployScope): DeployPolicy[] {
  const a = arns(scope);
  const boundary = boundaryPolicyArn(scope.stage, scope);
  const key = stateKey(scope.stage);
  const stageFunctions = { ArnLike: { 'lambda:FunctionArn': a.function } };
  return [
    {
      part: 'state',
      statements: [
        // The S3 backend with use_lockfile: the stage's state object and its lock file, nothing else.
        // Listing is not narrowed by s3:prefix: S3 answers a GET of a missing key 404 only to a
        // caller allowed ListBucket for a request that carries no prefix, and 403 otherwise, which
        // Terraform takes for an error rather than "no state yet": a stage's first plan failed.
        // Listing shows key names (laminar/<stage>.tfstate), never what the states hold.
        {
          Sid: 'StateList',
          Effect: 'Allow',
          Action: ['s3:ListBucket'],
          Resource: [scope.stateBucketArn],
        },
        { Sid: 'State', Effect: 'Allow', Action: ['s3:GetObject', 's3:PutObject'], Resource: [`${scope.stateBucketArn}/${key}`] },
        { Sid: 'StateLock', Effect: 'Allow', Action: ['s3:DeleteObject', 's3:GetObject', 's3:PutObject'], Resource: [`${scope.stateBucketArn}/${key}.tflock`] },
      ],
    },
    {
      part: 'compute',
      statements: [
        {
          Sid: 'Functions',
          Effect: 'Allow',
          Action: [
            'lambda:AddPermission',
            'lambda:CreateFunction',
            'lambda:DeleteFunction',
            'lambda:DeleteFunctionEventInvokeConfig',
            'lambda:GetFunction',
            'lambda:GetFunctionCodeSigningConfig',
            'lambda:GetFunctionConcurrency',
            'lambda:GetFunctionConfiguration',
            'lambda:GetFunctionEventInvokeConfig',
            'lambda:GetPolicy',
            'lambda:GetRuntimeManagementConfig',
            'lambda:ListTags',
            'lambda:ListVersionsByFunction',
            'lambda:PutFunctionEventInvokeConfig',
            'lambda:RemovePermission',
            'lambda:TagResource',
            'lambda:UntagResource',
            'lambda:UpdateFunctionCode',
            'lambda:UpdateFunctionConfiguration',
            'lambda:UpdateFunctionEventInvokeConfig',
          ],
          Resource: [a.function],
        },
        { Sid: 'LayerPublish', Effect: 'Allow', Action: ['lambda:PublishLayerVersion'], Resource: [a.layer] },
        { Sid: 'LayerVersions', Effect: 'Allow', Action: ['lambda:DeleteLayerVersion', 'lambda:GetLayerVersion'], Resource: [a.layerVersion] },
        // No resource type exists before the mapping does: allow-listed on "*", for the stage's functions only.
        { Sid: 'MappingCreate', Effect: 'Allow', Action: ['lambda:CreateEventSourceMapping'], Resource: ['*'], Condition: stageFunctions },
        {
          Sid: 'Mappings',
          Effect: 'Allow',
          Action: ['lambda:DeleteEventSourceMapping', 'lambda:UpdateEventSourceMapping'],
          Resource: [a.eventSourceMapping],
          Condition: stageFunctions,
        },
        // Reading a mapping (every plan's refresh): Lambda's guide names lambda:FunctionArn for the
        // create, update and delete calls only, and a condition on a key the request does not
        // carry never matches — the refresh would be denied. A read changes nothing.
        { Sid: 'MappingRead', Effect: 'Allow', Action: ['lambda:GetEventSourceMapping'], Resource: [a.eventSourceMapping] },
        { Sid: 'MappingTags', Effect: 'Allow', Action: ['lambda:ListTags', 'lambda:TagResource', 'lambda:UntagResource'], Resource: [a.eventSourceMapping] },
        {
          Sid: 'PassStageRoles',
          Effect: 'Allow',
          Action: ['iam:PassRole'],
          Resource: [a.role],
          Condition: { StringEquals: { 'iam:PassedToService': ['firehose.amazonaws.com', 'lambda.amazonaws.com'] } },
        },
        // Roles are created and given policies only with the stage's permissions boundary.
        {
          Sid: 'RolesWithBoundary',
          Effect: 'Allow',
          Action: ['iam:CreateRole', 'iam:PutRolePermissionsBoundary', 'iam:PutRolePolicy'],
          Resource: [a.role],
          Condition: { StringEquals: { 'iam:PermissionsBoundary': boundary } },
        },
        {
          // Active tracing: the one managed policy a stage role may have attached.
          Sid: 'TracingPolicy',
          Effect: 'Allow',
          Action: ['iam:AttachRolePolicy', 'iam:DetachRolePolicy'],
          Resource: [a.role],
          Condition: { ArnEquals: { 'iam:PolicyARN': `arn:${scope.partition}:iam::aws:policy/AWSXRayDaemonWriteAccess` } },
        },
        {
          Sid: 'Roles',
          Effect: 'Allow',
          Action: [
            'iam:DeleteRole',
            'iam:DeleteRolePolicy',
            'iam:GetRole',
            'iam:GetRolePolicy',
            'iam:ListAttachedRolePolicies',
            'iam:ListInstanceProfilesForRole',
            'iam:ListRolePolicies',
            'iam:ListRoleTags',
            'iam:TagRole',
            'iam:UntagRole',
            // Not iam:UpdateAssumeRolePolicy: a stage role's trust is set when it is created
            // (lambda or firehose) and never changes; with it, the role could be made to trust anyone.
            'iam:UpdateRole',
            'iam:UpdateRoleDescription',
          ],
          Resource: [a.role],
        },
        {
          Sid: 'Rules',
          Effect: 'Allow',
          Action: [
            'events:DeleteRule',
            'events:DescribeRule',
            'events:DisableRule',
            'events:EnableRule',
            'events:ListTagsForResource',
            'events:ListTargetsByRule',
            'events:PutRule',
            'events:PutTargets',
            'events:RemoveTargets',
            'events:TagResource',
            'events:UntagResource',
          ],
          Resource: [a.rule],
        },
        // The role cannot change itself, its policies or the boundary, though its name is in the stage's prefix.
        {
          Sid: 'NotItself',
          Effect: 'Deny',
          Action: ['iam:*'],
          Resource: [`arn:${scope.partition}:iam::${scope.accountId}:role/${deployRoleName(scope.stage)}`, boundary],
        },
        { Sid: 'KeepBoundaries', Effect: 'Deny', Action: ['iam:DeleteRolePermissionsBoundary'], Resource: [a.role] },
      ],
    },
    {
      part: 'data',
      statements: [
        {
          Sid: 'Buckets',
          Effect: 'Allow',
          Action: [
            's3:CreateBucket',
            's3:DeleteBucket',
            's3:DeleteBucketPolicy',
            's3:GetAccelerateConfiguration',
            's3:GetBucketAcl',
            's3:GetBucketCORS',
            's3:GetBucketLocation',
            's3:GetBucketLogging',
            's3:GetBucketNotification',
            's3:GetBucketObjectLockConfiguration',
            's3:GetBucketOwnershipControls',
            's3:GetBucketPolicy',
            's3:GetBucketPublicAccessBlock',
            's3:GetBucketRequestPayment',
            's3:GetBucketTagging',
            's3:GetBucketVersioning',
            's3:GetBucketWebsite',
            's3:GetEncryptionConfiguration',
            's3:GetLifecycleConfiguration',
            's3:GetReplicationConfiguration',
            's3:ListBucket',
            's3:PutBucketNotification',
            's3:PutBucketOwnershipControls',
            's3:PutBucketPolicy',
            's3:PutBucketPublicAccessBlock',
            's3:PutBucketTagging',
            's3:PutBucketVersioning',
            's3:PutEncryptionConfiguration',
            's3:PutLifecycleConfiguration',
          ],
          Resource: [a.bucket],
        },
        {
          Sid: 'Tables',
          Effect: 'Allow',
          Action: [
            'dynamodb:CreateTable',
            'dynamodb:DeleteTable',
            'dynamodb:DescribeContinuousBackups',
            'dynamodb:DescribeKinesisStreamingDestination',
            'dynamodb:DescribeTable',
            'dynamodb:DescribeTimeToLive',
            'dynamodb:ListTagsOfResource',
            'dynamodb:TagResource',
            'dynamodb:UntagResource',
            'dynamodb:UpdateContinuousBackups',
            'dynamodb:UpdateTable',
            'dynamodb:UpdateTimeToLive',
          ],
          Resource: [a.table],
        },
        {
          Sid: 'Queues',
          Effect: 'Allow',
          Action: [
            'sqs:CreateQueue',
            'sqs:DeleteQueue',
            'sqs:GetQueueAttributes',
            'sqs:GetQueueUrl',
            'sqs:ListQueueTags',
            'sqs:SetQueueAttributes',
            'sqs:TagQueue',
            'sqs:UntagQueue',
          ],
          Resource: [a.queue],
        },
        {
          Sid: 'DeliveryStreams',
          Effect: 'Allow',
          Action: [
            'firehose:CreateDeliveryStream',
            'firehose:DeleteDeliveryStream',
            'firehose:DescribeDeliveryStream',
            'firehose:ListTagsForDeliveryStream',
            'firehose:StartDeliveryStreamEncryption',
            'firehose:StopDeliveryStreamEncryption',
            'firehose:TagDeliveryStream',
            'firehose:UntagDeliveryStream',
            'firehose:UpdateDestination',
          ],
          Resource: [a.deliveryStream],
        },
        {
          Sid: 'GlueCatalog',
          Effect: 'Allow',
          Action: [
            'glue:CreateDatabase',
            'glue:CreateTable',
            'glue:DeleteDatabase',
            'glue:DeleteTable',
            'glue:GetDatabase',
            // The provider reads a table's partition indexes with it, right after creating it too.
            'glue:GetPartitionIndexes',
            'glue:GetTable',
            'glue:GetTags',
            'glue:TagResource',
            'glue:UntagResource',
            'glue:UpdateDatabase',
            'glue:UpdateTable',
          ],
          // DeleteDatabase is authorized on the database's tables and user-defined functions too
          // (Glue's "Specifying AWS Glue resource ARNs"): without the functions' ARN, destroying a
          // stage's database would stop midway with AccessDenied.
          Resource: [a.glueCatalog, a.glueDatabase, a.glueTable, a.glueFunction],
        },
        // Secrets are created by hand (their values never pass through Terraform); the stack only looks them up.
        { Sid: 'SecretLookups', Effect: 'Allow', Action: ['secretsmanager:DescribeSecret', 'secretsmanager:GetResourcePolicy'], Resource: [a.secret] },
      ],
    },
    {
      part: 'observability',
      statements: [
        {
          Sid: 'LogGroups',
          Effect: 'Allow',
          Action: [
            'logs:CreateLogGroup',
            'logs:CreateLogStream',
            'logs:DeleteLogGroup',
            'logs:DeleteLogStream',
            'logs:DeleteRetentionPolicy',
            'logs:DescribeLogStreams',
            'logs:ListTagsForResource',
            'logs:ListTagsLogGroup',
            'logs:PutRetentionPolicy',
            'logs:TagLogGroup',
            'logs:TagResource',
            'logs:UntagLogGroup',
            'logs:UntagResource',
          ],
          Resource: [a.lambdaLogs, a.firehoseLogs],
        },
        { Sid: 'ListCalls', Effect: 'Allow', Action: ['logs:DescribeLogGroups'], Resource: ['*'] },
        {
          Sid: 'Alarms',
          Effect: 'Allow',
          Action: [
            'cloudwatch:DeleteAlarms',
            'cloudwatch:DescribeAlarms',
            'cloudwatch:ListTagsForResource',
            'cloudwatch:PutMetricAlarm',
            'cloudwatch:TagResource',
            'cloudwatch:UntagResource',
          ],
          Resource: [a.alarm],
        },
        { Sid: 'Dashboard', Effect: 'Allow', Action: ['cloudwatch:DeleteDashboards', 'cloudwatch:GetDashboard', 'cloudwatch:PutDashboard'], Resource: [a.dashboard] },
        {
          Sid: 'AlarmTopic',
          Effect: 'Allow',
          Action: [
            'sns:CreateTopic',
            'sns:DeleteTopic',
            'sns:GetSubscriptionAttributes',
            'sns:GetTopicAttributes',
            'sns:ListSubscriptionsByTopic',
            'sns:ListTagsForResource',
            'sns:SetSubscriptionAttributes',
            'sns:SetTopicAttributes',
            'sns:Subscribe',
            'sns:TagResource',
            'sns:Unsubscribe',
            'sns:UntagResource',
          ],
          Resource: [a.topic],
        },
      ],
    },
  ];
}
