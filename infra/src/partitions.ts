/**
 * From a Firehose S3 prefix (with `!{timestamp:…}` expressions) to what a Glue table over its output
 * needs: the table location and Athena partition projection, so the partitions never have to be
 * discovered by a crawler or `MSCK REPAIR`.
 */

/**
 * Years the `yyyy` partition projects. Firehose stamps objects with their arrival time (UTC), so no
 * object is older than the first deployment. The range is wide so data never falls out of the table
 * (a query outside it returns nothing, silently); the price is that a query without a year/month/day
 * predicate enumerates every projected partition — filter on them, as partitioned tables want anyway.
 */
export const PROJECTED_YEARS = { first: 2025, last: 2099 } as const;

/** Firehose timestamp formats a partition can use, as Athena integer projections. */
const INTEGER_PROJECTIONS: Readonly<Record<string, { range: string; digits: number }>> = {
  yyyy: { range: `${PROJECTED_YEARS.first},${PROJECTED_YEARS.last}`, digits: 4 },
  MM: { range: '1,12', digits: 2 },
  dd: { range: '1,31', digits: 2 },
  HH: { range: '0,23', digits: 2 },
};

/**
 * The folder part of a prefix before its first `!{…}` expression: "inventory/year=!{…}/" →
 * "inventory/". Everything a stream writes under that prefix lands below it.
 */
export function staticPrefix(prefix: string): string {
  const i = prefix.indexOf('!{');
  const head = i < 0 ? prefix : prefix.slice(0, i);
  return head.slice(0, head.lastIndexOf('/') + 1);
}

export interface PartitionProjection {
  /** `s3://<bucket>/<static prefix>`: the table's location. */
  location: string;
  /** Table parameters: projection.* and storage.location.template (Athena's `${key}` placeholders, unescaped). */
  parameters: Record<string, string>;
}

const PARTITION_SEGMENT = /^([a-z_][a-z0-9_]*)=!\{timestamp:([^}]+)\}$/;

/**
 * Athena partition projection for a prefix whose `key=!{timestamp:FMT}/` segments are the table's
 * partition keys. Refuses what the table could not read back: an expression that is not such a
 * segment, a partition key the prefix does not carry, or a format without an integer projection.
 */
export function partitionProjection(bucketName: string, prefix: string, keys: readonly string[], where: string): PartitionProjection {
  const parameters: Record<string, string> = { 'projection.enabled': 'true' };
  const found: string[] = [];
  const template = prefix
    .split('/')
    .map((segment) => {
      if (!segment.includes('!{')) return segment;
      const m = PARTITION_SEGMENT.exec(segment);
      if (!m) throw new Error(`${where}: prefix segment "${segment}" is not a "key=!{timestamp:…}" partition the Glue table can project`);
      const [, key, format] = m as unknown as [string, string, string];
      if (!keys.includes(key)) throw new Error(`${where}: prefix partition "${key}" is not among the table's partitionKeys`);
      const projection = INTEGER_PROJECTIONS[format];
      if (!projection) {
        throw new Error(`${where}: partition "${key}" uses !{timestamp:${format}}; projected formats are ${Object.keys(INTEGER_PROJECTIONS).join(', ')}`);
      }
      found.push(key);
      parameters[`projection.${key}.type`] = 'integer';
      parameters[`projection.${key}.range`] = projection.range;
      parameters[`projection.${key}.digits`] = String(projection.digits);
      return `${key}=\${${key}}`;
    })
    .join('/');
  const missing = keys.filter((k) => !found.includes(k));
  if (missing.length > 0) throw new Error(`${where}: partition keys ${missing.join(', ')} are not in the prefix`);
  parameters['storage.location.template'] = `s3://${bucketName}/${template}`;
  return { location: `s3://${bucketName}/${staticPrefix(prefix)}`, parameters };
}

/**
 * Glue database names are lower-case letters, digits and underscores (Athena refuses dashes), and
 * one catalog per account and region serves every stage: the stage goes in as a suffix with its
 * dashes turned into underscores ("laminar" in stage "dev" → "laminar_dev"). Stages never contain
 * underscores, so two stages cannot collide.
 */
export function glueDatabaseName(database: string, stage: string): string {
  const name = `${database}_${stage.replace(/-/g, '_')}`;
  if (!/^[a-z][a-z0-9_]{0,254}$/.test(name)) throw new Error(`Glue database name "${name}" is not valid`);
  return name;
}

/**
 * Terraform reads `${…}` in a string as an interpolation; Athena's placeholders must reach the API
 * literally, so they are written `$${…}`. (A replacer function, since "$$" in a replacement string
 * means one "$".)
 */
export function escapeInterpolation(value: string): string {
  return value.replace(/\$\{/g, () => '$${');
}
