import type { FunctionSpec } from '@laminar/spec';

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

/**
 * Turns the spec's permissions into IAM statements on exact ARNs. One spec permission can produce
 * a bucket statement and an object statement, since IAM matches actions against resource types.
 */
export function permissionStatements(spec: FunctionSpec, bucketArn: (logical: string) => string): PolicyStatement[] {
  const out: PolicyStatement[] = [];
  for (const p of spec.permissions) {
    const unknown = p.actions.filter((a) => !a.startsWith('s3:'));
    if (unknown.length > 0) {
      throw new Error(`function "${spec.name}": infra maps only s3: actions on buckets, got ${unknown.join(', ')}`);
    }
    if (!('bucket' in p.resource)) throw new Error(`function "${spec.name}": infra maps only bucket resources yet`);
    const arn = bucketArn(p.resource.bucket);
    const { prefix } = p.resource;
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
        ...(prefix ? { Condition: { StringLike: { 's3:prefix': [prefix] } } } : {}),
      });
    }
    if (otherBucket.length > 0) out.push({ Effect: 'Allow', Action: otherBucket, Resource: [arn] });
    if (objectLevel.length > 0) {
      if (!prefix) {
        throw new Error(
          `function "${spec.name}": ${objectLevel.join(', ')} act on objects; give the permission a prefix ` +
            `(e.g. "*" or "reports/*") on bucket "${p.resource.bucket}"`,
        );
      }
      out.push({ Effect: 'Allow', Action: objectLevel, Resource: [`${arn}/${prefix}`] });
    }
  }
  return out;
}
