import { S3Bucket } from '@cdktf/provider-aws/lib/s3-bucket/index.js';
import { S3BucketLifecycleConfiguration } from '@cdktf/provider-aws/lib/s3-bucket-lifecycle-configuration/index.js';
import { S3BucketOwnershipControls } from '@cdktf/provider-aws/lib/s3-bucket-ownership-controls/index.js';
import { S3BucketPolicy } from '@cdktf/provider-aws/lib/s3-bucket-policy/index.js';
import { S3BucketPublicAccessBlock } from '@cdktf/provider-aws/lib/s3-bucket-public-access-block/index.js';
import { S3BucketServerSideEncryptionConfigurationA } from '@cdktf/provider-aws/lib/s3-bucket-server-side-encryption-configuration/index.js';
import { S3BucketVersioningA } from '@cdktf/provider-aws/lib/s3-bucket-versioning/index.js';
import { Construct } from 'constructs';
import { resourceName } from '../naming.ts';
import { denyInsecureTransport } from './tls-only.ts';

export interface DataBucketProps {
  stage: string;
  /** The name specs use ("documents"). */
  logical: string;
  /** Optional global-uniqueness suffix: S3 names are global across all accounts. */
  suffix?: string;
  /** Some function writes objects: keep overwritten/deleted objects recoverable. */
  versioned: boolean;
  /** Some function writes objects (possibly multipart): clean up uploads that never complete. */
  abortIncompleteUploads: boolean;
  /** A name not derived from stage and logical name (the Terraform state bucket's, with the account id in it). */
  name?: string;
  /** Expire overwritten object versions after this many days. */
  noncurrentVersionDays?: number;
  /**
   * Of a key's overwritten versions, this many newest are kept whatever their age (default 10).
   * With 0, the rule also removes delete markers left with no version behind them.
   */
  noncurrentVersionsKept?: number;
  /**
   * Prefixes whose objects expire (specs' expiringOutputs): the current version after `days`, a
   * noncurrent one (overwritten, or expired into a delete marker) a day later.
   */
  expirations?: readonly { prefix: string; days: number }[];
  /** Terraform refuses to destroy the bucket (lifecycle prevent_destroy). */
  preventDestroy?: boolean;
}

export class DataBucket extends Construct {
  readonly logical: string;
  /** The real bucket name, known at synth time (no account id in it, so synth needs no AWS access). */
  readonly name: string;
  readonly bucket: S3Bucket;

  constructor(scope: Construct, id: string, props: DataBucketProps) {
    super(scope, id);
    this.logical = props.logical;
    this.name = props.name ?? resourceName(props.stage, props.suffix ? `${props.logical}-${props.suffix}` : props.logical, 63);

    this.bucket = new S3Bucket(this, 'bucket', { bucket: this.name, ...(props.preventDestroy ? { lifecycle: { preventDestroy: true } } : {}) });
    const bucket = this.bucket.id;

    const publicAccess = new S3BucketPublicAccessBlock(this, 'public-access', {
      bucket,
      blockPublicAcls: true,
      blockPublicPolicy: true,
      ignorePublicAcls: true,
      restrictPublicBuckets: true,
    });

    // ACLs disabled: access is decided by IAM and the bucket policy alone.
    new S3BucketOwnershipControls(this, 'ownership', {
      bucket,
      rule: { objectOwnership: 'BucketOwnerEnforced' },
    });

    // SSE-S3 rather than SSE-KMS: with KMS every reader and writer (including whoever follows a
    // presigned manifest URL's signer) needs kms:Decrypt/GenerateDataKey grants, which the spec's
    // permission vocabulary cannot express yet, and each request costs a KMS call. A customer-managed
    // key is the upgrade path once key-level audit or separation of duties is required.
    new S3BucketServerSideEncryptionConfigurationA(this, 'encryption', {
      bucket,
      rule: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: 'AES256' } }],
    });

    // Presigned URLs and SDK clients all use HTTPS; refusing plain HTTP closes the last gap.
    // Depends on the public access block: S3 rejects concurrent policy and PAB writes with OperationAborted.
    new S3BucketPolicy(this, 'tls-only', {
      bucket,
      policy: JSON.stringify({
        Version: '2012-10-17',
        Statement: [denyInsecureTransport('s3:*', [this.bucket.arn, `${this.bucket.arn}/*`])],
      }),
      dependsOn: [publicAccess],
    });

    const versioning = props.versioned
      ? new S3BucketVersioningA(this, 'versioning', {
          bucket,
          versioningConfiguration: { status: 'Enabled' },
        })
      : undefined;

    // Two specs may name the same prefix and days: one rule. S3 refuses a configuration with two
    // rules of one id, at apply; two different ones that would share an id are refused here.
    const expirations = [...new Map((props.expirations ?? []).map((e) => [`${e.days}:${e.prefix}`, e])).values()].sort((a, b) =>
      a.prefix < b.prefix ? -1 : a.prefix > b.prefix ? 1 : a.days - b.days,
    );
    const ruleId = (e: { prefix: string; days: number }) => `expire-${e.prefix.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^-|-$/g, '')}-after-${e.days}d`.slice(0, 255);
    const ids = expirations.map(ruleId);
    const clash = ids.find((id, i) => ids.indexOf(id) !== i);
    if (clash) throw new Error(`bucket ${props.logical}: two expiringOutputs prefixes give the lifecycle rule id "${clash}"; rename one`);
    if (props.abortIncompleteUploads || props.noncurrentVersionDays !== undefined || expirations.length > 0) {
      // Parts of an upload that never completes are billed yet invisible to listings.
      // The provider asks lifecycle rules to wait for versioning when both change in one apply.
      new S3BucketLifecycleConfiguration(this, 'lifecycle', {
        bucket,
        rule: [
          ...(props.abortIncompleteUploads
            ? [
                {
                  id: 'abort-incomplete-multipart-uploads',
                  status: 'Enabled',
                  filter: [{}],
                  abortIncompleteMultipartUpload: [{ daysAfterInitiation: 1 }],
                },
              ]
            : []),
          ...(props.noncurrentVersionDays !== undefined
            ? [
                {
                  id: 'expire-old-versions',
                  status: 'Enabled',
                  filter: [{}],
                  noncurrentVersionExpiration: [
                    {
                      noncurrentDays: props.noncurrentVersionDays,
                      ...((props.noncurrentVersionsKept ?? 10) > 0 ? { newerNoncurrentVersions: props.noncurrentVersionsKept ?? 10 } : {}),
                    },
                  ],
                  ...(props.noncurrentVersionsKept === 0 ? { expiration: [{ expiredObjectDeleteMarker: true }] } : {}),
                },
              ]
            : []),
          // Where rules overlap, S3 applies the earliest expiration: these win over the month above.
          ...expirations.map((e) => ({
            id: ruleId(e),
            status: 'Enabled',
            filter: [{ prefix: e.prefix }],
            expiration: [{ days: e.days }],
            noncurrentVersionExpiration: [{ noncurrentDays: 1 }],
          })),
        ],
        ...(versioning ? { dependsOn: [versioning] } : {}),
      });
    }
  }

  get arn(): string {
    return this.bucket.arn;
  }
}
