import { parseArgs } from 'node:util';
import { findRoot } from '@laminar/spec';
import { OUTPUTS, renderRepository, staleOutputs, writeOutputs } from './generate.ts';

const USAGE = `laminar-graph [--check] [--print svg|dot|json]
  Renders the architecture from functions/*/spec.ts and queues/*.ts to ${OUTPUTS.svg} (and ${OUTPUTS.dot}).
  --check   write nothing; exit 1 when the committed files differ from what the specs render
  --print   write nothing; print the SVG, the DOT source or the graph model (JSON) on stdout`;

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      check: { type: 'boolean', default: false },
      print: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (values.print !== undefined && !['svg', 'dot', 'json'].includes(values.print)) {
    process.stderr.write(`laminar-graph: --print wants svg, dot or json\n${USAGE}\n`);
    return 2;
  }
  // pnpm runs root scripts from the root, but INIT_CWD keeps where the user was: either finds the root.
  const root = findRoot(process.env.INIT_CWD ?? process.cwd());
  const rendered = await renderRepository(root);
  if (values.print) {
    const text = values.print === 'svg' ? rendered.svg : values.print === 'dot' ? rendered.dot : `${JSON.stringify(rendered.graph, null, 2)}\n`;
    process.stdout.write(text);
    return 0;
  }
  if (values.check) {
    const stale = staleOutputs(root, rendered);
    if (stale.length) {
      process.stderr.write(`laminar-graph: ${stale.join(' and ')} ${stale.length > 1 ? 'are' : 'is'} stale: run \`pnpm graph\` and commit the result\n`);
      return 1;
    }
    process.stdout.write(`${OUTPUTS.svg} is up to date (${rendered.graph.nodes.length} nodes, ${rendered.graph.edges.length} edges)\n`);
    return 0;
  }
  const written = writeOutputs(root, rendered);
  process.stdout.write(`wrote ${written.join(', ')} (${rendered.graph.nodes.length} nodes, ${rendered.graph.edges.length} edges)\n`);
  return 0;
}

try {
  process.exitCode = await main();
} catch (err) {
  process.stderr.write(`laminar-graph: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
}
