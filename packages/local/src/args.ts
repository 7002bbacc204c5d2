import { parseArgs } from 'node:util';

export type Command =
  | { command: 'invoke'; functionName: string; eventFile: string | undefined; json: boolean }
  | { command: 'dev'; keep: boolean; scenarios: string[] }
  | { command: 'help' };

export class UsageError extends Error {
  override name = 'UsageError';
}

export const USAGE = `Usage:
  laminar invoke <function> [--event <file.json>|-] [--json]
      Runs the built function once (RequestResponse) in a local execution environment.
      --event   the event file (JSON), relative to where you ran the command; "-" reads stdin; default {}
      --json    print only {requestId, result|error, report} on stdout (logs go to stderr)
  laminar dev [--keep|--watch] [--scenario <name>]...
      Starts the embedded S3 and the functions, seeds sample data, runs each scenario, checks the results.
      --keep, --watch   keep running (S3 endpoint printed) until Ctrl-C
      --scenario        run only these scenarios (default: all whose functions exist)

Environment:
  LAMINAR_S3_ENDPOINT / AWS_ENDPOINT_URL_S3   use this S3 endpoint ("aws" = AWS itself) instead of the embedded one
  LAMINAR_BUCKET_PREFIX                       real bucket name = prefix + logical name (default laminar-local-)`;

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
          help: { type: 'boolean', short: 'h', default: false },
        },
      });
      if (values.help) return { command: 'help' };
      const [functionName, ...extra] = positionals;
      if (!functionName) throw new UsageError('invoke needs a function name: laminar invoke <function> --event <file.json>');
      if (extra.length) throw new UsageError(`unexpected arguments: ${extra.join(' ')}`);
      return { command: 'invoke', functionName, eventFile: values.event, json: values.json };
    }
    if (command === 'dev') {
      const { values, positionals } = parseArgs({
        args: rest,
        allowPositionals: true,
        options: {
          keep: { type: 'boolean', default: false },
          watch: { type: 'boolean', default: false },
          scenario: { type: 'string', multiple: true },
          help: { type: 'boolean', short: 'h', default: false },
        },
      });
      if (values.help) return { command: 'help' };
      if (positionals.length) throw new UsageError(`unexpected arguments: ${positionals.join(' ')}`);
      return { command: 'dev', keep: values.keep || values.watch, scenarios: values.scenario ?? [] };
    }
  } catch (err) {
    if (err instanceof UsageError) throw err;
    // parseArgs' own messages name the bad option; keep them, under our error type.
    throw new UsageError((err as Error).message);
  }
  throw new UsageError(`unknown command "${command}" (commands: invoke, dev)`);
}
