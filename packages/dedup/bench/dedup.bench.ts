// pnpm bench: deduplicating 1,000 ids of which 95 % were seen, against the embedded DynamoDB —
// requests and time of DedupStore.claim / publishOnce beside a naive per-item GetItem +
// conditional PutItem loop, with time expressed in sequential GetItem round trips; then the race
// check (N concurrent claimers of the same ids → exactly one winner per id).
//
// Two network conditions: plain loopback, where dynalite's own CPU (one JS thread, ~20 µs per key
// read, ~0.5 ms per conditional put) dominates, and a simulated round trip (BENCH_RTT_MS, default
// 3 ms, added to every request) standing in for DynamoDB, whose latency is the network's.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConditionalCheckFailedException, DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { startDynamoDB } from '@laminar/emulators';
import { findRoot } from '@laminar/spec';
import { DedupStore, ensureTable, publishOnce } from '../src/index.ts';

const TABLE = 'bench-dedup';
const ITEMS = 1_000;
const SEEN = 950;
const REPS = Number(process.env.BENCH_REPS ?? 7);
const RTT_MS = Number(process.env.BENCH_RTT_MS ?? 3);
const CLAIMERS = 4;

const db = await startDynamoDB();
/** HTTP requests per operation, counted per attempt (below the SDK's retry middleware). */
const requests = new Map<string, number>();
const clients: DynamoDBClient[] = [];
function newClient(rttMs = 0): DynamoDBClient {
  const client = new DynamoDBClient({ endpoint: db.endpoint, region: db.region, credentials: db.credentials });
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const op = (context.commandName ?? '?').replace(/Command$/, '');
      requests.set(op, (requests.get(op) ?? 0) + 1);
      if (rttMs > 0) await new Promise((r) => setTimeout(r, rttMs));
      return next(args);
    },
    { step: 'deserialize', name: 'countRoundTrips' },
  );
  clients.push(client);
  return client;
}
const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
const median = (xs: number[]) => sorted(xs)[Math.floor(xs.length / 2)] as number;
const ids = (scope: string) => Array.from({ length: ITEMS }, (_, i) => `${scope}-item-${i}`);

const setup = newClient();
await ensureTable(setup, TABLE, 'dedup');
/** Seeds through its own store: the measured store starts with nothing but warm sockets. */
const seeder = new DedupStore({ client: setup, tableName: TABLE });
let scopes = 0;
async function seededScope(seen = SEEN): Promise<{ scope: string; items: string[] }> {
  const scope = `bench${++scopes}`;
  const items = ids(scope);
  await seeder.confirm(scope, items.slice(0, seen));
  return { scope, items };
}

interface Measured {
  ms: number;
  requests: number;
  byOp: Record<string, number>;
}
async function measure(fn: () => Promise<void>): Promise<Measured> {
  requests.clear();
  const t = performance.now();
  await fn();
  const ms = performance.now() - t;
  return { ms, requests: [...requests.values()].reduce((a, b) => a + b, 0), byOp: Object.fromEntries(requests) };
}
const summary = (runs: Measured[]) => ({
  requests: runs[0]?.requests ?? 0,
  byOp: runs[0]?.byOp ?? {},
  ms: median(runs.map((r) => r.ms)),
  minMs: sorted(runs.map((r) => r.ms))[0] as number,
});

async function scenario(rttMs: number) {
  const client = newClient(rttMs);
  const store = new DedupStore({ client, tableName: TABLE });
  // Warm-up: sockets open and code paths hot, as in a warm Lambda environment.
  for (let i = 0; i < 2; i++) {
    const { scope, items } = await seededScope();
    await publishOnce({ store, scope, items, idOf: (x) => x, publish: async () => {} });
  }
  // The unit: one sequential (consistent) GetItem.
  const singles: number[] = [];
  for (let i = 0; i < 200; i++) {
    const t = performance.now();
    await client.send(new GetItemCommand({ TableName: TABLE, Key: { pk: { S: 'probe' } }, ConsistentRead: true }));
    singles.push(performance.now() - t);
  }
  const unitMs = median(singles);

  const claimRuns: Measured[] = [];
  const publishRuns: Measured[] = [];
  for (let r = 0; r < REPS; r++) {
    const a = await seededScope();
    claimRuns.push(
      await measure(async () => {
        const out = await store.claim(a.scope, a.items);
        if (out.claimed.length !== ITEMS - SEEN || out.duplicates.length !== SEEN) throw new Error('claim miscounted');
      }),
    );
    const b = await seededScope();
    publishRuns.push(
      await measure(async () => {
        const out = await publishOnce({ store, scope: b.scope, items: b.items, idOf: (x) => x, publish: async () => {} });
        if (out.fresh.length !== ITEMS - SEEN || out.duplicates !== SEEN) throw new Error('publishOnce miscounted');
      }),
    );
  }

  // Naive: per item a GetItem, and for an unseen one a conditional PutItem recording it.
  const naiveRuns: Measured[] = [];
  for (let r = 0; r < 2; r++) {
    const { scope, items } = await seededScope();
    naiveRuns.push(
      await measure(async () => {
        let fresh = 0;
        for (const id of items) {
          const pk = { S: `${scope}#${id}` };
          const got = await client.send(new GetItemCommand({ TableName: TABLE, Key: { pk }, ConsistentRead: true }));
          if (got.Item) continue;
          try {
            await client.send(
              new PutItemCommand({
                TableName: TABLE,
                Item: { pk, status: { S: 'done' }, expiresAt: { N: String(Math.floor(Date.now() / 1000) + 604_800) } },
                ConditionExpression: 'attribute_not_exists(pk)',
              }),
            );
            fresh++;
          } catch (err) {
            if (!(err instanceof ConditionalCheckFailedException)) throw err;
          }
        }
        if (fresh !== ITEMS - SEEN) throw new Error('naive loop miscounted');
      }),
    );
  }
  const naive = summary(naiveRuns);
  const rows = [
    { approach: 'DedupStore.claim', ...summary(claimRuns) },
    { approach: 'publishOnce (claim + confirm)', ...summary(publishRuns) },
    { approach: 'naive GetItem + PutItem loop', ...naive },
  ].map((r) => ({
    ...r,
    ms: +r.ms.toFixed(1),
    minMs: +r.minMs.toFixed(1),
    sequentialRoundTrips: +(r.ms / unitMs).toFixed(1),
    speedupVsNaive: +(naive.ms / r.ms).toFixed(1),
  }));
  return { network: rttMs > 0 ? `loopback + ${rttMs} ms simulated round trip` : 'loopback', getItemMs: +unitMs.toFixed(3), rows };
}

// The race: CLAIMERS invocations (each its own client) publishOnce the same ids at once — in the
// steady state (95 % seen) and on a cold start (all new).
async function race(seen: number) {
  const { scope, items } = await seededScope(seen);
  const winners = new Map<string, number>();
  const outs = await Promise.all(
    Array.from({ length: CLAIMERS }, () =>
      publishOnce({
        store: new DedupStore({ client: newClient(), tableName: TABLE }),
        scope,
        items,
        idOf: (x) => x,
        publish: async (fresh) => {
          for (const id of fresh) winners.set(id, (winners.get(id) ?? 0) + 1);
        },
      }),
    ),
  );
  return {
    claimers: CLAIMERS,
    ids: ITEMS,
    alreadySeen: seen,
    publishedIds: winners.size,
    maxWinnersPerId: Math.max(0, ...winners.values()),
    everyRecordAccounted: outs.every((o) => o.fresh.length + o.duplicates + o.inFlight === ITEMS),
  };
}

const scenarios = [await scenario(0), await scenario(RTT_MS)];
const races = [await race(SEEN), await race(0)];
for (const c of clients) c.destroy();
await db.stop();

console.log(`\ndedup of ${ITEMS} ids (${SEEN} seen) on the embedded DynamoDB (dynalite); median of ${REPS} runs, naive loop 2 runs`);
for (const s of scenarios) {
  console.log(`\n${s.network}: one sequential GetItem = ${s.getItemMs.toFixed(2)} ms\n`);
  console.log('| approach | requests | by operation | ms (median) | ms (min) | sequential round trips | × faster than naive |');
  console.log('|---|---:|---|---:|---:|---:|---:|');
  for (const r of s.rows) {
    const ops = Object.entries(r.byOp)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ');
    console.log(`| ${r.approach} | ${r.requests} | ${ops} | ${r.ms} | ${r.minMs} | ${r.sequentialRoundTrips} | ${r.speedupVsNaive} |`);
  }
}
console.log('\nrace (concurrent publishOnce of the same ids, each claimer its own client):');
for (const r of races) {
  console.log(
    `  ${r.claimers} × ${r.ids} ids, ${r.alreadySeen} seen before: ${r.publishedIds} ids published, max winners per id ${r.maxWinnersPerId}, every record accounted: ${r.everyRecordAccounted}`,
  );
}
const goals = scenarios.map((s) => ({
  network: s.network,
  withinFifteenRoundTrips: (s.rows[0]?.sequentialRoundTrips ?? Infinity) <= 15,
  thirtyTimesNaive: (s.rows[0]?.speedupVsNaive ?? 0) >= 30,
}));
const raceOk = races.every((r) => r.maxWinnersPerId === 1 && r.publishedIds === ITEMS - r.alreadySeen && r.everyRecordAccounted);
console.log('\ngoals (claim ≤ 15 sequential round trips, ≥ 30× the naive loop; one winner per id):');
for (const g of goals) console.log(`  ${g.network}: ≤ 15 round trips ${g.withinFifteenRoundTrips ? 'met' : 'NOT met'}, ≥ 30× ${g.thirtyTimesNaive ? 'met' : 'NOT met'}`);
console.log(`  race: ${raceOk ? 'met' : 'NOT met'}`);

const out = join(findRoot(dirname(fileURLToPath(import.meta.url))), 'bench', 'results', 'dedup.json');
mkdirSync(dirname(out), { recursive: true });
writeFileSync(
  out,
  `${JSON.stringify({ benchmark: 'dedup', at: new Date().toISOString(), node: process.version, items: ITEMS, alreadySeen: SEEN, reps: REPS, scenarios, race: races, goals: { scenarios: goals, race: raceOk } }, null, 2)}\n`,
);
console.log(`wrote ${out}`);
if (!raceOk) process.exitCode = 1;
