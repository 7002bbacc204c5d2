import { CloudwatchLogGroup } from '@cdktf/provider-aws/lib/cloudwatch-log-group/index.js';
import { CloudwatchLogStream } from '@cdktf/provider-aws/lib/cloudwatch-log-stream/index.js';
import { CloudwatchMetricAlarm } from '@cdktf/provider-aws/lib/cloudwatch-metric-alarm/index.js';
import type { GlueCatalogDatabase } from '@cdktf/provider-aws/lib/glue-catalog-database/index.js';
import { GlueCatalogTable } from '@cdktf/provider-aws/lib/glue-catalog-table/index.js';
import { IamRole } from '@cdktf/provider-aws/lib/iam-role/index.js';
import { IamRolePolicy } from '@cdktf/provider-aws/lib/iam-role-policy/index.js';
import { KinesisFirehoseDeliveryStream } from '@cdktf/provider-aws/lib/kinesis-firehose-delivery-stream/index.js';
import { type DeliveryStreamDecl, firehoseRoleName } from '@laminar/spec';
import { Construct } from 'constructs';
import { resourceName } from '../naming.ts';
import { escapeInterpolation, partitionProjection, staticPrefix } from '../partitions.ts';
import type { PolicyDocument } from '../policy.ts';
import type { DataBucket } from './data-bucket.ts';

export interface DeliveryStreamProps {
  stage: string;
  /** The function whose spec declares the stream (tags, log retention). */
  owner: string;
  decl: DeliveryStreamDecl;
  bucket: DataBucket;
  /** The deploying account (a data source attribute): the only one whose Firehose may assume the role. */
  accountId: string;
  logRetentionDays: number;
  /** The Glue database of `decl.table.database` in this stage, when the stream declares a table. */
  database?: GlueCatalogDatabase;
  /** ARN of the stage's permissions boundary (bootstrap stack). */
  permissionsBoundary: string;
  /** The stage's alarm topic: told when delivery to S3 falls behind. */
  alarmTopicArn: string;
}

/** Firehose's own name for the stream of S3 delivery errors inside the log group. */
const DELIVERY_LOG_STREAM = 'DestinationDelivery';

/** Hive text formats plus the OpenX JSON SerDe: one JSON object per line. */
const JSON_LINES_STORAGE = {
  inputFormat: 'org.apache.hadoop.mapred.TextInputFormat',
  outputFormat: 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat',
  serializationLibrary: 'org.openx.data.jsonserde.JsonSerDe',
} as const;

/**
 * A Direct PUT Firehose delivery stream into a data bucket, with its own role, log group and (when
 * declared) the Glue table that reads what it writes.
 */
export class DeliveryStream extends Construct {
  readonly name: string;
  readonly stream: KinesisFirehoseDeliveryStream;
  readonly role: IamRole;
  readonly logGroup: CloudwatchLogGroup;
  readonly table?: GlueCatalogTable;

  constructor(scope: Construct, id: string, props: DeliveryStreamProps) {
    super(scope, id);
    const { decl, bucket, stage } = props;
    const where = `delivery stream "${decl.name}" (function "${props.owner}")`;
    this.name = resourceName(stage, decl.name);
    const tags = { function: props.owner, delivery_stream: decl.name };

    const dataPrefix = staticPrefix(decl.prefix);
    const errorPrefix = staticPrefix(decl.errorOutputPrefix);
    if (decl.table && errorPrefix.startsWith(dataPrefix)) {
      // Error records (Firehose's envelope, not the table's rows) would be read as rows.
      throw new Error(`${where}: errorOutputPrefix "${decl.errorOutputPrefix}" lies under the table's location "${dataPrefix}"`);
    }

    this.logGroup = new CloudwatchLogGroup(this, 'logs', {
      name: `/aws/kinesisfirehose/${this.name}`,
      retentionInDays: props.logRetentionDays,
      tags,
    });
    const logStream = new CloudwatchLogStream(this, 'log-stream', { name: DELIVERY_LOG_STREAM, logGroupName: this.logGroup.name });

    this.role = new IamRole(this, 'role', {
      name: firehoseRoleName(stage, decl.name),
      permissionsBoundary: props.permissionsBoundary,
      assumeRolePolicy: JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Principal: { Service: 'firehose.amazonaws.com' },
            Action: 'sts:AssumeRole',
            // Confused-deputy guard: only Firehose acting for this account. The external id is the
            // condition Firehose's guide gives ("Allow Firehose to assume an IAM role"): Firehose
            // passes the account as sts:ExternalId; that it also sets aws:SourceAccount when
            // assuming a role is documented nowhere, and a condition on a key it does not send
            // would refuse every delivery.
            Condition: { StringEquals: { 'sts:ExternalId': props.accountId } },
          },
        ],
      }),
      tags,
    });

    // What Firehose's S3 destination documents as needed, minus s3:GetObject (it only writes):
    // bucket-level calls on the bucket (they reveal key names, never content), object writes only
    // under the stream's two prefixes.
    const objects = [...new Set([dataPrefix, errorPrefix])].map((p) => `${bucket.arn}/${p}*`);
    const policy: PolicyDocument = {
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Allow', Action: ['s3:GetBucketLocation', 's3:ListBucket', 's3:ListBucketMultipartUploads'], Resource: [bucket.arn] },
        { Effect: 'Allow', Action: ['s3:AbortMultipartUpload', 's3:PutObject'], Resource: objects },
        { Effect: 'Allow', Action: ['logs:PutLogEvents'], Resource: [logStream.arn] },
      ],
    };
    const rolePolicy = new IamRolePolicy(this, 'policy', {
      name: this.role.name,
      role: this.role.id,
      policy: JSON.stringify(policy),
    });

    this.stream = new KinesisFirehoseDeliveryStream(this, 'stream', {
      name: this.name,
      destination: 'extended_s3',
      // Direct PUT only: records are encrypted at rest inside Firehose with an AWS-owned key (no
      // KMS grants for writers); the objects get the bucket's default SSE-S3.
      serverSideEncryption: { enabled: true, keyType: 'AWS_OWNED_CMK' },
      extendedS3Configuration: {
        roleArn: this.role.arn,
        bucketArn: bucket.arn,
        prefix: decl.prefix,
        errorOutputPrefix: decl.errorOutputPrefix,
        bufferingSize: decl.buffering.sizeMb,
        bufferingInterval: decl.buffering.intervalS,
        // UNCOMPRESSED: objects are the records byte for byte (JSON Lines), exactly what the local
        // runner's Firehose emulator writes, so every reader of the prefix sees one format in AWS
        // and locally. Athena reads GZIP too (by the .gz extension Firehose adds); switching saves
        // storage and scan cost but must then be made in the emulator as well.
        compressionFormat: 'UNCOMPRESSED',
        cloudwatchLoggingOptions: { enabled: true, logGroupName: this.logGroup.name, logStreamName: logStream.name },
      },
      tags,
      // Firehose checks that it can assume the role and write at creation; IAM is eventually consistent.
      dependsOn: [rolePolicy],
    });

    // A producer's PutRecordBatch succeeds once Firehose holds the records; delivery to S3 happens
    // later, and Firehose drops what it could not deliver within a day. The age of the oldest
    // record not yet in S3 says when that is failing or behind: over three buffering intervals
    // (and 15 min) for 15 min, someone is told.
    new CloudwatchMetricAlarm(this, 'freshness-alarm', {
      alarmName: `${this.name}-delivery-behind`,
      alarmDescription: `Records wait in ${this.name} longer than three buffering intervals: delivery to S3 is failing or behind (the ${DELIVERY_LOG_STREAM} log says why: Firehose retries a failed S3 write, it never goes to the error prefix); Firehose drops what it cannot deliver within 24 h`,
      namespace: 'AWS/Firehose',
      metricName: 'DeliveryToS3.DataFreshness',
      dimensions: { DeliveryStreamName: this.name },
      statistic: 'Maximum',
      period: 300,
      evaluationPeriods: 3,
      threshold: Math.max(900, 3 * decl.buffering.intervalS),
      comparisonOperator: 'GreaterThanThreshold',
      treatMissingData: 'notBreaching',
      alarmActions: [props.alarmTopicArn],
      okActions: [props.alarmTopicArn],
      tags,
    });

    if (decl.table) {
      if (!props.database) throw new Error(`${where}: no Glue database "${decl.table.database}" passed`);
      const projection = partitionProjection(bucket.name, decl.prefix, decl.table.partitionKeys, where);
      this.table = new GlueCatalogTable(this, 'table', {
        name: decl.table.name,
        databaseName: props.database.name,
        description: `Written by Firehose stream ${this.name} (function ${props.owner}); partitions are projected, no crawler.`,
        tableType: 'EXTERNAL_TABLE',
        parameters: {
          EXTERNAL: 'TRUE',
          classification: 'json',
          ...Object.fromEntries(Object.entries(projection.parameters).map(([k, v]) => [k, escapeInterpolation(v)])),
        },
        partitionKeys: decl.table.partitionKeys.map((name) => ({ name, type: 'string' })),
        storageDescriptor: {
          location: projection.location,
          inputFormat: JSON_LINES_STORAGE.inputFormat,
          outputFormat: JSON_LINES_STORAGE.outputFormat,
          compressed: false,
          serDeInfo: { name: 'openx-json', serializationLibrary: JSON_LINES_STORAGE.serializationLibrary },
          columns: decl.table.columns.map((c) => ({ name: c.name, type: c.type, ...(c.comment ? { comment: c.comment } : {}) })),
        },
      });
    }
  }

  get arn(): string {
    return this.stream.arn;
  }
}
