import { parseArgs } from 'node:util';

export type Command =
  | { command: 'invoke'; functionName: string; eventFile: string | undefined; json: boolean; live: boolean; rawLogs: boolean }
  | {
      command: 'dev';
      keep: boolean;
      scenarios: string[];
      /** Fire each schedule once, then exit. */
      once: boolean;
      /** Schedule time runs this many times faster than real time. */
      speed: number;
      live: boolean;
      /** Forget the DynamoDB data of earlier runs. */
      fresh: boolean;
      /** Deliver every S3 event twice (at-least-once delivery), to show idempotency. */
      duplicateEvents: boolean;
      /** Local async retry waits, Kafka batching windows and retry waits, Firehose buffering intervals = Lambda's × this; undefined: LAMINAR_RETRY_DELAY_SCALE or 1/60. */
      retryDelayScale: number | undefined;
      /** Serve the web console while the runner stays up (not with --once alone). */
      console: boolean;
      /** Its loopback port (0: any); undefined: LAMINAR_CONSOLE_PORT or 4600. */
      consolePort: number | undefined;
      /** Function logs as written (JSON), not made readable. */
      rawLogs: boolean;
    }
  | { command: 'dlq-list'; functionName: string | undefined; json: boolean }
  | { command: 'dlq-replay'; functionName: string; messageId: string; json: boolean; rawLogs: boolean }
  | { command: 'queue-list'; queue: string | undefined; json: boolean }
  | { command: 'docs'; check: boolean }
  | { command: 'help' };

export class UsageError extends Error {
  override name = 'UsageError';
}

export const USAGE = `Usage:
  laminar invoke <function> [--event <file.json>|-] [--json] [--live] [--raw-logs]
      Runs the built function once (RequestResponse) in a local execution environment, with the
      emulators it needs (S3, DynamoDB, Kafka, HTTP fixtures).
      --event   the event file (JSON), relative to where you ran the command; "-" reads stdin; default {}
      --json    print only {requestId, result|error, report} on stdout (logs go to stderr)
      --live    no fixture server: the function fetches the URLs of its spec (the internet)
      --raw-logs  the function's log lines as it wrote them (Powertools JSON, EMF); by default
                  they are shortened to "LEVEL message key=value …" and "metrics Name=value …"
  laminar dev [--once] [--speed N] [--keep|--watch] [--live] [--fresh] [--scenario <name>]...
              [--duplicate-events] [--retry-delay-scale X] [--console-port N] [--no-console] [--raw-logs]
      Starts the emulators the functions need, runs each scenario (seed, invoke, check), then fires
      every scheduled function once and keeps firing them on their schedules until Ctrl-C.
      --once            fire each schedule once, print the summary and exit
      --speed N         run schedule time N times faster (rate(15 minutes) with --speed 60: every 15 s); refused with --once
      --keep, --watch   keep running (endpoints printed) until Ctrl-C, even without schedules
      --live            no fixture server: functions fetch the URLs of their specs (the internet)
      --fresh           forget the DynamoDB data of earlier runs (.laminar/dynamodb, or LAMINAR_STATE_DIR's): everything is new again;
                        refused with an external DynamoDB
      --scenario        run only these scenarios (default: all whose functions exist)
      --duplicate-events  deliver every S3 event twice (EventBridge delivers at least once): shows idempotency
      --retry-delay-scale X  local waits = Lambda's × X (default 1/60: a minute lasts a second; 1 = real):
                        async retry waits (1 and 2 min: 1 s and 2 s), the Kafka batching window and retry
                        waits of each event source mapping, the Firehose buffering interval of each delivery stream
      --console-port N  the web console's loopback port (default LAMINAR_CONSOLE_PORT, else 4600; 0 = any);
                        refused with --no-console, and with --once without --keep
      --no-console      no web console (it is served whenever the runner stays up: without --once, or with --keep)
      --raw-logs        function logs as written (JSON), not shortened (see invoke)
  laminar dlq list [<function>] [--json]
      What failed: each message of the functions' on-failure queues (laminar-local-<function>-dlq)
      with when, why (the error), after how many attempts and the original event.
  laminar dlq replay <function> <message-id> [--json] [--raw-logs]
      Invokes the function once more with the message's original event (RequestResponse); on
      success the message leaves the DLQ.
  laminar queue list [<queue>] [--json]
      The declared queues (queues/<name>.ts) and DLQs with their depth; with a name, its messages.
  laminar docs [--check]
      Rewrites README.md's function table from the specs; --check only fails (exit 1) when it is stale.

Environment:
  LAMINAR_S3_ENDPOINT / AWS_ENDPOINT_URL_S3               use this S3 endpoint ("aws" = AWS itself) instead of the embedded one
  LAMINAR_DYNAMODB_ENDPOINT / AWS_ENDPOINT_URL_DYNAMODB   use this DynamoDB endpoint ("aws" = AWS itself)
  KAFKA_BOOTSTRAP_SERVERS                                 use this Kafka broker (PLAINTEXT) instead of the embedded one
  LAMINAR_BUCKET_PREFIX / LAMINAR_TABLE_PREFIX            real name = prefix + logical name (default laminar-local-)
  LAMINAR_S3_FORCE_PATH_STYLE                             "false" for an S3 endpoint that serves virtual-hosted buckets (default true)
  LAMINAR_RETRY_DELAY_SCALE                               async retry waits, Kafka batching window and retry waits, Firehose
                                                          buffering interval = Lambda's × this (default 1/60; --retry-delay-scale wins)
  LAMINAR_STATE_DIR                                       where what outlives a run is kept (default .laminar, relative to the repository root)
  LAMINAR_FIXTURES_PORT                                   the fixture server's port (default 4599; 0 = any)
  LAMINAR_CONSOLE_PORT                                    the web console's port (default 4600; 0 = any; --console-port wins)
  LAMINAR_TRACING                                         "off": no local X-Ray daemon, so no traces in the console`;

export function parseCli(argv: string[]): Command {
  const [command, ...rest] = argv;
  if (command === undefined || command === 'help' || command === '--help' || command === '-h') return { command: 'help' };
  try {
    if (command === 'invoke') {
      const { values, positionals } = parseArgs({
        args: rest,
        allowPositionals: true,
        options: {
          event: { type: 'string', short: 'e' },
          json: { type: 'boolean', default: false },
          live: { type: 'boolean', default: false },
          'raw-logs': { type: 'boolean', default: false },
          help: { type: 'boolean', short: 'h', default: false },
        },
      });
      if (values.help) return { command: 'help' };
      const [functionName, ...extra] = positionals;
      if (!functionName) throw new UsageError('invoke needs a function name: laminar invoke <function> --event <file.json>');
      if (extra.length) throw new UsageError(`unexpected arguments: ${extra.join(' ')}`);
      return { command: 'invoke', functionName, eventFile: values.event, json: values.json, live: values.live, rawLogs: values['raw-logs'] };
    }
    if (command === 'dev') {
      const { values, positionals } = parseArgs({
        args: rest,
        allowPositionals: true,
        options: {
          keep: { type: 'boolean', default: false },
          watch: { type: 'boolean', default: false },
          scenario: { type: 'string', multiple: true },
          once: { type: 'boolean', default: false },
          speed: { type: 'string' },
          live: { type: 'boolean', default: false },
          fresh: { type: 'boolean', default: false },
          'duplicate-events': { type: 'boolean', default: false },
          'retry-delay-scale': { type: 'string' },
          'no-console': { type: 'boolean', default: false },
          'console-port': { type: 'string' },
          'raw-logs': { type: 'boolean', default: false },
          help: { type: 'boolean', short: 'h', default: false },
        },
      });
      if (values.help) return { command: 'help' };
      if (positionals.length) throw new UsageError(`unexpected arguments: ${positionals.join(' ')}`);
      const rawScale = values['retry-delay-scale'];
      const retryDelayScale = rawScale === undefined ? undefined : parseScale(rawScale);
      const speed = values.speed === undefined ? 1 : Number(values.speed);
      if (!Number.isFinite(speed) || speed <= 0) throw new UsageError(`--speed wants a positive number, got "${values.speed}"`);
      if (values.once && values.speed !== undefined) throw new UsageError('--speed has no effect with --once (each schedule fires once, now)');
      const rawPort = values['console-port'];
      const consolePort = rawPort === undefined ? undefined : /^\d{1,5}$/.test(rawPort) ? Number(rawPort) : Number.NaN;
      if (consolePort !== undefined && (!Number.isInteger(consolePort) || consolePort > 65535)) {
        throw new UsageError(`--console-port wants a port number (0 = any free one), got "${rawPort}"`);
      }
      // As with --speed: a flag that would do nothing is refused rather than ignored.
      if (consolePort !== undefined && values['no-console']) throw new UsageError('--console-port has no effect with --no-console');
      if (consolePort !== undefined && values.once && !values.keep && !values.watch) {
        throw new UsageError('--console-port has no effect with --once (the console serves only while the runner stays up: add --keep)');
      }
      return {
        command: 'dev',
        keep: values.keep || values.watch,
        scenarios: values.scenario ?? [],
        once: values.once,
        speed,
        live: values.live,
        fresh: values.fresh,
        duplicateEvents: values['duplicate-events'],
        retryDelayScale,
        console: !values['no-console'],
        consolePort,
        rawLogs: values['raw-logs'],
      };
    }
    if (command === 'docs') {
      const { values, positionals } = parseArgs({ args: rest, allowPositionals: true, options: { check: { type: 'boolean', default: false } } });
      if (positionals.length) throw new UsageError(`unexpected arguments: ${positionals.join(' ')}`);
      return { command: 'docs', check: values.check };
    }
    if (command === 'dlq' || command === 'queue') {
      const { values, positionals } = parseArgs({
        args: rest,
        allowPositionals: true,
        options: { json: { type: 'boolean', default: false }, 'raw-logs': { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h', default: false } },
      });
      if (values.help) return { command: 'help' };
      const [verb, ...args] = positionals;
      if (values['raw-logs'] && (command === 'queue' || verb !== 'replay')) throw new UsageError('--raw-logs has an effect only with dlq replay (the listings run no function)');
      if (command === 'queue') {
        if (verb !== 'list') throw new UsageError(`queue wants "list": laminar queue list [<queue>]`);
        if (args.length > 1) throw new UsageError(`unexpected arguments: ${args.slice(1).join(' ')}`);
        return { command: 'queue-list', queue: args[0], json: values.json };
      }
      if (verb === 'list') {
        if (args.length > 1) throw new UsageError(`unexpected arguments: ${args.slice(1).join(' ')}`);
        return { command: 'dlq-list', functionName: args[0], json: values.json };
      }
      if (verb === 'replay') {
        const [functionName, messageId, ...extra] = args;
        if (!functionName || !messageId) throw new UsageError('replay needs a function and a message id: laminar dlq replay <function> <message-id>');
        if (extra.length) throw new UsageError(`unexpected arguments: ${extra.join(' ')}`);
        return { command: 'dlq-replay', functionName, messageId, json: values.json, rawLogs: values['raw-logs'] };
      }
      throw new UsageError('dlq wants "list" or "replay": laminar dlq list [<function>] | laminar dlq replay <function> <message-id>');
    }
  } catch (err) {
    if (err instanceof UsageError) throw err;
    // parseArgs' own messages name the bad option; keep them, under our error type.
    throw new UsageError((err as Error).message);
  }
  throw new UsageError(`unknown command "${command}" (commands: invoke, dev, dlq, queue, docs)`);
}

/** "1/60", "0.5", "0": how much of Lambda's retry wait to keep. */
/** Largest retry-delay scale: Lambda's longest waits (6 h of event age) × this still fit a timer. */
export const MAX_RETRY_DELAY_SCALE = 1_000;

/**
 * A retry-delay scale, from the flag or LAMINAR_RETRY_DELAY_SCALE alike: a number (0.1, 1e-3) or
 * a fraction (1/60), between 0 and MAX_RETRY_DELAY_SCALE.
 */
export function parseScale(raw: string, what = '--retry-delay-scale'): number {
  const m = /^\s*([^/\s]+)\s*\/\s*([^/\s]+)\s*$/.exec(raw);
  const value = raw.trim() === '' ? Number.NaN : m ? Number(m[1]) / Number(m[2]) : Number(raw);
  if (!Number.isFinite(value) || value < 0 || value > MAX_RETRY_DELAY_SCALE) {
    throw new UsageError(`${what} wants a number from 0 to ${MAX_RETRY_DELAY_SCALE} such as 0.1, 1e-3 or 1/60 (1 = Lambda's real waits), got "${raw}"`);
  }
  return value;
}
