import { QueryCommand } from '@aws-sdk/client-dynamodb';
import { DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import type { AsyncOutcome } from '../async.ts';
import { describeDestinationMessage } from '../queue-commands.ts';
import { localDlqName, localQueueName } from '../queues.ts';
import type { Local } from '../runner.ts';
import { formatFields, numericFields } from '../summary.ts';
import { DECOYS, type SampleFile, sampleFiles, VANISHING } from './sample-csv.ts';
import type { Scenario, ScenarioContext, ScenarioResult } from './types.ts';

const VALIDATOR = 'csv-validator';
const AUDIT = 'object-audit';
const ARRIVALS = 'bronze-arrivals';
const LAKE = 'lake';
/** Binary junk named .csv (sample-csv.ts): the validator quarantines its manifest and fails on purpose. */
const POISON = 'bronze/poison.csv';

type Counts = { read: number; valid: number; rejected: number };

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * rows read / valid / rejected, wherever the validator's result keeps them (top level or one
 * level down, under the names a validator is likely to use).
 */
export function countsOf(result: unknown): Counts | undefined {
  const fields = new Map<string, number>();
  for (const [k, v] of numericFields(result)) fields.set(k.split('.').pop() as string, v);
  const pick = (names: string[]) => names.map((n) => fields.get(n)).find((v) => v !== undefined);
  const read = pick(['rowsRead', 'rows', 'read', 'total']);
  const valid = pick(['valid', 'validRows', 'rowsValid', 'written']);
  const rejected = pick(['rejected', 'rejectedRows', 'rowsRejected', 'invalid', 'quarantined']);
  return read !== undefined && valid !== undefined && rejected !== undefined ? { read, valid, rejected } : undefined;
}

/** What the validator says about one file: `objects[0]` of its result, when it has that shape. */
interface FileOutcome {
  status?: string;
  reason?: string;
  detail?: string;
  replayed?: boolean;
  outputs?: { silver?: string | null; quarantine?: string | null; manifests?: string[] };
}

export function fileOutcomeOf(result: unknown): FileOutcome | undefined {
  const first = isRecord(result) && Array.isArray(result.objects) ? result.objects[0] : undefined;
  return isRecord(first) && typeof first.status === 'string' ? (first as FileOutcome) : undefined;
}

/**
 * Where each file's first delivery to the validator left it: validated, quarantined whole, skipped
 * (gone before it was read), in the DLQ, or nowhere (failed without a destination, or never
 * delivered). `parts` names the non-empty ones, `accounted` counts the files in the first four.
 */
export function fileLedger(firstDeliveries: (AsyncOutcome | undefined)[]): { parts: string[]; accounted: number; toDlq: number; nowhere: number } {
  const n = { validated: 0, rejected: 0, skipped: 0, toDlq: 0, nowhere: 0 };
  for (const o of firstDeliveries) {
    if (!o) n.nowhere++;
    else if (o.status !== 'succeeded') {
      if (o.destination) n.toDlq++;
      else n.nowhere++;
    } else {
      const status = fileOutcomeOf(o.attempts.at(-1)?.result)?.status;
      if (status === 'validated') n.validated++;
      else if (status === 'rejected') n.rejected++;
      else if (status === 'skipped') n.skipped++;
      else n.nowhere++;
    }
  }
  const parts = [
    n.validated ? `${n.validated} validated` : '',
    n.rejected ? `${n.rejected} quarantined whole` : '',
    n.skipped ? `${n.skipped} skipped (gone before it was read)` : '',
    n.toDlq ? `${n.toDlq} in the DLQ` : '',
    n.nowhere ? `${n.nowhere} unaccounted for` : '',
  ].filter(Boolean);
  return { parts, accounted: n.validated + n.rejected + n.skipped + n.toDlq, toDlq: n.toDlq, nowhere: n.nowhere };
}

/** The result without what differs between a first delivery and its replay. */
function comparable(result: unknown): string {
  return JSON.stringify(result, (k, v) => (k === 'replayed' ? undefined : v));
}

/** Every string in the result that names a silver/ or quarantine/ object or a manifest. */
export function outputKeysOf(result: unknown): string[] {
  const out = new Set<string>();
  const walk = (v: unknown, depth: number) => {
    if (depth > 6) return;
    if (typeof v === 'string' && (/^(silver|quarantine)\//.test(v) || v.endsWith('_manifest.json'))) out.add(v);
    else if (Array.isArray(v)) for (const x of v) walk(x, depth + 1);
    else if (isRecord(v)) for (const x of Object.values(v)) walk(x, depth + 1);
  };
  walk(result, 0);
  return [...out].sort();
}

async function listKeys(local: Local, bucket: string, prefix: string): Promise<{ key: string; size: number }[]> {
  const s3 = local.s3;
  if (!s3) return [];
  const out: { key: string; size: number }[] = [];
  let token: string | undefined;
  do {
    const page = await s3.client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    for (const o of page.Contents ?? []) out.push({ key: o.Key as string, size: o.Size ?? 0 });
    token = page.NextContinuationToken;
  } while (token);
  return out;
}

/** The audit ledger's items for one object since `since` (the ledger keeps earlier runs too). */
async function auditItems(local: Local, bucket: string, key: string, since: string): Promise<Record<string, string>[]> {
  const table = local.tables['object-arrivals'];
  if (!local.dynamodb || !table) return [];
  const res = await local.dynamodb.client.send(
    new QueryCommand({
      TableName: table,
      KeyConditionExpression: 'pk = :pk AND sk >= :since',
      ExpressionAttributeValues: { ':pk': { S: `${bucket}/${key}` }, ':since': { S: since } },
    }),
  );
  return (res.Items ?? []).map((item) => Object.fromEntries(Object.entries(item).map(([k, v]) => [k, v.S ?? v.N ?? JSON.stringify(v)])));
}

function describeOutcome(o: AsyncOutcome): string {
  const last = o.attempts.at(-1);
  const n = o.attempts.length;
  const tries = n > 1 ? ` (${n} attempts)` : '';
  if (o.status === 'succeeded') {
    const fields = numericFields(last?.result);
    return `✔ ${fields.length ? formatFields(fields) : JSON.stringify(last?.result)?.slice(0, 160)}${tries}`;
  }
  const why = last?.error ? `${last.error.errorType}: ${last.error.errorMessage.split('\n')[0]}` : (o.error?.message ?? o.status);
  const where = o.destination ? ` → ${o.destination.queue}` : o.status === 'stopped' ? '' : ' (no on-failure destination: discarded)';
  return `✘ ${o.status} after ${n} attempt${n === 1 ? '' : 's'}: ${why}${where}`;
}

/** What object-audit returns for one event (its RecordResult), when its result has that shape. */
function recordCountsOf(result: unknown): { recorded: number; alreadyRecorded: number } | undefined {
  if (!isRecord(result) || typeof result.recorded !== 'number' || typeof result.alreadyRecorded !== 'number') return undefined;
  return { recorded: result.recorded, alreadyRecorded: result.alreadyRecorded };
}

/**
 * What is wrong with object-audit's record of one file (nothing: an empty list), from the outcomes
 * of every delivery of the file's event and the ledger's items for it this run. Every delivery must
 * succeed (an arrival in the DLQ is one the ledger misses), the ledger must hold exactly one item,
 * and exactly one delivery may have recorded it: each other one must find it already recorded, or a
 * redelivery counts as a new arrival. One exception: an attempt whose write went through before it
 * failed leaves its retry finding the item already there, so with a retried delivery none may
 * report recording it — the ledger's one item still shows it was.
 */
export function auditVerdict(key: string, outcomes: readonly AsyncOutcome[], items: readonly unknown[]): string[] {
  const failures: string[] = [];
  if (outcomes.length === 0) failures.push(`${key}: no ${AUDIT} outcome: its arrival is not recorded`);
  let recorded = 0;
  let counted = 0;
  for (const [i, o] of outcomes.entries()) {
    const which = outcomes.length > 1 ? ` (delivery ${i + 1})` : '';
    if (o.status !== 'succeeded') {
      failures.push(`${key}: ${AUDIT}${which} ${o.status}${o.destination ? ` into ${o.destination.queue}` : ' and its event went nowhere'}: every arrival must be recorded`);
      continue;
    }
    const counts = recordCountsOf(o.attempts.at(-1)?.result);
    if (!counts) {
      failures.push(`${key}: ${AUDIT}${which} returned no recorded / alreadyRecorded counts`);
      continue;
    }
    // One S3 event names one arrival: each delivery either records it or finds it recorded.
    if (counts.recorded + counts.alreadyRecorded !== 1) {
      failures.push(`${key}: ${AUDIT}${which} counted ${counts.recorded} recorded + ${counts.alreadyRecorded} already recorded for one arrival`);
    }
    recorded += counts.recorded;
    counted++;
  }
  if (recorded > 1) failures.push(`${key}: ${AUDIT} recorded it ${recorded} times: a redelivery must find it already recorded`);
  else if (recorded === 0 && counted > 0 && counted === outcomes.length && !outcomes.some((o) => o.attempts.length > 1)) {
    failures.push(`${key}: no delivery of ${AUDIT} recorded it (${counted === 1 ? 'it found' : 'each found'} it already recorded)`);
  }
  if (items.length !== 1) failures.push(`${key}: the audit ledger holds ${items.length} items for it this run, expected 1`);
  return failures;
}

/**
 * How many of a file's deliveries to the validator did the work rather than replay a stored result
 * (a skip is not stored, so skips are left out): one at most, whatever the order. Deliveries run at
 * once and are listed as they finish, so the one that validated the file may come after one that
 * waited for it and replayed its result.
 */
export function validationsDone(deliveries: readonly AsyncOutcome[]): number {
  return deliveries.filter((o) => {
    const file = o.status === 'succeeded' ? fileOutcomeOf(o.attempts.at(-1)?.result) : undefined;
    return file !== undefined && file.status !== 'skipped' && file.replayed !== true;
  }).length;
}

/**
 * The files the row total leaves out, said with why: skipped or quarantined whole (a result with
 * no rows), or failed into the DLQ with no result at all (the poison file), as the file ledger
 * counts them. A file that went nowhere is the ledger's to name (unaccounted for), not this line's.
 */
export function notReadRowByRow(whole: number, failed: number): string {
  const parts = [whole ? `${whole} skipped or quarantined whole` : '', failed ? `${failed} failed into the DLQ` : ''].filter(Boolean);
  return parts.length ? ` (and ${parts.join(', ')}: not read row by row, rows not counted)` : '';
}

/** Both succeeded with equal results (what an idempotent function answers a redelivery). */
function sameResult(a: AsyncOutcome, b: AsyncOutcome): boolean {
  return a.status === 'succeeded' && b.status === 'succeeded' && comparable(a.attempts.at(-1)?.result) === comparable(b.attempts.at(-1)?.result);
}

/**
 * A malformed event sent asynchronously (as `aws lambda invoke --invocation-type Event` would):
 * S3's shape, but a key that is no valid URL encoding. No retry can fix it, so after Lambda's
 * retries it must land in the DLQ with its reason — the failure path the S3 files above never take
 * when the validator quarantines or skips every file it cannot use.
 */
export function malformedEvent(bucket: string): Record<string, unknown> {
  return {
    version: '0',
    id: '00000000-0000-4000-8000-00000000bad0',
    'detail-type': 'Object Created',
    source: 'aws.s3',
    account: '000000000000',
    time: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
    region: 'us-east-1',
    resources: [`arn:aws:s3:::${bucket}`],
    detail: { version: '0', bucket: { name: bucket }, object: { key: 'bronze/broken%E0%A4%A.csv', size: 1 }, reason: 'PutObject' },
  };
}

/**
 * The poison file's path: every delivery of its event fails with PoisonFileError (reason binary)
 * on each of Lambda's attempts and lands in the validator's DLQ, while its quarantine manifest
 * records the reason in the lake.
 */
async function checkPoison(
  local: Local,
  bucket: string,
  seen: { outcomes: AsyncOutcome[]; dlqMessageIds: Set<string>; quarantine: { key: string }[] },
): Promise<{ lines: string[]; failures: string[]; summary: string }> {
  const lines: string[] = [`${POISON}: binary junk must end in ${VALIDATOR}'s DLQ after the retries, its manifest in quarantine/`];
  const failures: string[] = [];
  const attempts = (local.asyncInvoker.config(VALIDATOR)?.maxRetries ?? 2) + 1;
  if (seen.outcomes.length === 0) failures.push(`${POISON}: no ${VALIDATOR} outcome`);
  for (const o of seen.outcomes) {
    const error = o.attempts.at(-1)?.error;
    const why = error ? `${error.errorType}: ${error.errorMessage.split('\n')[0]}` : 'no error';
    lines.push(`  ${o.status} after ${o.attempts.length} attempt(s)${o.destination ? ` → ${o.destination.queue}` : ''}: ${why}`);
    if (o.status !== 'failed' || !o.destination) failures.push(`${POISON}: ${VALIDATOR} ended "${o.status}" and the event is not in its DLQ`);
    else if (!seen.dlqMessageIds.has(o.destination.messageId)) failures.push(`${POISON}: DLQ message ${o.destination.messageId} is not in the DLQ`);
    if (o.attempts.length !== attempts) failures.push(`${POISON}: ${o.attempts.length} attempt(s), expected ${attempts} (1 + maxRetries)`);
    // A retry may meet the claim of an attempt still at work (ObjectInProgressError); the last one decides.
    if (error?.errorType !== 'PoisonFileError' || !error.errorMessage.includes('(binary)')) failures.push(`${POISON}: the last attempt failed with ${why}, expected PoisonFileError (binary)`);
  }
  const manifestKey = seen.quarantine.map((q) => q.key).find((k) => k.startsWith('quarantine/poison/') && k.endsWith('/_manifest.json'));
  let manifestNote = 'no quarantine manifest';
  if (!manifestKey || !local.s3) {
    failures.push(`${POISON}: no quarantine manifest under quarantine/poison/`);
  } else {
    const out = await local.s3.client.send(new GetObjectCommand({ Bucket: bucket, Key: manifestKey }));
    const manifest = JSON.parse(await (out.Body as { transformToString(): Promise<string> }).transformToString()) as { status?: string; reason?: string };
    manifestNote = `manifest ${manifestKey}: ${manifest.status} (${manifest.reason})`;
    lines.push(`  ${manifestNote}`);
    if (manifest.status !== 'rejected' || manifest.reason !== 'binary') failures.push(`${POISON}: its manifest says ${manifest.status} (${manifest.reason}), expected rejected (binary)`);
  }
  const ended = seen.outcomes.map((o) => `${o.status} after ${o.attempts.length} attempts${o.destination ? ` → ${o.destination.queue}` : ''}`).join('; ');
  return { lines, failures, summary: `poison file: ${ended || 'no outcome'}; ${manifestNote}` };
}

export const bronzeSilverScenario: Scenario = {
  name: 'bronze-silver',
  description: 'CSVs land in bronze/: S3 → EventBridge → csv-validator + object-audit (async, retries, DLQ) + the bronze-arrivals queue',
  functions: [VALIDATOR, AUDIT],
  async run({ local, print }: ScenarioContext): Promise<ScenarioResult> {
    const s3 = local.s3;
    if (!s3) return { ok: false, summary: ['no S3: the runner started none'] };
    if (!local.s3Events) {
      const why = `S3 events are not emitted locally with ${s3.description}: upload to it and watch its own notifications instead`;
      print(why);
      return { ok: true, summary: [`skipped: ${why}`] };
    }
    const bucket = local.bucket(LAKE);
    const route = local.s3Routes.find((r) => r.functions.includes(VALIDATOR));
    if (route) {
      const targets = [...route.functions, ...route.queues.map((q) => `queue ${q}`)];
      print(`rule ${route.ruleName}: ${JSON.stringify(route.pattern)} → ${targets.join(', ')}`);
    }
    // The ledger sorts by event time (whole seconds in EventBridge events): items from this run on.
    const since = new Date(Math.floor(Date.now() / 1000) * 1000).toISOString();
    const first = local.asyncInvoker.outcomes.length;
    const deliveredBefore = local.s3Events.deliveries.length;
    const arrivals = local.queues.get(localQueueName(ARRIVALS));
    const arrivalsBefore = arrivals?.depth ?? 0;

    const files = sampleFiles();
    const put = (f: SampleFile) => s3.client.send(new PutObjectCommand({ Bucket: bucket, Key: f.key, Body: f.body, ContentType: 'text/csv' }));
    await Promise.all([...files, ...DECOYS].map(put));
    await put(VANISHING);
    await s3.client.send(new DeleteObjectCommand({ Bucket: bucket, Key: VANISHING.key }));
    const all = [...files, VANISHING];
    print(`uploaded ${all.length} CSVs into s3://${bucket}/bronze/ (and deleted ${VANISHING.key} at once), plus ${DECOYS.length} keys no rule matches:`);
    for (const f of [...all, ...DECOYS]) print(`  ${f.key} (${f.body.length} B): ${f.purpose}`);
    print('waiting for every async invocation to settle, retries included…');
    const t = Date.now();
    await local.settle();
    print(`settled in ${((Date.now() - t) / 1000).toFixed(1)} s`);

    const outcomes = local.asyncInvoker.outcomes.slice(first).filter((o) => o.trigger?.kind === 's3');
    const deliveries = local.s3Events.deliveries.slice(deliveredBefore);
    const keyOf = (o: AsyncOutcome) => (o.trigger?.kind === 's3' ? o.trigger.key : '');
    const failures: string[] = [];
    const notes: string[] = [];
    /** Over each file's first delivery: what the summary reconciles. */
    const rowTotals = { files: 0, otherFiles: 0, read: 0, valid: 0, rejected: 0 };
    const summary: string[] = [];
    const silver = await listKeys(local, bucket, 'silver/');
    const quarantine = await listKeys(local, bucket, 'quarantine/');
    const manifests = [...silver, ...quarantine].filter((o) => o.key.endsWith('_manifest.json'));

    for (const f of all) {
      print('');
      print(`${f.key}: ${f.purpose}`);
      const mine = outcomes.filter((o) => keyOf(o) === f.key);
      const validator = mine.filter((o) => o.functionName === VALIDATOR);
      const audit = mine.filter((o) => o.functionName === AUDIT);
      const copies = deliveries.filter((d) => d.key === f.key && d.functions.some((x) => x.name === VALIDATOR)).length;
      if (copies === 0) failures.push(`${f.key}: no S3 event reached ${VALIDATOR}`);
      const validatedHere = validationsDone(validator);
      for (const [i, o] of validator.entries()) {
        const last = o.attempts.at(-1);
        if (i > 0 && sameResult(o, validator[0] as AsyncOutcome)) {
          const wasReplayed = fileOutcomeOf(last?.result)?.replayed === true;
          const firstReplayed = fileOutcomeOf(validator[0]?.attempts.at(-1)?.result)?.replayed === true;
          const replayed = wasReplayed ? ' (replayed from the idempotency store)' : firstReplayed ? ' (it validated the file; delivery 1, done first, replayed its result)' : '';
          const earlier = o.attempts
            .slice(0, -1)
            .map((a) => a.error?.errorType)
            .filter(Boolean);
          const busy = earlier.includes('ObjectInProgressError') ? ': the first delivery was still at work' : '';
          const retried = earlier.length ? ` after a retry (${earlier.join(', ')}${busy})` : '';
          print(`  ${VALIDATOR} (delivery ${i + 1}) ✔ the same result as delivery 1${replayed}${retried}: a duplicate changes nothing`);
          // Equal results are not enough: validating the file again would give them too.
          if (!wasReplayed && validatedHere > 1) failures.push(`${f.key}: delivery ${i + 1} was validated again, not replayed from the idempotency store`);
          continue;
        }
        const firstFile = fileOutcomeOf(validator[0]?.attempts.at(-1)?.result);
        const thisFile = fileOutcomeOf(last?.result);
        if (i > 0 && firstFile?.status === 'skipped' && thisFile?.status === 'skipped' && thisFile.reason === firstFile.reason) {
          // A skip is not stored (the object may come back: a later delivery checks again), so a
          // duplicate skips again, and finds the manifest the first one wrote, which it keeps.
          print(`  ${VALIDATOR} (delivery ${i + 1}) ✔ skipped again (${thisFile.reason}): a skip is not stored, so each delivery checks the object; the first one's manifest is kept`);
          continue;
        }
        if (i > 0 && o.status === 'succeeded' && validator[0]?.status === 'succeeded') {
          failures.push(`${f.key}: delivery ${i + 1} came to a different result than delivery 1`);
        }
        print(`  ${VALIDATOR}${validator.length > 1 ? ` (delivery ${i + 1})` : ''} ${describeOutcome(o)}`);
        if (o.status !== 'succeeded') {
          if (!o.destination) failures.push(`${f.key}: ${VALIDATOR} ${o.status} and its event went nowhere`);
          // Only the poison file may fail: the others are validated, quarantined whole or skipped.
          else if (f.key !== POISON) failures.push(`${f.key}: ${VALIDATOR} ${o.status} into ${o.destination.queue}; only ${POISON} should fail`);
          continue;
        }
        const file = fileOutcomeOf(last?.result);
        if (file) {
          const why = [file.reason, file.detail].filter(Boolean).join(': ');
          print(`    ${file.status}${why ? ` (${why})` : ''}${file.replayed ? ' — replayed: the stored result, nothing redone' : ''}`);
          if (f.key === POISON) failures.push(`${POISON} (binary junk) succeeded as "${file.status}": a poison file must fail into the DLQ`);
        }
        const counts = countsOf(last?.result);
        if (counts) {
          const reconciles = counts.read === counts.valid + counts.rejected;
          print(`    rows read ${counts.read} = valid ${counts.valid} + rejected ${counts.rejected}${reconciles ? ' ✔' : ' ✘ DOES NOT RECONCILE'}`);
          if (!reconciles) failures.push(`${f.key}: rows read ${counts.read} ≠ valid ${counts.valid} + rejected ${counts.rejected}`);
          // The samples' counts are known: a validator that reads or rejects other numbers is wrong.
          if (f.dataRows !== undefined && counts.read !== f.dataRows) failures.push(`${f.key}: read ${counts.read} rows, the file has ${f.dataRows}`);
          if (f.badRows !== undefined && counts.rejected !== f.badRows) failures.push(`${f.key}: rejected ${counts.rejected} rows, ${f.badRows} are bad`);
          if (i === 0) {
            // A skip (the object gone) reports zero counts: no validated file for the total.
            if (file?.status === 'validated') rowTotals.files++;
            else rowTotals.otherFiles++;
            rowTotals.read += counts.read;
            rowTotals.valid += counts.valid;
            rowTotals.rejected += counts.rejected;
          }
        } else if (f.dataRows !== undefined) {
          notes.push(`${f.key}: no rowsRead/valid/rejected in the validator's result`);
        }
        const keys = outputKeysOf(last?.result);
        for (const k of keys) print(`    → ${k}`);
      }
      for (const [i, o] of audit.entries()) {
        const which = audit.length > 1 ? ` (delivery ${i + 1})` : '';
        // Deliveries run at once, so the first to finish may be the one that found the item there.
        const counts = o.status === 'succeeded' ? recordCountsOf(o.attempts.at(-1)?.result) : undefined;
        const tries = o.attempts.length > 1 ? ` (${o.attempts.length} attempts)` : '';
        if (counts?.recorded === 1 && counts.alreadyRecorded === 0) print(`  ${AUDIT}${which} ✔ recorded: a new ledger item${tries}`);
        else if (counts?.recorded === 0 && counts.alreadyRecorded === 1) print(`  ${AUDIT}${which} ✔ already recorded: the redelivery adds no item${tries}`);
        else print(`  ${AUDIT}${which} ${describeOutcome(o)}`);
      }
      const items = await auditItems(local, bucket, f.key, since);
      print(
        `  audit ledger: ${items.length} item${items.length === 1 ? '' : 's'}${items
          .map((it) => ` [${it.eventName ?? '?'} ${it.size ?? '?'} B etag ${(it.etag ?? '?').slice(0, 8)}…]`)
          .join('')}`,
      );
      failures.push(...auditVerdict(f.key, audit, items));
      if (copies > 1) print(`  delivered ${copies}× (--duplicate-events): ${validator.length} validator and ${audit.length} audit outcomes, ${items.length} ledger item(s)`);
    }

    print('');
    print(`silver/: ${silver.length} objects${silver.length ? `: ${silver.map((o) => `${o.key} (${o.size} B)`).join(', ')}` : ''}`);
    print(`quarantine/: ${quarantine.length} objects${quarantine.length ? `: ${quarantine.map((o) => `${o.key} (${o.size} B)`).join(', ')}` : ''}`);
    print(`manifests: ${manifests.map((o) => o.key).join(', ') || 'none'}`);

    const decoyHits = outcomes.filter((o) => DECOYS.some((d) => d.key === keyOf(o)));
    if (decoyHits.length) failures.push(`keys no rule matches still invoked: ${decoyHits.map(keyOf).join(', ')}`);
    else print(`ignored as EventBridge would: ${DECOYS.map((d) => d.key).join(', ')}`);

    const arrivalsNow = arrivals?.depth ?? 0;
    const expectedArrivals = deliveries.filter((d) => d.queues.length).length;
    print(`queue ${localQueueName(ARRIVALS)}: ${arrivalsNow} messages (${arrivalsNow - arrivalsBefore} from this scenario: one per delivered CSV event)`);
    if (arrivals && arrivalsNow - arrivalsBefore !== expectedArrivals) failures.push(`${ARRIVALS} got ${arrivalsNow - arrivalsBefore} messages, expected ${expectedArrivals}`);

    print('');
    print(`sending ${VALIDATOR} a malformed event asynchronously (a key that is no valid URL encoding): no retry can fix it`);
    const injected = await local.invokeAsync(VALIDATOR, malformedEvent(bucket)).done;
    print(`  ${VALIDATOR} ${describeOutcome(injected)}`);
    if (injected.status !== 'failed' || !injected.destination) failures.push(`the malformed event did not end in ${VALIDATOR}'s DLQ (${injected.status})`);

    // Every uploaded CSV in exactly one place, by its first delivery; the validator's DLQ holds
    // the files that failed into it and the malformed event, nothing else.
    const ledger = fileLedger(all.map((f) => outcomes.find((o) => o.functionName === VALIDATOR && keyOf(o) === f.key)));
    const ledgerOk = ledger.accounted === all.length && ledger.nowhere === 0;
    const ledgerLine = `files: ${all.length} CSVs = ${ledger.parts.join(' + ') || 'none'}${ledgerOk ? ' ✔' : ' ✘'}`;
    print(ledgerLine);
    if (!ledgerOk) failures.push(`the CSVs are not all accounted for: ${ledgerLine}`);

    const dlqs = local.queues.all().filter((q) => q.kind === 'dlq');
    const dlqMessages = dlqs.flatMap((q) => q.messages().map((m) => ({ q, m })));
    print(`DLQ: ${dlqMessages.length} message${dlqMessages.length === 1 ? '' : 's'}${dlqMessages.length ? ' (pnpm dlq list shows them from another shell, pnpm dlq replay <function> <message-id> sends one again)' : ''}`);
    for (const q of dlqs.filter((x) => x.depth > 0)) {
      print(`  ${q.name}:`);
      for (const m of q.messages()) for (const line of describeDestinationMessage(m)) print(`    ${line}`);
    }
    const validatorDlq = injected.destination?.queue;
    const inValidatorDlq = dlqMessages.filter(({ q }) => q.name === validatorDlq).length;
    // What belongs there: every delivery of the poison file (with --duplicate-events each copy fails
    // into it) and the malformed event. Any other file that failed is a failure of the run.
    const poisonDeliveries = outcomes.filter((o) => o.functionName === VALIDATOR && keyOf(o) === POISON).length;
    const expectedInDlq = poisonDeliveries + 1;
    const dlqLine = `${validatorDlq ?? `${VALIDATOR}'s DLQ`}: ${inValidatorDlq} message${inValidatorDlq === 1 ? '' : 's'} = ${poisonDeliveries} deliver${poisonDeliveries === 1 ? 'y' : 'ies'} of ${POISON} + 1 malformed event${inValidatorDlq === expectedInDlq ? ' ✔' : ' ✘'}`;
    print(dlqLine);
    if (inValidatorDlq !== expectedInDlq) failures.push(`unexpected messages in the DLQ: ${dlqLine}`);
    // object-audit records every arrival, the poison file's too: nothing of this run belongs in its DLQ.
    const auditDlq = localDlqName(AUDIT);
    const inAuditDlq = dlqMessages.filter(({ q }) => q.name === auditDlq).length;
    const auditDlqLine = `${auditDlq}: ${inAuditDlq} message${inAuditDlq === 1 ? '' : 's'}, expected 0 (${AUDIT} records every arrival)${inAuditDlq === 0 ? ' ✔' : ' ✘'}`;
    print(auditDlqLine);
    if (inAuditDlq !== 0) failures.push(`${AUDIT} failed events into its DLQ: ${auditDlqLine}`);
    print('');
    const poison = await checkPoison(local, bucket, {
      outcomes: outcomes.filter((o) => o.functionName === VALIDATOR && keyOf(o) === POISON),
      dlqMessageIds: new Set(dlqMessages.map(({ m }) => m.messageId)),
      quarantine,
    });
    for (const line of poison.lines) print(line);
    failures.push(...poison.failures);

    for (const n of notes) print(`note: ${n}`);
    for (const f of failures) print(`FAIL ${f}`);
    const byStatus = (fn: string) => {
      const mine = outcomes.filter((o) => o.functionName === fn);
      const ok = mine.filter((o) => o.status === 'succeeded').length;
      const retried = mine.filter((o) => o.attempts.length > 1).length;
      return `${fn}: ${mine.length} events, ${ok} succeeded, ${mine.length - ok} to DLQ/failed, ${retried} retried`;
    };
    summary.push(
      `${all.length} CSVs into bronze/ → ${deliveries.length} rule deliveries`,
      byStatus(VALIDATOR),
      byStatus(AUDIT),
      ledgerLine,
      dlqLine,
      auditDlqLine,
      `rows read ${rowTotals.read} = valid ${rowTotals.valid} + rejected ${rowTotals.rejected} over ${rowTotals.files} validated file${rowTotals.files === 1 ? '' : 's'}${
        notReadRowByRow(rowTotals.otherFiles, ledger.toDlq)
      }${rowTotals.read === rowTotals.valid + rowTotals.rejected ? ' ✔' : ' ✘'}`,
      `silver ${silver.length} objects, quarantine ${quarantine.length}, manifests ${manifests.length}`,
      `malformed async event: ${injected.status} after ${injected.attempts.length} attempts${injected.destination ? ` → ${injected.destination.queue}` : ''}`,
      poison.summary,
      `${ARRIVALS}: ${arrivalsNow} messages; DLQ: ${dlqMessages.length} message${dlqMessages.length === 1 ? '' : 's'}`,
      ...notes.map((n) => `note: ${n}`),
      ...failures.map((f) => `FAIL ${f}`),
    );
    return { ok: failures.length === 0, summary };
  },
};
