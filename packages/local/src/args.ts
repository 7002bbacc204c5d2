import { parseArgs } from 'node:util';

export type Command =
  | { command: 'invoke'; functionName: string; eventFile: string | undefined; json: boolean; live: boolean }
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
    }
  | { command: 'help' };

export class UsageError extends Error {
  override name = 'UsageError';
}

export const USAGE = `Usage:
  laminar invoke <function> [--event <file.json>|-] [--json] [--live]
      Runs the built function once (RequestResponse) in a local execution environment, with the
      emulators it needs (S3, DynamoDB, Kafka, HTTP fixtures).
      --event   the event file (JSON), relative to where you ran the command; "-" reads stdin; default {}
      --json    print only {requestId, result|error, report} on stdout (logs go to stderr)
      --live    no fixture server: the function fetches the URLs of its spec (the internet)
  laminar dev [--once] [--speed N] [--keep|--watch] [--live] [--fresh] [--scenario <name>]...
      Starts the emulators the functions need, runs each scenario (seed, invoke, check), then fires
      every scheduled function once and keeps firing them on their schedules until Ctrl-C.
      --once            fire each schedule once, print the summary and exit
      --speed N         run schedule time N times faster (rate(15 minutes) with --speed 60: every 15 s)
      --keep, --watch   keep running (endpoints printed) until Ctrl-C, even without schedules
      --live            no fixture server: functions fetch the URLs of their specs (the internet)
      --fresh           forget the DynamoDB data of earlier runs (.laminar/dynamodb): everything is new again
      --scenario        run only these scenarios (default: all whose functions exist)

Environment:
  LAMINAR_S3_ENDPOINT / AWS_ENDPOINT_URL_S3               use this S3 endpoint ("aws" = AWS itself) instead of the embedded one
  LAMINAR_DYNAMODB_ENDPOINT / AWS_ENDPOINT_URL_DYNAMODB   use this DynamoDB endpoint ("aws" = AWS itself)
  KAFKA_BOOTSTRAP_SERVERS                                 use this Kafka broker (PLAINTEXT) instead of the embedded one
  LAMINAR_BUCKET_PREFIX / LAMINAR_TABLE_PREFIX            real name = prefix + logical name (default laminar-local-)`;

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
          help: { type: 'boolean', short: 'h', default: false },
        },
      });
      if (values.help) return { command: 'help' };
      const [functionName, ...extra] = positionals;
      if (!functionName) throw new UsageError('invoke needs a function name: laminar invoke <function> --event <file.json>');
      if (extra.length) throw new UsageError(`unexpected arguments: ${extra.join(' ')}`);
      return { command: 'invoke', functionName, eventFile: values.event, json: values.json, live: values.live };
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
          help: { type: 'boolean', short: 'h', default: false },
        },
      });
      if (values.help) return { command: 'help' };
      if (positionals.length) throw new UsageError(`unexpected arguments: ${positionals.join(' ')}`);
      const speed = values.speed === undefined ? 1 : Number(values.speed);
      if (!Number.isFinite(speed) || speed <= 0) throw new UsageError(`--speed wants a positive number, got "${values.speed}"`);
      if (values.once && values.speed !== undefined) throw new UsageError('--speed has no effect with --once (each schedule fires once, now)');
      return {
        command: 'dev',
        keep: values.keep || values.watch,
        scenarios: values.scenario ?? [],
        once: values.once,
        speed,
        live: values.live,
        fresh: values.fresh,
      };
    }
  } catch (err) {
    if (err instanceof UsageError) throw err;
    // parseArgs' own messages name the bad option; keep them, under our error type.
    throw new UsageError((err as Error).message);
  }
  throw new UsageError(`unknown command "${command}" (commands: invoke, dev)`);
}
