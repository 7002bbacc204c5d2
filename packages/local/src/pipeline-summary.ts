import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import type { Local } from './runner.ts';
import { formatFields, sumFields, type TopicCount } from './summary.ts';

/** What a function's runs said of their rejected records (the sum of their results' `rejects`). */
export interface RejectsReported {
  kept: number;
  notKept: number;
}

/** The `rejects` of results that report one (the producers' RunResult), summed by function. */
export function rejectsByFunction(results: { functionName: string; result: unknown }[]): Record<string, RejectsReported> {
  const out: Record<string, RejectsReported> = {};
  for (const { functionName, result } of results) {
    const rejects = (result as { rejects?: { kept?: unknown; notKept?: unknown } } | null | undefined)?.rejects;
    if (typeof rejects?.kept !== 'number' || typeof rejects.notKept !== 'number') continue;
    const sum = out[functionName] ?? { kept: 0, notKept: 0 };
    out[functionName] = { kept: sum.kept + rejects.kept, notKept: sum.notKept + rejects.notKept };
  }
  return out;
}

export interface StageLine {
  ok: boolean;
  text: string;
}

/** Reads every object under a prefix of the embedded S3, handing each one's text to `read`; returns how many there were. */
async function readObjects(client: S3Client, bucket: string, prefix: string, read: (text: string) => void): Promise<number> {
  let objects = 0;
  let token: string | undefined;
  do {
    const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    for (const o of page.Contents ?? []) {
      const body = await client.send(new GetObjectCommand({ Bucket: bucket, Key: o.Key }));
      read((await body.Body?.transformToString()) ?? '');
      objects++;
    }
    token = page.NextContinuationToken;
  } while (token);
  return objects;
}

/** Objects and JSON lines under a prefix of the embedded S3. */
async function countLines(client: S3Client, bucket: string, prefix: string): Promise<{ objects: number; lines: number }> {
  let lines = 0;
  const objects = await readObjects(client, bucket, prefix, (text) => {
    lines += text.split('\n').filter((l) => l.trim() !== '').length;
  });
  return { objects, lines };
}

/** Objects under a prefix of rejected records, and the records they stand for (`count`, else 1). */
async function countRejected(client: S3Client, bucket: string, prefix: string): Promise<{ objects: number; records: number }> {
  let records = 0;
  const objects = await readObjects(client, bucket, prefix, (text) => {
    let count: unknown;
    try {
      ({ count } = JSON.parse(text || '{}') as { count?: unknown });
    } catch {
      // Not one the functions wrote: one record all the same, the summary does not fail on it.
    }
    records += typeof count === 'number' && Number.isInteger(count) && count > 0 ? count : 1;
  });
  return { objects, records };
}

/** The static part of a prefix, before its first Firehose `!{…}` expression. */
const staticPrefix = (prefix: string) => {
  const head = prefix.split('!{')[0] as string;
  return head.slice(0, head.lastIndexOf('/') + 1);
};

/**
 * Each stream stage's counts, side by side, so `laminar dev` shows that what went in came out:
 * producers → Kafka → event source mapping → S3 bronze/, and a function → Firehose → S3. Counts
 * are compared only where they describe this run alone (embedded S3 and broker, fresh each run).
 */
export async function pipelineStages(local: Local, topics: TopicCount[] | undefined, rejectsReported: Record<string, RejectsReported> = {}): Promise<StageLine[]> {
  const out: StageLine[] = [];
  const client = local.s3?.client;
  const comparable = Boolean(local.s3?.embedded && local.kafka?.embedded);
  for (const source of local.kafkaSources) {
    const fn = source.functionName;
    const spec = local.specs.find((s) => s.spec.name === fn)?.spec;
    const results = source.outcomes.filter((o) => o.status === 'succeeded').map((o) => o.attempts.at(-1)?.result);
    const totals = formatFields(sumFields(results));
    const dlq = source.stats.dlqBatches ? `; ${source.stats.dlqBatches} batch(es), ${source.stats.dlqRecords} records to the DLQ` : '';
    out.push({ ok: source.stats.dlqBatches === 0, text: `Kafka (${source.topics.join(', ')}) → ${fn}: ${source.stats.batches} batch(es), ${source.stats.records} records${totals ? ` → ${totals}` : ''}${dlq}` });
    const prefix = typeof spec?.env.ARCHIVE_PREFIX === 'string' ? spec.env.ARCHIVE_PREFIX : undefined;
    const quarantinePrefix = typeof spec?.env.QUARANTINE_PREFIX === 'string' ? spec.env.QUARANTINE_PREFIX : undefined;
    const bucketRef = spec?.env.LAKE_BUCKET;
    if (!client || !prefix || typeof bucketRef === 'string' || !bucketRef || !('bucket' in bucketRef.ref)) continue;
    const bucket = local.bucket(bucketRef.ref.bucket);
    for (const t of topics ?? []) {
      // A topic that could not be counted (its error is shown with the topics) has nothing to compare.
      if (!source.topics.includes(t.topic) || t.error) continue;
      const where = `${prefix}${t.topic}/`;
      const { objects, lines } = await countLines(client, bucket, where);
      const quarantined = quarantinePrefix ? (await countLines(client, bucket, `${quarantinePrefix}${t.topic}/`)).lines : 0;
      const dlq = source.stats.dlqRecordsByTopic[t.topic] ?? 0;
      // Every message produced is archived, quarantined with its reasons, or named in the DLQ. A
      // batch that failed into the DLQ may have written some of its objects first: those records
      // count twice, so with records in the DLQ the lines may run up to that many over.
      const written = lines + quarantined;
      const ok = written <= t.messages && t.messages <= written + dlq;
      const parts = [quarantined ? `${quarantined} quarantined under s3://${bucket}/${quarantinePrefix}${t.topic}/` : '', dlq ? `${dlq} in the DLQ` : ''].filter(Boolean);
      const verdict = ok
        ? t.messages === 0
          ? ' — nothing produced this run (see the producers above: their dedup tables are kept, so a second run produces only new items; --fresh forgets them)'
          : ' ✔ all accounted for'
        : written > t.messages
          ? ' ✘ more lines than messages'
          : ` ✘ ${t.messages - written - dlq} neither archived, quarantined nor in the DLQ`;
      out.push({
        ok: !comparable || ok,
        text: `  ${t.topic}: ${t.messages} produced → ${lines} archived lines in ${objects} object(s) under s3://${bucket}/${where}${parts.length ? `, ${parts.join(', ')}` : ''}${comparable ? verdict : ''}`,
      });
    }
  }
  // Records the producers rejected, each kept once with its reasons (@laminar/aws keepRejectedRecords).
  for (const spec of local.specs.map((l) => l.spec)) {
    const prefix = spec.env.REJECTS_PREFIX;
    const bucketRef = spec.env.REJECTS_BUCKET;
    if (!client || !local.s3?.embedded || typeof prefix !== 'string' || typeof bucketRef !== 'object' || !('bucket' in bucketRef.ref)) continue;
    const bucket = local.bucket(bucketRef.ref.bucket);
    const { objects, records } = await countRejected(client, bucket, prefix);
    const reported = rejectsReported[spec.name];
    // A record the function could not keep is in no object: the run's own count is the only trace.
    const verdict = reported === undefined ? '' : reported.notKept > 0 ? ` ✘ the runs could not keep ${reported.notKept} (see their logs)` : ' ✔';
    out.push({ ok: (reported?.notKept ?? 0) === 0, text: `${spec.name} → rejected records: ${records} kept in ${objects} object(s) under s3://${bucket}/${prefix}, each with its reasons${verdict}` });
  }
  if (local.firehose && client) {
    const stats = local.firehose.stats();
    for (const spec of local.specs.map((l) => l.spec)) {
      for (const d of spec.deliveryStreams) {
        const name = local.deliveryStreams[d.name] as string;
        const s = stats[name];
        if (!s) continue;
        const where = staticPrefix(d.prefix);
        const { objects, lines } = await countLines(client, local.bucket(d.bucket), where);
        const held = s.accepted - s.delivered - s.retrying - s.undelivered - s.errorOutput;
        // In S3 under the prefix is not enough: records still being retried, given up at stop or
        // written to the error prefix never reached their readers.
        const missing = s.retrying + s.undelivered + s.errorOutput;
        const matches = lines === s.delivered;
        const ok = missing === 0 && (!local.s3?.embedded || matches);
        const problems = [
          s.retrying ? `✘ ${s.retrying} not delivered: S3 writes failing, still retrying` : '',
          s.undelivered ? `✘ ${s.undelivered} undelivered, lost when the emulator stopped` : '',
          s.errorOutput ? `✘ ${s.errorOutput} to the error prefix` : '',
        ].filter(Boolean);
        const retried = s.s3Failures && !s.retrying && !s.undelivered ? ` (after ${s.s3Failures} failed S3 write(s), retried)` : '';
        const check = local.s3?.embedded ? (!matches ? ' ✘ does not match' : missing ? `, matching the ${s.delivered} delivered` : ' ✔ all there') : '';
        out.push({
          ok,
          text: `${spec.name} → Firehose ${name}: ${s.calls} call(s), ${s.accepted} records accepted${s.failed ? `, ${s.failed} refused (retried by the sender)` : ''} → ${s.delivered} delivered in ${s.objects} object(s)${retried}${
            held > 0 ? `, ${held} still buffered` : ''
          }${problems.map((p) => `, ${p}`).join('')}; S3 ${where}: ${lines} JSON lines in ${objects} object(s)${check}`,
        });
      }
    }
  }
  return out;
}
