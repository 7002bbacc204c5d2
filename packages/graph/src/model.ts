import { byCodePoint, DEFAULT_EPHEMERAL_STORAGE_MB, describeS3KeyPattern, type FunctionSpec, hasDlq, keyPatternsOf, PROJECT, type QueueSpec, type S3Pattern, type S3Trigger, s3PatternKey, s3RuleName } from '@laminar/spec';

/**
 * The architecture as plain data: what starts each function, what it writes and where its failures
 * go — read from the same specs infra synthesizes, so the picture cannot drift from the stack.
 * Rendering (DOT, SVG) and the console's view are separate steps over this model.
 */

/** The boxes of the picture, one per kind of thing. */
export const CLUSTERS = {
  sources: 'Sources',
  functions: 'Lambda functions',
  streams: 'Streams (Kafka topics, Firehose)',
  storage: 'Storage (S3, DynamoDB, Glue)',
  queues: 'Queues (SQS)',
} as const;
export type ClusterId = keyof typeof CLUSTERS;

export type NodeKind =
  | 'schedule'
  | 's3-rule'
  | 'kafka-mapping'
  | 'invoke'
  | 'function'
  | 'topic'
  | 'delivery-stream'
  | 's3-prefix'
  | 'table'
  | 'glue-table'
  | 'queue'
  | 'dlq';

export type EdgeKind =
  /** A source starts a function (EventBridge schedule or rule, a direct invoke). */
  | 'triggers'
  /** An EventBridge rule sends its events to a queue target. */
  | 'delivers'
  /** Objects under a prefix produce the events a rule matches. */
  | 'emits'
  /** A Kafka event source mapping's pollers read a topic (the mapping then triggers its function). */
  | 'polls'
  | 'produces'
  | 'writes'
  | 'reads'
  /** Firehose delivers its buffered records into an S3 prefix. */
  | 'delivers-to'
  /** Records Firehose could not deliver. */
  | 'errors-to'
  /** A Glue table reads a prefix. */
  | 'catalogs'
  | 'on-failure'
  | 'on-success';

export interface GraphNode {
  /** Stable and unique; also the SVG element id, so the console can find a node. */
  id: string;
  kind: NodeKind;
  cluster: ClusterId;
  /** Sub-box inside the cluster (the bucket of an S3 prefix). */
  group?: string;
  /** First line is the name; the others are details. */
  label: string[];
  /** Longer text (a function's description), shown on hover. */
  tooltip?: string;
}

export interface GraphEdge {
  from: string;
  to: string;
  kind: EdgeKind;
  label?: string;
}

export interface ArchitectureGraph {
  nodes: GraphNode[];
  edges: GraphEdge[];
}

export interface GraphInput {
  functions: readonly FunctionSpec[];
  queues?: readonly QueueSpec[];
}

/** The part of a key pattern before its first wildcard: "silver/*" → "silver/", "*" → "". */
/**
 * The keys a permission pattern or an S3 rule covers, as one node: a prefix, or a prefix and a
 * file-name suffix ("bronze/*.csv") — kept apart, so that what writes bronze/*.jsonl is not drawn
 * feeding the rule on bronze/*.csv. Other patterns are drawn as their static prefix.
 */
export function keySpace(pattern: string | undefined): string {
  if (!pattern) return '';
  const star = pattern.indexOf('*');
  const suffix = star < 0 ? '' : pattern.slice(star + 1);
  return star >= 0 && suffix !== '' && !suffix.includes('*') && !suffix.includes('/') ? pattern : staticPrefix(pattern);
}

export function staticPrefix(pattern: string | undefined): string {
  if (!pattern) return '';
  const star = pattern.indexOf('*');
  return star < 0 ? pattern : pattern.slice(0, star);
}

/**
 * A Firehose prefix with `!{…}` expressions, split where the first expression's path segment
 * starts: "inventory/year=!{timestamp:yyyy}/…" → ["inventory/", "year=yyyy/…"].
 */
export function splitFirehosePrefix(prefix: string): { base: string; partitions: string } {
  const expr = prefix.indexOf('!{');
  if (expr < 0) return { base: prefix, partitions: '' };
  const cut = prefix.lastIndexOf('/', expr) + 1;
  const partitions = prefix.slice(cut).replace(/!\{timestamp:([^}]+)\}/g, '$1').replace(/!\{([^}]+)\}/g, '{$1}');
  return { base: prefix.slice(0, cut), partitions };
}

/** Any stage: the rule's name minus the `laminar-<stage>-` part is the same for all of them. */
const RULE_STAGE = 'x';

export const nodeId = {
  fn: (name: string) => `fn-${name}`,
  schedule: (fn: string, index: number) => `schedule-${fn}-${index}`,
  invoke: () => 'invoke',
  kafkaMapping: (fn: string, index: number) => `esm-${fn}-${index}`,
  /** The name infra gives the rule, less the stage: `s3-<bucket>-<digest of the pattern>`. */
  rule: (t: S3Pattern) => `rule-${s3RuleName(RULE_STAGE, t).slice(`${PROJECT}-${RULE_STAGE}-`.length)}`,
  topic: (topic: string) => `topic-${topic}`,
  stream: (name: string) => `firehose-${name}`,
  prefix: (bucket: string, prefix: string) => `s3-${bucket}-${slug(prefix) || 'root'}`,
  table: (name: string) => `ddb-${name}`,
  glue: (database: string, table: string) => `glue-${database}-${table}`,
  queue: (name: string) => `sqs-${name}`,
  dlq: (fn: string) => `dlq-${fn}`,
};

/** Keys may hold any character; SVG ids should not. A collision is caught in buildGraph. */
function slug(s: string): string {
  return s.replace(/[^A-Za-z0-9_.-]+/g, '-').replace(/^-+|-+$/g, '');
}

/** How people write an S3 pattern: bucket/prefix*suffix. */
export function patternText(t: Pick<S3Pattern, 'bucket' | 'prefix' | 'suffix' | 'alsoUpperCaseSuffix'>): string {
  return `${t.bucket}/${describeS3KeyPattern(t)}`;
}

/**
 * The key patterns a grant draws as nodes: the spellings of one suffix (equal but for case) are
 * one node, the first spelling's, as the trigger's rule draws it; other lists, each.
 */
export function grantKeySpaces(patterns: readonly string[]): (string | undefined)[] {
  if (patterns.length === 0) return [undefined];
  const first = patterns[0] as string;
  return patterns.every((p) => p.toLowerCase() === first.toLowerCase()) ? [first] : [...patterns];
}

const num = (n: number) => n.toLocaleString('en-US');

/** Builds the graph; nodes and edges come out sorted, so equal specs give an equal graph. */
export function buildGraph(input: GraphInput): ArchitectureGraph {
  const nodes = new Map<string, GraphNode>();
  const edges = new Map<string, GraphEdge>();
  const addNode = (node: GraphNode) => {
    const known = nodes.get(node.id);
    if (!known) nodes.set(node.id, node);
    // A prefix first met as a trigger's, later as Firehose's target, gains its partition line.
    else if (node.label.length > known.label.length) known.label = node.label;
    return node.id;
  };
  const prefixes = new Map<string, string>();
  const addEdge = (edge: GraphEdge) => {
    const key = `${edge.from}\u0000${edge.to}\u0000${edge.kind}`;
    const known = edges.get(key);
    // Two permissions on one prefix (PutObject and AbortMultipartUpload…) are one arrow.
    if (!known) edges.set(key, edge);
    else if (edge.label && known.label !== edge.label) known.label = [known.label, edge.label].filter(Boolean).join('; ');
  };
  const prefixNode = (bucket: string, prefix: string, detail?: string) => {
    const id = nodeId.prefix(bucket, prefix);
    const where = `${bucket}/${prefix}`;
    if ((prefixes.get(id) ?? where) !== where) throw new Error(`S3 prefixes ${prefixes.get(id)} and ${where} would share the node id ${id}`);
    prefixes.set(id, where);
    return addNode({
      id: nodeId.prefix(bucket, prefix),
      kind: 's3-prefix',
      cluster: 'storage',
      group: bucket,
      label: [prefix === '' ? '(whole bucket)' : prefix, ...(detail ? [detail] : [])],
    });
  };
  const ruleNode = (t: S3Trigger) => {
    const id = addNode({
      id: nodeId.rule(t),
      kind: 's3-rule',
      cluster: 'sources',
      label: ['S3 event rule', patternText(t), [...t.events].sort().join(', ')],
      tooltip: `One EventBridge rule per distinct pattern (key ${s3PatternKey(t)}); every target with the same pattern hangs off it.`,
    });
    // The rule matches events of objects under its prefix: the arrow shows where they come from.
    addEdge({ from: prefixNode(t.bucket, keySpace(t.suffix ? `${t.prefix}*${t.suffix}` : t.prefix)), to: id, kind: 'emits' });
    return id;
  };

  const functions = [...input.functions].sort((a, b) => byCodePoint(a.name, b.name));
  const queues = [...(input.queues ?? [])].sort((a, b) => byCodePoint(a.name, b.name));

  for (const spec of functions) {
    const fn = addNode({
      id: nodeId.fn(spec.name),
      kind: 'function',
      cluster: 'functions',
      label: [
        spec.name,
        [
          `${num(spec.memoryMb)} MB`,
          `${spec.timeoutS} s`,
          spec.architecture,
          // /tmp only when it is not Lambda's default.
          ...(spec.ephemeralStorageMb !== DEFAULT_EPHEMERAL_STORAGE_MB ? [`/tmp ${num(spec.ephemeralStorageMb)} MB`] : []),
        ].join(' · '),
        ...(spec.layers.length ? [`layers: ${spec.layers.join(', ')}`] : []),
      ],
      ...(spec.description ? { tooltip: spec.description } : {}),
    });

    spec.triggers.forEach((t, i) => {
      switch (t.kind) {
        case 'schedule': {
          const input = t.input ? [`input ${compactJson(t.input)}`] : [];
          addEdge({
            from: addNode({ id: nodeId.schedule(spec.name, i), kind: 'schedule', cluster: 'sources', label: ['EventBridge schedule', t.expression, ...input] }),
            to: fn,
            kind: 'triggers',
          });
          break;
        }
        case 's3':
          addEdge({ from: ruleNode(t), to: fn, kind: 'triggers' });
          break;
        case 'invoke':
          addEdge({
            from: addNode({ id: nodeId.invoke(), kind: 'invoke', cluster: 'sources', label: ['Invoke', 'SDK, CLI, console'] }),
            to: fn,
            kind: 'triggers',
          });
          break;
        case 'kafka': {
          const mode = t.provisioned ? `${t.provisioned.minPollers}–${t.provisioned.maxPollers} provisioned pollers, ${t.maxRetries ?? 0} retries` : 'on-demand pollers';
          const cluster = t.cluster.kind === 'msk' ? 'Amazon MSK' : `self-managed, ${t.cluster.auth}`;
          // The mapping is a resource of its own (like a rule): its batching and pollers belong to it.
          const esm = addNode({
            id: nodeId.kafkaMapping(spec.name, i),
            kind: 'kafka-mapping',
            cluster: 'sources',
            label: ['Kafka event source mapping', [...t.topics].sort().join(' + '), `batch ≤ ${num(t.batchSize)}, ${t.batchingWindowS} s window`, mode, `${cluster}, ${t.startingPosition}`],
          });
          for (const topic of [...t.topics].sort()) addEdge({ from: topicNode(addNode, topic), to: esm, kind: 'polls' });
          addEdge({ from: esm, to: fn, kind: 'triggers' });
          break;
        }
      }
    });

    for (const [, v] of Object.entries(spec.env).sort(([a], [b]) => byCodePoint(a, b))) {
      if (typeof v !== 'string' && 'topic' in v.ref) addEdge({ from: fn, to: topicNode(addNode, v.ref.topic), kind: 'produces' });
    }

    for (const p of spec.permissions) {
      if (!('bucket' in p.resource)) continue;
      for (const pattern of grantKeySpaces(keyPatternsOf(p.resource))) {
        const prefix = keySpace(pattern);
        if (p.actions.some((a) => /^s3:Put/.test(a))) addEdge({ from: fn, to: prefixNode(p.resource.bucket, prefix), kind: 'writes' });
        if (p.actions.includes('s3:GetObject')) addEdge({ from: prefixNode(p.resource.bucket, prefix), to: fn, kind: 'reads' });
      }
    }

    for (const t of spec.tables) {
      addEdge({
        from: fn,
        to: addNode({ id: nodeId.table(t.name), kind: 'table', cluster: 'storage', label: ['DynamoDB', t.name, `${t.kind}, on-demand`] }),
        kind: 'writes',
      });
    }

    for (const d of spec.deliveryStreams) {
      const stream = addNode({
        id: nodeId.stream(d.name),
        kind: 'delivery-stream',
        cluster: 'streams',
        label: ['Firehose', d.name, `buffer ${d.buffering.sizeMb} MB / ${d.buffering.intervalS} s`],
      });
      addEdge({ from: fn, to: stream, kind: 'writes' });
      const data = splitFirehosePrefix(d.prefix);
      const target = prefixNode(d.bucket, data.base, data.partitions || undefined);
      addEdge({ from: stream, to: target, kind: 'delivers-to' });
      const errors = splitFirehosePrefix(d.errorOutputPrefix);
      addEdge({ from: stream, to: prefixNode(d.bucket, errors.base, 'records Firehose could not deliver'), kind: 'errors-to' });
      if (d.table) {
        const glue = addNode({
          id: nodeId.glue(d.table.database, d.table.name),
          kind: 'glue-table',
          cluster: 'storage',
          label: [
            'Glue table',
            `${d.table.database}.${d.table.name}`,
            `${d.table.columns.length} columns${d.table.partitionKeys.length ? `, partitions ${d.table.partitionKeys.join('/')}` : ''}`,
          ],
        });
        addEdge({ from: target, to: glue, kind: 'catalogs' });
      }
    }

    if (hasDlq(spec)) {
      const what = [
        ...(spec.async?.onFailure === 'dlq' ? [`async events after ${spec.async.maxRetries} retries`] : []),
        ...(spec.triggers.some((t) => t.kind === 'kafka') ? ['failed Kafka batches'] : []),
      ];
      const dlq = addNode({ id: nodeId.dlq(spec.name), kind: 'dlq', cluster: 'queues', label: ['DLQ', `${spec.name}-dlq`, ...what] });
      addEdge({ from: fn, to: dlq, kind: 'on-failure' });
    }
    const onSuccess = spec.async?.onSuccess?.queue;
    if (onSuccess) addEdge({ from: fn, to: queueNode(addNode, queues, onSuccess), kind: 'on-success', label: 'on success' });
  }

  for (const q of queues) {
    const id = queueNode(addNode, queues, q.name);
    for (const t of q.subscribe) addEdge({ from: ruleNode(t), to: id, kind: 'delivers' });
  }

  return {
    nodes: [...nodes.values()].sort((a, b) => byCodePoint(a.id, b.id)),
    edges: [...edges.values()].sort((a, b) => byCodePoint(a.from, b.from) || byCodePoint(a.to, b.to) || byCodePoint(a.kind, b.kind)),
  };
}

function topicNode(add: (n: GraphNode) => string, topic: string): string {
  return add({ id: nodeId.topic(topic), kind: 'topic', cluster: 'streams', label: ['Kafka topic', topic] });
}

function queueNode(add: (n: GraphNode) => string, queues: readonly QueueSpec[], name: string): string {
  const q = queues.find((x) => x.name === name);
  return add({
    id: nodeId.queue(name),
    kind: 'queue',
    cluster: 'queues',
    label: ['SQS queue', name, ...(q ? [`${q.retentionDays} days retention`] : [])],
    ...(q?.description ? { tooltip: q.description } : {}),
  });
}

/** `{"stores":10}` → `{stores: 10}`: shorter in a box, still unambiguous. */
function compactJson(value: Record<string, unknown>): string {
  return `{${Object.entries(value)
    .map(([k, v]) => `${k}: ${JSON.stringify(v)}`)
    .join(', ')}}`;
}

/** Plain sentences for screen readers (the SVG's <desc>) and for people reading the DOT file. */
export function describeGraph(graph: ArchitectureGraph): string {
  const byId = new Map(graph.nodes.map((n) => [n.id, n]));
  const name = (id: string) => {
    const n = byId.get(id);
    if (!n) return id;
    if (n.kind === 'function') return n.label[0] as string;
    if (n.kind === 's3-prefix') return `s3://${n.group}/${n.label[0] === '(whole bucket)' ? '' : n.label[0]}`;
    if (n.kind === 'kafka-mapping') {
      const topics = graph.edges.filter((e) => e.to === id && e.kind === 'polls').map((e) => byId.get(e.from)?.label[1]);
      return `a Kafka event source mapping on ${topics.join(', ')} (${n.label.slice(2).join('; ')})`;
    }
    return n.label.slice(0, 2).join(' ');
  };
  const lines: string[] = [];
  for (const fn of graph.nodes.filter((n) => n.kind === 'function')) {
    const into = graph.edges.filter((e) => e.to === fn.id && e.kind === 'triggers');
    const out = graph.edges.filter((e) => e.from === fn.id);
    const parts = [
      `${fn.label[0]} (${fn.label[1]})`,
      `started by ${into.map((e) => name(e.from)).join(', ') || 'nothing'}`,
      ...(out.length ? [`sends to ${out.map((e) => `${name(e.to)}${e.kind === 'on-failure' ? ' on failure' : e.kind === 'on-success' ? ' on success' : ''}`).join(', ')}`] : []),
    ];
    lines.push(`${parts.join('; ')}.`);
  }
  for (const q of graph.nodes.filter((n) => n.kind === 'queue')) {
    const from = graph.edges.filter((e) => e.to === q.id && e.kind === 'delivers').map((e) => name(e.from));
    if (from.length) lines.push(`Queue ${q.label[1]} receives ${from.join(', ')}.`);
  }
  for (const s of graph.nodes.filter((n) => n.kind === 'delivery-stream')) {
    const to = graph.edges.filter((e) => e.from === s.id && e.kind === 'delivers-to').map((e) => name(e.to));
    lines.push(`Firehose ${s.label[1]} delivers to ${to.join(', ')}.`);
  }
  return lines.join('\n');
}
