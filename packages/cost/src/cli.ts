import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { findRoot, loadAllQueues, loadAllSpecs } from '@laminar/spec';
import { DEFAULT_ASSUMPTIONS_FILE, loadAssumptions } from './assumptions.ts';
import { type DurationStatistic, loadDurations } from './durations.ts';
import { estimate } from './estimate.ts';
import { formatMarkdown, formatText } from './format.ts';
import { pricesFor, REGIONS } from './prices.ts';

const USAGE = `laminar-cost [--region ${REGIONS.join('|')}] [--durations <file>] [--use avg|p50|p95]
             [--assumptions <file>] [--free-tier] [--json|--markdown] [--out <file>|--check <file>]
  Estimates the pipeline's monthly AWS cost from functions/*/spec.ts and queues/*.ts.
  --region       price table (default: the assumptions file's region)
  --durations    measured durations per function: {"<fn>": {"avgMs","p50Ms","p95Ms","initMs","coldStartShare"}}
                 or {"<fn>": [<report objects of \`laminar invoke <fn> --json\`>]}
  --use          which measured statistic to bill with (default avg; p95 for a pessimistic bound)
  --assumptions  volumes and per-invocation work (default packages/cost/assumptions.json)
  --free-tier    take the account's always-free allowances off (default off: production accounts)
  --json         the estimate as JSON; --markdown as markdown (docs/cost.md)
  --out          write to a file instead of stdout; --check: exit 1 when that file differs`;

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      region: { type: 'string' },
      durations: { type: 'string' },
      use: { type: 'string', default: 'avg' },
      assumptions: { type: 'string' },
      'free-tier': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      markdown: { type: 'boolean', default: false },
      out: { type: 'string' },
      check: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const usage = (why: string) => {
    process.stderr.write(`laminar-cost: ${why}\n${USAGE}\n`);
    return 2;
  };
  if (!['avg', 'p50', 'p95'].includes(values.use)) return usage('--use wants avg, p50 or p95');
  if (values.json && values.markdown) return usage('--json and --markdown exclude each other');
  if (values.out && values.check) return usage('--out and --check exclude each other');

  // Paths are the user's, relative to where they ran `./run cost` (LAMINAR_CWD) or `pnpm cost` (INIT_CWD), not the root pnpm runs from.
  const cwd = process.env.LAMINAR_CWD ?? process.env.INIT_CWD ?? process.cwd();
  const root = findRoot(cwd);
  const assumptions = loadAssumptions(values.assumptions ? resolve(cwd, values.assumptions) : DEFAULT_ASSUMPTIONS_FILE);
  const [loaded, queues] = await Promise.all([loadAllSpecs(root), loadAllQueues(root)]);
  const result = estimate({
    functions: loaded.map((l) => l.spec),
    queues,
    assumptions,
    prices: pricesFor(values.region ?? assumptions.region),
    ...(values.durations ? { durations: loadDurations(resolve(cwd, values.durations)) } : {}),
    durationStatistic: values.use as DurationStatistic,
    freeTier: values['free-tier'],
  });
  const text = values.json ? `${JSON.stringify(result, null, 2)}\n` : values.markdown ? formatMarkdown(result) : formatText(result);

  if (values.check) {
    const file = resolve(cwd, values.check);
    if (!existsSync(file) || readFileSync(file, 'utf8') !== text) {
      process.stderr.write(`laminar-cost: ${values.check} is stale: run \`pnpm cost ${values.markdown ? '--markdown ' : ''}--out ${values.check}\`\n`);
      return 1;
    }
    process.stdout.write(`${values.check} is up to date (total ${result.totals.total.toFixed(2)} USD/month)\n`);
    return 0;
  }
  if (values.out) {
    writeFileSync(resolve(cwd, values.out), text);
    process.stdout.write(`wrote ${values.out} (total ${result.totals.total.toFixed(2)} USD/month)\n`);
  } else process.stdout.write(text);
  for (const w of result.warnings) process.stderr.write(`laminar-cost: warning: ${w}\n`);
  return 0;
}

try {
  process.exitCode = await main();
} catch (err) {
  process.stderr.write(`laminar-cost: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
}
