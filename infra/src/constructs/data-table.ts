import { DynamodbTable } from '@cdktf/provider-aws/lib/dynamodb-table/index.js';
import { TABLE_KINDS, type TableKind, type TableSchema, tableKeyDefinition } from '@laminar/spec';
import { Construct } from 'constructs';
import { resourceName } from '../naming.ts';

export interface DataTableProps {
  stage: string;
  /** The name specs use ("rss-dedup"). */
  logical: string;
  kind: TableKind;
}

/**
 * A table of one of the spec vocabulary's kinds. Key schema and TTL attribute come from
 * TABLE_KINDS, the same constants the dedup package writes with and the runner's emulator creates.
 */
export class DataTable extends Construct {
  readonly name: string;
  readonly table: DynamodbTable;

  constructor(scope: Construct, id: string, props: DataTableProps) {
    super(scope, id);
    const schema: TableSchema = TABLE_KINDS[props.kind];
    const keys = tableKeyDefinition(props.kind);
    this.name = resourceName(props.stage, props.logical, 255);
    this.table = new DynamodbTable(this, 'table', {
      name: this.name,
      // Producers run every few minutes in bursts: on-demand costs nothing between runs.
      billingMode: 'PAY_PER_REQUEST',
      hashKey: schema.partitionKey,
      ...(schema.sortKey ? { rangeKey: schema.sortKey } : {}),
      attribute: keys.AttributeDefinitions.map((a) => ({ name: a.AttributeName, type: a.AttributeType })),
      ttl: { attributeName: schema.ttlAttribute, enabled: true },
      pointInTimeRecovery: { enabled: true },
      // Encryption at rest with the AWS managed key: the functions' roles need no KMS grants.
      serverSideEncryption: { enabled: true },
      deletionProtectionEnabled: props.stage === 'prod',
      tags: { table_kind: props.kind },
    });
  }

  get arn(): string {
    return this.table.arn;
  }
}
