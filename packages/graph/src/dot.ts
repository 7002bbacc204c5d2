import { type ArchitectureGraph, CLUSTERS, type ClusterId, type EdgeKind, type GraphEdge, type GraphNode, type NodeKind } from './model.ts';

/**
 * The graph in Graphviz's DOT language. Everything is emitted in a fixed order (clusters as
 * declared, nodes and edges sorted, attributes in the order written here): the same specs give the
 * same bytes, and so the same layout — the committed SVG is compared byte for byte.
 */

interface NodeStyle {
  shape: string;
  style: string;
  fill: string;
  border: string;
  /** The first label line names the kind of thing ("Kafka topic"), the second the thing. */
  headed: boolean;
}

// Light fills with dark text keep the contrast readable; the white background keeps it so in dark mode.
const NODE_STYLE: Record<NodeKind, NodeStyle> = {
  schedule: { shape: 'box', style: 'rounded,filled', fill: '#fef3c7', border: '#b45309', headed: true },
  's3-rule': { shape: 'box', style: 'rounded,filled', fill: '#ffedd5', border: '#c2410c', headed: true },
  'kafka-mapping': { shape: 'box', style: 'rounded,filled', fill: '#ede9fe', border: '#6d28d9', headed: true },
  invoke: { shape: 'box', style: 'rounded,filled', fill: '#f3f4f6', border: '#4b5563', headed: true },
  function: { shape: 'box', style: 'rounded,filled,bold', fill: '#fde2c2', border: '#b45309', headed: false },
  topic: { shape: 'cds', style: 'filled', fill: '#ede9fe', border: '#6d28d9', headed: true },
  'delivery-stream': { shape: 'cds', style: 'filled', fill: '#e0e7ff', border: '#4338ca', headed: true },
  's3-prefix': { shape: 'folder', style: 'filled', fill: '#dcfce7', border: '#15803d', headed: false },
  table: { shape: 'cylinder', style: 'filled', fill: '#cffafe', border: '#0e7490', headed: true },
  'glue-table': { shape: 'tab', style: 'filled', fill: '#f3e8ff', border: '#7e22ce', headed: true },
  queue: { shape: 'box', style: 'rounded,filled', fill: '#fce7f3', border: '#be185d', headed: true },
  dlq: { shape: 'box', style: 'rounded,filled,dashed', fill: '#fee2e2', border: '#b91c1c', headed: true },
};

/**
 * `ranks: false` for arrows that run against the columns (Sources → functions → streams, storage,
 * queues): a topic feeding a consumer or a prefix feeding a rule would otherwise drag the consumer
 * or the rule right of what they read, and the boxes of one kind apart.
 */
const EDGE_STYLE: Record<EdgeKind, { style: string; color: string; ranks?: false }> = {
  triggers: { style: 'solid', color: '#374151' },
  delivers: { style: 'solid', color: '#c2410c' },
  emits: { style: 'dashed', color: '#6b7280', ranks: false },
  polls: { style: 'dashed', color: '#6d28d9', ranks: false },
  produces: { style: 'solid', color: '#6d28d9' },
  writes: { style: 'solid', color: '#15803d' },
  reads: { style: 'dotted', color: '#6b7280', ranks: false },
  'delivers-to': { style: 'solid', color: '#4338ca' },
  'errors-to': { style: 'dashed', color: '#b91c1c' },
  catalogs: { style: 'dotted', color: '#7e22ce' },
  'on-failure': { style: 'dashed', color: '#b91c1c' },
  'on-success': { style: 'dashed', color: '#15803d' },
};

export const LEGEND = 'solid: triggers and data · dotted: reads, catalogs · dashed: S3 events, Kafka polling, failures (red), successes (green)';

/**
 * Graphviz sizes boxes from its own metrics of the named font. Verdana is among the widest sans
 * fonts it knows (DejaVu Sans, Linux's usual fallback, is as wide), so text fits its box whichever
 * of them the viewer has; finishSvg adds the fallbacks to the SVG.
 */
export const FONT = 'Verdana';

/** A DOT string literal. */
function quote(s: string): string {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;
}

/** Text inside an HTML-like label. */
function html(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function attrs(pairs: Array<[string, string | number | undefined]>): string {
  const set = pairs.filter((p): p is [string, string | number] => p[1] !== undefined);
  return `[${set.map(([k, v]) => `${k}=${typeof v === 'number' ? v : v.startsWith('<') && v.endsWith('>') ? v : quote(v)}`).join(', ')}]`;
}

function nodeLabel(node: GraphNode, style: NodeStyle): string {
  const [first = '', ...rest] = node.label;
  const lines = style.headed
    ? [`<FONT POINT-SIZE="9" COLOR="#4b5563">${html(first)}</FONT>`, ...rest.map((l, i) => (i === 0 ? `<B>${html(l)}</B>` : html(l)))]
    : [`<B>${html(first)}</B>`, ...rest.map(html)];
  return `<${lines.join('<BR/>')}>`;
}

function nodeLine(node: GraphNode, indent: string): string {
  const style = NODE_STYLE[node.kind];
  return `${indent}${quote(node.id)} ${attrs([
    ['id', node.id],
    ['label', nodeLabel(node, style)],
    ['shape', style.shape],
    ['style', style.style],
    ['fillcolor', style.fill],
    ['color', style.border],
    ['tooltip', node.tooltip ?? node.label.join(' · ')],
  ])};`;
}

function edgeLine(edge: GraphEdge): string {
  const style = EDGE_STYLE[edge.kind];
  return `  ${quote(edge.from)} -> ${quote(edge.to)} ${attrs([
    ['id', `edge-${edge.from}--${edge.to}--${edge.kind}`],
    ['class', edge.kind],
    ['style', style.style],
    ['color', style.color],
    // Edge labels land far from long curved edges; the boxes carry the details, hover the rest.
    ['constraint', style.ranks === false ? 'false' : undefined],
    ['tooltip', `${edge.kind}${edge.label ? `: ${edge.label}` : ''}`],
  ])};`;
}

export interface DotOptions {
  title?: string;
  subtitle?: string;
}

export function toDot(graph: ArchitectureGraph, options: DotOptions = {}): string {
  const title = options.title ?? 'Laminar architecture';
  const subtitle = options.subtitle ?? 'generated from functions/*/spec.ts and queues/*.ts by pnpm graph';
  const out: string[] = [
    'digraph laminar {',
    `  graph ${attrs([
      ['rankdir', 'LR'],
      ['bgcolor', 'white'],
      ['fontname', FONT],
      ['fontsize', 16],
      ['labelloc', 't'],
      ['labeljust', 'l'],
      ['label', `<<B>${html(title)}</B><BR/><FONT POINT-SIZE="10" COLOR="#4b5563">${html(subtitle)}<BR/>${html(LEGEND)}</FONT>>`],
      ['nodesep', 0.25],
      ['ranksep', 0.7],
      ['pad', 0.2],
    ])};`,
    `  node ${attrs([
      ['fontname', FONT],
      ['fontsize', 11],
      ['fontcolor', '#111827'],
      ['penwidth', 1.2],
      ['margin', '0.15,0.06'],
    ])};`,
    `  edge ${attrs([
      ['fontname', FONT],
      ['fontsize', 9],
      ['fontcolor', '#374151'],
      ['arrowsize', 0.7],
    ])};`,
  ];
  for (const cluster of Object.keys(CLUSTERS) as ClusterId[]) {
    const members = graph.nodes.filter((n) => n.cluster === cluster);
    if (members.length === 0) continue;
    out.push(`  subgraph ${quote(`cluster_${cluster}`)} {`);
    out.push(
      `    graph ${attrs([
        ['id', `cluster-${cluster}`],
        ['label', `<<B>${html(CLUSTERS[cluster])}</B>>`],
        ['fontsize', 12],
        ['labeljust', 'l'],
        ['style', 'rounded,filled'],
        ['fillcolor', '#f9fafb'],
        ['color', '#d1d5db'],
      ])};`,
    );
    for (const node of members.filter((n) => !n.group)) out.push(nodeLine(node, '    '));
    const groups = [...new Set(members.flatMap((n) => (n.group ? [n.group] : [])))].sort();
    for (const group of groups) {
      out.push(`    subgraph ${quote(`cluster_${cluster}_${group}`)} {`);
      out.push(
        `      graph ${attrs([
          ['id', `cluster-${cluster}-${group}`],
          ['label', `<<B>s3://${html(group)}</B>>`],
          ['fontsize', 11],
          ['style', 'rounded,filled'],
          ['fillcolor', '#f0fdf4'],
          ['color', '#86efac'],
        ])};`,
      );
      for (const node of members.filter((n) => n.group === group)) out.push(nodeLine(node, '      '));
      out.push('    }');
    }
    out.push('  }');
  }
  for (const edge of graph.edges) out.push(edgeLine(edge));
  out.push('}');
  return `${out.join('\n')}\n`;
}
