import { join, resolve } from 'node:path';

/**
 * Where the local runner keeps what outlives one process: the embedded DynamoDB's tables (what
 * the producers have seen), S3's files, the queues `laminar dlq list` reads, unzipped code and
 * layers, the functions' /tmp folders.
 *
 * `<root>/.laminar`, or LAMINAR_STATE_DIR (relative to the repository root): a test, a CI job or a
 * second checkout of the pipeline runs against a folder of its own and leaves the developer's
 * state — and so what the next `laminar dev` counts as new — as it was.
 */
export function stateDirectory(root: string, env: NodeJS.ProcessEnv = process.env): string {
  const chosen = env.LAMINAR_STATE_DIR?.trim();
  return chosen ? resolve(root, chosen) : join(root, '.laminar');
}
