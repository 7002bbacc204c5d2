import { type FunctionSpec, keyPatternsOf } from '@laminar/spec';

export interface PolicyStatement {
  Effect: 'Allow';
  Action: string[];
  Resource: string[];
  Condition?: Record<string, Record<string, string[]>>;
}

export interface PolicyDocument {
  Version: '2012-10-17';
  Statement: PolicyStatement[];
}

/**
 * S3 actions whose resource is the bucket itself. Everything else in s3: acts on objects and needs
 * a key pattern. Listed explicitly (not guessed from the name) because a wrong guess yields a
 * policy that silently grants nothing.
 */
const BUCKET_ACTIONS = new Set([
  's3:ListBucket',
  's3:ListBucketVersions',
  's3:ListBucketMultipartUploads',
  's3:GetBucketLocation',
  's3:GetBucketVersioning',
  's3:GetBucketNotification',
  's3:GetBucketTagging',
  's3:GetLifecycleConfiguration',
]);
/** Listing actions that honour the s3:prefix condition key. */
const PREFIX_CONDITION_ACTIONS = new Set(['s3:ListBucket', 's3:ListBucketVersions']);

/** Item-level DynamoDB actions a table grant may carry; scans and table management are not among them. */
const TABLE_ACTIONS = new Set([
  'dynamodb:GetItem',
  'dynamodb:BatchGetItem',
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
  'dynamodb:BatchWriteItem',
  'dynamodb:Query',
  'dynamodb:ConditionCheckItem',
  'dynamodb:DescribeTable',
]);

export interface ResourceArns {
  bucket(logical: string): string;
  table(logical: string): string;
  /** `arn:<partition>:firehose:<region>:<account>:deliverystream/<name>` (the stream resource's own arn). */
  deliveryStream(logical: string): string;
}

/**
 * Turns the spec's permissions into IAM statements on exact ARNs. One spec permission can produce
 * a bucket statement and an object statement, since IAM matches actions against resource types.
 */
export function permissionStatements(spec: FunctionSpec, arns: ResourceArns): PolicyStatement[] {
  const out: PolicyStatement[] = [];
  for (const p of spec.permissions) {
    if ('table' in p.resource) {
      const unknown = p.actions.filter((a) => !TABLE_ACTIONS.has(a));
      if (unknown.length > 0) {
        throw new Error(`function "${spec.name}": ${unknown.join(', ')} cannot be granted on table "${p.resource.table}"`);
      }
      out.push({ Effect: 'Allow', Action: [...p.actions].sort(), Resource: [arns.table(p.resource.table)] });
      continue;
    }
    if ('deliveryStream' in p.resource) {
      // A delivery stream ARN names nothing but the stream: any other service's action on it would grant nothing.
      const unknown = p.actions.filter((a) => !a.startsWith('firehose:'));
      if (unknown.length > 0) {
        throw new Error(
          `function "${spec.name}": only firehose: actions apply to delivery stream "${p.resource.deliveryStream}", got ${unknown.join(', ')}`,
        );
      }
      out.push({ Effect: 'Allow', Action: [...p.actions].sort(), Resource: [arns.deliveryStream(p.resource.deliveryStream)] });
      continue;
    }
    const unknown = p.actions.filter((a) => !a.startsWith('s3:'));
    if (unknown.length > 0) {
      throw new Error(`function "${spec.name}": only s3: actions apply to bucket "${p.resource.bucket}", got ${unknown.join(', ')}`);
    }
    const arn = arns.bucket(p.resource.bucket);
    const patterns = keyPatternsOf(p.resource);
    const bucketLevel = p.actions.filter((a) => BUCKET_ACTIONS.has(a));
    const objectLevel = p.actions.filter((a) => !BUCKET_ACTIONS.has(a));

    const listing = bucketLevel.filter((a) => PREFIX_CONDITION_ACTIONS.has(a));
    const otherBucket = bucketLevel.filter((a) => !PREFIX_CONDITION_ACTIONS.has(a));
    if (listing.length > 0) {
      out.push({
        Effect: 'Allow',
        Action: listing,
        Resource: [arn],
        // A prefix on a listing grant narrows which keys can be listed, not the bucket ARN.
        ...(patterns.length ? { Condition: { StringLike: { 's3:prefix': patterns } } } : {}),
      });
    }
    if (otherBucket.length > 0) out.push({ Effect: 'Allow', Action: otherBucket, Resource: [arn] });
    if (objectLevel.length > 0) {
      if (patterns.length === 0) {
        throw new Error(
          `function "${spec.name}": ${objectLevel.join(', ')} act on objects; give the permission a prefix ` +
            `(e.g. "*" or "reports/*") on bucket "${p.resource.bucket}"`,
        );
      }
      out.push({ Effect: 'Allow', Action: objectLevel, Resource: patterns.map((pattern) => `${arn}/${pattern}`) });
    }
  }
  return out;
}
