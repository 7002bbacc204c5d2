import { byCodePoint } from './order.ts';
import { keyPatternsOf } from './resources.ts';
import { DEFAULT_EPHEMERAL_STORAGE_MB, type FunctionSpec, type Trigger } from './spec.ts';

/** Markers around the generated part of a markdown file (README's function list). */
export const FUNCTIONS_BEGIN = '<!-- functions:begin (generated from functions/*/spec.ts by `pnpm readme`; do not edit) -->';
export const FUNCTIONS_END = '<!-- functions:end -->';

const cell = (s: string) => s.replaceAll('|', '\\|').replaceAll('\n', ' ');

function describeTrigger(t: Trigger): string {
  switch (t.kind) {
    case 'invoke':
      return 'invoke (sync or async)';
    case 'schedule': {
      const fromEvent = Object.entries(t.inputFromEvent ?? {}).map(([key, field]) => `\`${key}\` = the firing's \`${field}\``);
      const input = t.input ? ` with input \`${JSON.stringify(t.input)}\`` : fromEvent.length ? ' with input' : '';
      return `schedule \`${t.expression}\`${input}${fromEvent.length ? `${t.input ? ' plus' : ''} ${fromEvent.join(', ')}` : ''}`;
    }
    case 's3':
      return `S3 → EventBridge \`${t.events.join('/')}\` on \`${t.bucket}\`: \`${t.prefix}*${t.suffix}\`${t.alsoUpperCaseSuffix ? ` (or \`${t.suffix.toUpperCase()}\`)` : ''}`;
    case 'kafka':
      return `Kafka mapping on ${t.topics.map((x) => `\`${x}\``).join(', ')} (${t.cluster.kind}${t.cluster.kind === 'self-managed' ? `, ${t.cluster.auth}` : ''}; batch ≤ ${t.batchSize}, window ${t.batchingWindowS} s, ${t.startingPosition}${
        t.provisioned ? `, ${t.provisioned.minPollers}–${t.provisioned.maxPollers} pollers, ${t.maxRetries ?? 0} retries` : ', on demand'
      })`;
  }
}

/** Where a function writes: object prefixes, tables, topics, delivery streams. */
function describeOutputs(spec: FunctionSpec): string[] {
  const out: string[] = [];
  for (const p of spec.permissions) {
    if (!('bucket' in p.resource) || !p.actions.some((a) => /^s3:Put/.test(a))) continue;
    const patterns = keyPatternsOf(p.resource);
    for (const pattern of patterns.length ? patterns : ['']) out.push(`s3 \`${p.resource.bucket}/${pattern}\``);
  }
  for (const v of Object.values(spec.env)) {
    if (typeof v === 'string') continue;
    if ('topic' in v.ref) out.push(`Kafka \`${v.ref.topic}\``);
    if ('deliveryStream' in v.ref) {
      const d = spec.deliveryStreams.find((x) => x.name === (v.ref as { deliveryStream: string }).deliveryStream);
      out.push(`Firehose \`${v.ref.deliveryStream}\`${d ? ` → s3 \`${d.bucket}/${d.prefix.split('!{')[0]}…\`${d.table ? `, Glue \`${d.table.database}.${d.table.name}\`` : ''}` : ''}`);
    }
  }
  for (const t of spec.tables) out.push(`DynamoDB \`${t.name}\` (${t.kind})`);
  return [...new Set(out)];
}

function describeFailures(spec: FunctionSpec): string {
  if (spec.async) {
    return `async: ${spec.async.maxRetries} retries, max age ${spec.async.maxEventAgeS} s${spec.async.onFailure ? ', then DLQ' : ''}${spec.async.onSuccess ? `; successes → queue \`${spec.async.onSuccess.queue}\`` : ''}`;
  }
  if (spec.triggers.some((t) => t.kind === 'kafka')) return 'failed batches → DLQ (coordinates)';
  return '—';
}

/** Memory, timeout, architecture, /tmp when it is not Lambda's default, layers. */
function describeLimits(spec: FunctionSpec): string {
  return [
    `${spec.memoryMb} MB`,
    `${spec.timeoutS} s`,
    spec.architecture,
    ...(spec.ephemeralStorageMb !== DEFAULT_EPHEMERAL_STORAGE_MB ? [`/tmp ${spec.ephemeralStorageMb} MB`] : []),
    ...(spec.layers.length ? [`layers ${spec.layers.join(', ')}`] : []),
  ].join(', ');
}

/**
 * The function list as a markdown table, from the specs alone: what triggers each function, its
 * limits, where it writes and where its failures go. README embeds it between the markers.
 */
export function functionsTable(specs: FunctionSpec[]): string {
  const rows = [...specs]
    .sort((a, b) => byCodePoint(a.name, b.name))
    .map((s) =>
      [
        `\`${s.name}\``,
        cell(s.description),
        s.triggers.map((t) => cell(describeTrigger(t))).join('<br>'),
        describeLimits(s),
        describeOutputs(s).map(cell).join('<br>') || '—',
        cell(describeFailures(s)),
      ].join(' | '),
    );
  return [
    FUNCTIONS_BEGIN,
    '| function | what it does | triggers | limits | writes to | failures |',
    '|---|---|---|---|---|---|',
    ...rows.map((r) => `| ${r} |`),
    FUNCTIONS_END,
  ].join('\n');
}

/** The document with its generated section replaced; throws when the markers are missing. */
export function withFunctionsTable(document: string, specs: FunctionSpec[]): string {
  const begin = document.indexOf(FUNCTIONS_BEGIN);
  const end = document.indexOf(FUNCTIONS_END);
  if (begin < 0 || end < begin) throw new Error(`the document has no "${FUNCTIONS_BEGIN}" … "${FUNCTIONS_END}" section`);
  return document.slice(0, begin) + functionsTable(specs) + document.slice(end + FUNCTIONS_END.length);
}
