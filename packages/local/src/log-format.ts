/**
 * Function log lines as a terminal reader wants them, for `dev` and `invoke` (`--raw-logs` prints
 * them verbatim, as the function wrote them).
 *
 * Why by hand: Powertools writes one JSON object per line, most of it the same on every line (the
 * function's ARN, memory, request and trace ids, the sampling rate), and its metrics as Embedded
 * Metric Format documents; no library turns those back into a short line. This reads only what
 * Powertools' Logger and Metrics write (see isPowertoolsLog / isEmfDocument) and passes every other
 * line through untouched: START/END/REPORT, plain console output, anything that is not JSON.
 */

/** Keys Powertools' Logger adds to every line: the context START and REPORT already give. */
const CONTEXT_KEYS = new Set([
  'level',
  'message',
  'timestamp',
  'service',
  'cold_start',
  'function_arn',
  'function_memory_size',
  'function_name',
  'function_request_id',
  'sampling_rate',
  'xray_trace_id',
]);

type Json = Record<string, unknown>;

/** Stack frames shown under an error. */
const MAX_FRAMES = 3;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

function parseObject(text: string): Json | undefined {
  if (!text.startsWith('{') || !text.endsWith('}')) return undefined;
  try {
    const parsed: unknown = JSON.parse(text);
    return isObject(parsed) ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A Powertools Logger line: a level and a message, both strings, and the sampling rate Powertools
 * writes on every line (so another logger's JSON, whose timestamp or service is its own, is kept).
 */
function isPowertoolsLog(o: Json): boolean {
  return typeof o.level === 'string' && typeof o.message === 'string' && 'sampling_rate' in o;
}

/** An EMF document: `_aws.CloudWatchMetrics[].Metrics[].Name`, each a key of the document. */
function metricNames(o: Json): string[] | undefined {
  const aws = o._aws;
  if (!isObject(aws) || !Array.isArray(aws.CloudWatchMetrics)) return undefined;
  const names: string[] = [];
  for (const directive of aws.CloudWatchMetrics) {
    if (!isObject(directive) || !Array.isArray(directive.Metrics)) return undefined;
    for (const m of directive.Metrics) if (isObject(m) && typeof m.Name === 'string') names.push(m.Name);
  }
  return names;
}

/** Text that reads unambiguously bare: no blanks, quotes or "=", and not a JSON literal or number. */
const bare = (s: string) => /^[^\s"=]+$/.test(s) && !/^(?:-?\d|true$|false$|null$)/.test(s);

/** `key=value`: key and value bare when they read unambiguously so, else as JSON. */
function pair(key: string, value: unknown): string {
  const k = bare(key) ? key : JSON.stringify(key);
  if (typeof value === 'string') return `${k}=${bare(value) ? value : JSON.stringify(value)}`;
  return `${k}=${value === undefined ? 'undefined' : JSON.stringify(value)}`;
}

/** What Powertools writes of an error (its formatError: name, location, message, stack, cause, and every other own property). */
const ERROR_SHAPE = new Set(['name', 'location', 'message', 'stack', 'cause']);

/** A cause as one phrase: an error's name and message, and its own cause after it; anything else as a value. */
function causeText(cause: unknown, depth = 0): string {
  if (!isObject(cause)) return typeof cause === 'string' ? cause : JSON.stringify(cause);
  const head = `${typeof cause.name === 'string' ? `${cause.name}: ` : ''}${typeof cause.message === 'string' ? cause.message : JSON.stringify(cause.message)}`;
  const extra = Object.entries(cause).filter(([k]) => !ERROR_SHAPE.has(k));
  const props = extra.length ? ` {${extra.map(([k, v]) => pair(k, v)).join(' ')}}` : '';
  // Causes nest (an HTTP error ← fetch failed ← ECONNREFUSED); a cycle or a deep chain stops.
  const next = 'cause' in cause && cause.cause !== undefined ? (depth < 5 ? ` ← ${causeText(cause.cause, depth + 1)}` : ' ← …') : '';
  return `${head}${props}${next}`;
}

/** Powertools' error: a line (name, message, its other properties, the causes), then the stack's frames. */
function errorText(key: string, e: Json): { head: string; frames: string[] } {
  const name = typeof e.name === 'string' ? e.name : 'Error';
  const message = typeof e.message === 'string' ? e.message : JSON.stringify(e.message);
  const props = Object.entries(e)
    .filter(([k]) => !ERROR_SHAPE.has(k))
    .map(([k, v]) => ` ${pair(`${key}.${k}`, v)}`)
    .join('');
  const cause = 'cause' in e && e.cause !== undefined ? ` (cause: ${causeText(e.cause)})` : '';
  // A string; with POWERTOOLS_DEV set, Powertools writes it as an array of lines.
  const stack = typeof e.stack === 'string' ? e.stack.split('\n') : Array.isArray(e.stack) ? e.stack.map(String) : [];
  const frames = stack.filter((l) => /^\s+at /.test(l)).map((l) => `    ${l.trim()}`);
  // Where it was thrown and its callers; the rest (the runtime's and the wrapper's frames) only
  // lengthen a log that repeats on each retry.
  const shown = frames.slice(0, MAX_FRAMES);
  if (frames.length > MAX_FRAMES) shown.push(`    … ${frames.length - MAX_FRAMES} more frames (--raw-logs shows them)`);
  return { head: `${key}=${name}: ${message}${props}${cause}`, frames: shown };
}

/**
 * One log line made readable: `INFO message key=value …` for a Powertools log (its error's stack
 * frames on the lines after), `metrics Name=value …` for an EMF document, anything else unchanged.
 * May return several lines (joined with "\n").
 */
export function readableLogLine(text: string): string {
  const o = parseObject(text.trim());
  if (!o) return text;
  if (isPowertoolsLog(o)) {
    const message = o.message as string;
    // A message over several lines stays one line, so that every key=value is on it.
    const parts = [(o.level as string).toUpperCase(), message.includes('\n') ? JSON.stringify(message) : message];
    const frames: string[] = [];
    for (const [key, value] of Object.entries(o)) {
      if (CONTEXT_KEYS.has(key)) continue;
      if (isObject(value) && typeof value.message === 'string' && (typeof value.stack === 'string' || Array.isArray(value.stack))) {
        const e = errorText(key, value);
        parts.push(e.head);
        frames.push(...e.frames);
      } else parts.push(pair(key, value));
    }
    return [parts.join(' '), ...frames].join('\n');
  }
  const names = metricNames(o);
  if (names?.length) return `metrics ${names.map((n) => pair(n, o[n])).join(' ')}`;
  return text;
}
