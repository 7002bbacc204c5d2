import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { defineFunction, defineQueue, type FunctionSpecInput } from '@laminar/spec';
import { describe, expect, it } from 'vitest';
import { type ArchitectureGraph, buildGraph, describeGraph, nodeId, splitFirehosePrefix, staticPrefix } from '../../src/model.ts';

const fn = (input: Partial<FunctionSpecInput> & Pick<FunctionSpecInput, 'name' | 'triggers'>) =>
  defineFunction({ memoryMb: 256, timeoutS: 30, ...input });

const edgesOf = (g: ArchitectureGraph, kind?: string) =>
  g.edges.filter((e) => !kind || e.kind === kind).map((e) => `${e.from} -> ${e.to}`);
const node = (g: ArchitectureGraph, id: string) => {
  const found = g.nodes.find((n) => n.id === id);
  if (!found) throw new Error(`no node ${id} in ${g.nodes.map((n) => n.id).join(', ')}`);
  return found;
};

const csv = { kind: 's3', bucket: 'lake', prefix: 'bronze/', suffix: '.csv' } as const;

describe('sources', () => {
  it('a schedule is its own source node with its expression and input', () => {
    const g = buildGraph({ functions: [fn({ name: 'ticker', triggers: [{ kind: 'schedule', expression: 'cron(0 6 * * ? *)', input: { n: 1 } }] })] });
    const s = node(g, 'schedule-ticker-0');
    expect(s).toMatchObject({ kind: 'schedule', cluster: 'sources' });
    expect(s.label).toEqual(['EventBridge schedule', 'cron(0 6 * * ? *)', 'input {n: 1}']);
    expect(edgesOf(g, 'triggers')).toEqual(['schedule-ticker-0 -> fn-ticker']);
  });

  it('manual invoke is one shared source for every function that allows it', () => {
    const g = buildGraph({
      functions: [fn({ name: 'aa', triggers: [{ kind: 'invoke' }] }), fn({ name: 'bb', triggers: [{ kind: 'invoke' }] })],
    });
    expect(g.nodes.filter((n) => n.kind === 'invoke')).toHaveLength(1);
    expect(edgesOf(g, 'triggers')).toEqual(['invoke -> fn-aa', 'invoke -> fn-bb']);
  });

  it('one S3 pattern is one rule feeding every function and queue with that pattern (fan-out)', () => {
    const g = buildGraph({
      functions: [fn({ name: 'validator', triggers: [csv] }), fn({ name: 'audit', triggers: [csv] }), fn({ name: 'pdfs', triggers: [{ ...csv, suffix: '.pdf' }] })],
      queues: [defineQueue({ name: 'arrivals', subscribe: [csv] })],
    });
    const rules = g.nodes.filter((n) => n.kind === 's3-rule');
    expect(rules.map((r) => r.label[1]).sort()).toEqual(['lake/bronze/*.csv', 'lake/bronze/*.pdf']);
    const rule = nodeId.rule({ ...csv, events: ['Object Created'] });
    expect(edgesOf(g).filter((e) => e.startsWith(`${rule} `))).toEqual([`${rule} -> fn-audit`, `${rule} -> fn-validator`, `${rule} -> sqs-arrivals`]);
    expect(g.edges.find((e) => e.to === 'sqs-arrivals')?.kind).toBe('delivers');
    // The rule's events come from the keys it watches.
    expect(edgesOf(g, 'emits')).toContain(`${nodeId.prefix('lake', 'bronze/*.csv')} -> ${rule}`);
  });

  it('keeps a writer of other files under a rule\'s prefix apart from that rule (bronze/*.jsonl does not feed bronze/*.csv)', () => {
    const g = buildGraph({
      functions: [
        fn({ name: 'validator', triggers: [csv], permissions: [{ actions: ['s3:GetObject'], resource: { bucket: 'lake', prefix: 'bronze/*.csv' } }] }),
        fn({ name: 'archiver', triggers: [{ kind: 'invoke' }], permissions: [{ actions: ['s3:PutObject'], resource: { bucket: 'lake', prefix: 'bronze/*.jsonl' } }] }),
      ],
    });
    const written = g.edges.filter((e) => e.from === 'fn-archiver' && e.kind === 'writes').map((e) => e.to);
    expect(written).toEqual([nodeId.prefix('lake', 'bronze/*.jsonl')]);
    expect(g.edges.filter((e) => e.kind === 'emits' && written.includes(e.from))).toEqual([]);
    // The validator reads the keys its rule watches: one node.
    expect(edgesOf(g, 'reads')).toEqual([`${nodeId.prefix('lake', 'bronze/*.csv')} -> fn-validator`]);
  });

  it('rule ids follow infra’s rule names (bucket and pattern digest), distinct per event set', () => {
    const created = nodeId.rule({ ...csv, events: ['Object Created'] });
    const both = nodeId.rule({ ...csv, events: ['Object Deleted', 'Object Created'] });
    expect(created).toMatch(/^rule-s3-lake-[0-9a-f]{8}$/);
    expect(both).not.toBe(created);
    expect(nodeId.rule({ ...csv, events: ['Object Created', 'Object Deleted'] })).toBe(both);
  });

  it('a Kafka mapping reads its topics and triggers its function; producers write topics through env refs', () => {
    const g = buildGraph({
      functions: [
        fn({ name: 'producer', env: { TOPIC: { ref: { topic: 'items' } } }, triggers: [{ kind: 'invoke' }] }),
        fn({
          name: 'archiver',
          triggers: [
            {
              kind: 'kafka',
              topics: ['items', 'prices'],
              cluster: { kind: 'msk' },
              batchSize: 500,
              provisioned: { minPollers: 1, maxPollers: 3 },
              maxRetries: 1,
            },
          ],
        }),
      ],
    });
    expect(edgesOf(g, 'produces')).toEqual(['fn-producer -> topic-items']);
    expect(edgesOf(g, 'polls')).toEqual(['topic-items -> esm-archiver-0', 'topic-prices -> esm-archiver-0']);
    expect(edgesOf(g, 'triggers')).toContain('esm-archiver-0 -> fn-archiver');
    expect(node(g, 'esm-archiver-0').label).toEqual([
      'Kafka event source mapping',
      'items + prices',
      'batch ≤ 500, 0 s window',
      '1–3 provisioned pollers, 1 retries',
      'Amazon MSK, TRIM_HORIZON',
    ]);
    expect(node(g, 'topic-prices').cluster).toBe('streams');
  });
});

describe('outputs', () => {
  it('S3 writes follow s3:Put* permissions, reads s3:GetObject; a bare ListBucket draws nothing', () => {
    const g = buildGraph({
      functions: [
        fn({
          name: 'copier',
          triggers: [{ kind: 'invoke' }],
          permissions: [
            { actions: ['s3:ListBucket'], resource: { bucket: 'docs' } },
            { actions: ['s3:GetObject'], resource: { bucket: 'docs', prefix: '*' } },
            { actions: ['s3:PutObject', 's3:AbortMultipartUpload'], resource: { bucket: 'docs', prefix: 'out/*' } },
            { actions: ['s3:PutObject'], resource: { bucket: 'docs', prefix: 'out/*' } },
          ],
        }),
      ],
    });
    expect(edgesOf(g, 'writes')).toEqual(['fn-copier -> s3-docs-out']);
    expect(edgesOf(g, 'reads')).toEqual(['s3-docs-root -> fn-copier']);
    expect(node(g, 's3-docs-root')).toMatchObject({ group: 'docs', label: ['(whole bucket)'], cluster: 'storage' });
  });

  it('a grant over several key patterns draws each, and the spellings of one suffix as the one node its rule draws', () => {
    const g = buildGraph({
      functions: [
        fn({
          name: 'reader',
          triggers: [{ ...csv, alsoUpperCaseSuffix: true }],
          permissions: [
            { actions: ['s3:GetObject'], resource: { bucket: 'lake', prefix: ['bronze/*.csv', 'bronze/*.CSV'] } },
            { actions: ['s3:PutObject'], resource: { bucket: 'lake', prefix: ['silver/*', 'quarantine/*'] } },
          ],
        }),
      ],
    });
    expect(edgesOf(g, 'reads')).toEqual(['s3-lake-bronze-.csv -> fn-reader']);
    expect(edgesOf(g, 'emits')).toEqual([`s3-lake-bronze-.csv -> ${nodeId.rule({ ...csv, events: ['Object Created'], alsoUpperCaseSuffix: true })}`]);
    expect(edgesOf(g, 'writes').sort()).toEqual(['fn-reader -> s3-lake-quarantine', 'fn-reader -> s3-lake-silver']);
    expect(node(g, nodeId.rule({ ...csv, events: ['Object Created'], alsoUpperCaseSuffix: true })).label).toEqual(['S3 event rule', 'lake/bronze/*.csv (or .CSV)', 'Object Created']);
  });

  it('DynamoDB tables carry their kind', () => {
    const g = buildGraph({
      functions: [fn({ name: 'dd', triggers: [{ kind: 'invoke' }], tables: [{ name: 'seen', kind: 'dedup' }], permissions: [{ actions: ['dynamodb:PutItem'], resource: { table: 'seen' } }] })],
    });
    expect(node(g, 'ddb-seen').label).toEqual(['DynamoDB', 'seen', 'dedup, on-demand']);
    expect(edgesOf(g, 'writes')).toEqual(['fn-dd -> ddb-seen']);
  });

  it('Firehose: function → stream → S3 prefix → Glue table, and its error prefix', () => {
    const g = buildGraph({
      functions: [
        fn({
          name: 'sim',
          triggers: [{ kind: 'invoke' }],
          env: { STREAM: { ref: { deliveryStream: 'events' } } },
          deliveryStreams: [
            {
              name: 'events',
              bucket: 'lake',
              prefix: 'events/dt=!{timestamp:yyyy-MM-dd}/',
              errorOutputPrefix: 'events-errors/!{firehose:error-output-type}/',
              table: { database: 'lake', name: 'events', columns: [{ name: 'id', type: 'string' }], partitionKeys: ['dt'] },
            },
          ],
          permissions: [{ actions: ['firehose:PutRecordBatch'], resource: { deliveryStream: 'events' } }],
        }),
      ],
    });
    expect(edgesOf(g, 'writes')).toEqual(['fn-sim -> firehose-events']);
    expect(edgesOf(g, 'delivers-to')).toEqual(['firehose-events -> s3-lake-events']);
    expect(edgesOf(g, 'errors-to')).toEqual(['firehose-events -> s3-lake-events-errors']);
    expect(edgesOf(g, 'catalogs')).toEqual(['s3-lake-events -> glue-lake-events']);
    expect(node(g, 's3-lake-events').label).toEqual(['events/', 'dt=yyyy-MM-dd/']);
    expect(node(g, 'glue-lake-events').label[2]).toBe('1 columns, partitions dt');
  });
});

describe('failures', () => {
  it('async onFailure and Kafka mappings send to the function’s DLQ; onSuccess to a declared queue', () => {
    const g = buildGraph({
      functions: [
        fn({ name: 'asyncer', triggers: [{ kind: 'invoke' }], async: { maxRetries: 1, maxEventAgeS: 60, onFailure: 'dlq', onSuccess: { queue: 'done' } } }),
        fn({ name: 'consumer', triggers: [{ kind: 'kafka', topics: ['t1'], cluster: { kind: 'msk' } }] }),
        fn({ name: 'plain', triggers: [{ kind: 'invoke' }], async: { maxRetries: 0, maxEventAgeS: 60 } }),
      ],
      queues: [defineQueue({ name: 'done' })],
    });
    expect(edgesOf(g, 'on-failure')).toEqual(['fn-asyncer -> dlq-asyncer', 'fn-consumer -> dlq-consumer']);
    expect(edgesOf(g, 'on-success')).toEqual(['fn-asyncer -> sqs-done']);
    expect(node(g, 'dlq-asyncer').label).toEqual(['DLQ', 'asyncer-dlq', 'async events after 1 retries']);
    expect(node(g, 'dlq-consumer').label).toEqual(['DLQ', 'consumer-dlq', 'failed Kafka batches']);
    expect(g.nodes.some((n) => n.id === 'dlq-plain')).toBe(false);
  });
});

describe('determinism and text', () => {
  it('input order does not change the graph', () => {
    const specs = [
      fn({ name: 'one', triggers: [csv], permissions: [{ actions: ['s3:PutObject'], resource: { bucket: 'lake', prefix: 'a/*' } }] }),
      fn({ name: 'two', triggers: [csv, { kind: 'schedule', expression: 'rate(1 hour)' }] }),
    ];
    const queues = [defineQueue({ name: 'q1', subscribe: [csv] }), defineQueue({ name: 'q2', subscribe: [csv] })];
    expect(buildGraph({ functions: [...specs].reverse(), queues: [...queues].reverse() })).toEqual(buildGraph({ functions: specs, queues }));
  });

  it('describes each function in a sentence for screen readers', () => {
    const g = buildGraph({
      functions: [fn({ name: 'validator', triggers: [csv], permissions: [{ actions: ['s3:PutObject'], resource: { bucket: 'lake', prefix: 'silver/*' } }] })],
      queues: [defineQueue({ name: 'arrivals', subscribe: [csv] })],
    });
    expect(describeGraph(g)).toBe(
      [
        'validator (256 MB · 30 s · arm64); started by S3 event rule lake/bronze/*.csv; sends to s3://lake/silver/.',
        'Queue arrivals receives S3 event rule lake/bronze/*.csv.',
      ].join('\n'),
    );
  });

  it('shows a function’s /tmp among its limits only when it is not the default 512 MB', () => {
    const label = (ephemeralStorageMb?: number) =>
      node(buildGraph({ functions: [fn({ name: 'spill', triggers: [csv], ...(ephemeralStorageMb ? { ephemeralStorageMb } : {}) })] }), nodeId.fn('spill')).label[1];
    expect(label(10240)).toBe('256 MB · 30 s · arm64 · /tmp 10,240 MB');
    expect(label(512)).toBe('256 MB · 30 s · arm64');
    expect(label()).toBe('256 MB · 30 s · arm64');
  });

  it('prefix helpers', () => {
    expect(staticPrefix('silver/*')).toBe('silver/');
    expect(staticPrefix('*')).toBe('');
    expect(staticPrefix(undefined)).toBe('');
    expect(staticPrefix('exact/key.json')).toBe('exact/key.json');
    expect(splitFirehosePrefix('inventory/year=!{timestamp:yyyy}/month=!{timestamp:MM}/')).toEqual({ base: 'inventory/', partitions: 'year=yyyy/month=MM/' });
    expect(splitFirehosePrefix('errs/!{firehose:error-output-type}/')).toEqual({ base: 'errs/', partitions: '{firehose:error-output-type}/' });
    expect(splitFirehosePrefix('plain/')).toEqual({ base: 'plain/', partitions: '' });
  });
});

describe('order', () => {
  it('does not follow the machine\'s locale: under et_EE (where "zip" sorts before "tap") the graph is the same', () => {
    // A child process: Node takes its default locale from LANG when it starts.
    const script = `
      import { defineFunction } from '@laminar/spec';
      import { buildGraph } from './src/model.ts';
      const fns = ['zip-a', 'tap-a', 's-a'].map((name) => defineFunction({ name, memoryMb: 128, timeoutS: 3, triggers: [{ kind: 'invoke' }] }));
      console.log(JSON.stringify({
        localeOrder: ['tap', 'zip'].sort((a, b) => a.localeCompare(b)),
        functions: buildGraph({ functions: fns }).nodes.filter((n) => n.kind === 'function').map((n) => n.id),
      }));`;
    const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: fileURLToPath(new URL('../..', import.meta.url)),
      env: { ...process.env, LANG: 'et_EE.UTF-8', LC_ALL: 'et_EE.UTF-8' },
      encoding: 'utf8',
    });
    const { localeOrder, functions } = JSON.parse(out) as { localeOrder: string[]; functions: string[] };
    // The premise: this Node does sort by the Estonian collation there.
    expect(localeOrder).toEqual(['zip', 'tap']);
    expect(functions).toEqual(['fn-s-a', 'fn-tap-a', 'fn-zip-a']);
  });
});
