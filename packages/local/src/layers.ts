import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { type LambdaRuntime, RUNTIME_NODE_MAJOR } from '@laminar/spec';
import { prepareExtracted, zipSha256 } from './task-root.ts';

/** A layer as the invoker needs it: its name and its built zip. */
export interface LayerArtifact {
  name: string;
  zipPath: string;
}

/**
 * Lambda extracts a function's layers into /opt in order, a later layer overwriting an earlier
 * one's files. Here one folder per combination plays /opt: `<layersDir>/<a+b>-<hash12>/`, keyed by
 * the zips' hashes, so a rebuilt layer gets a new folder and running environments keep theirs.
 */
export async function prepareLayers(layersDir: string, layers: LayerArtifact[]): Promise<string | undefined> {
  if (layers.length === 0) return undefined;
  const hashes = await Promise.all(layers.map((l) => zipSha256(l.zipPath)));
  const key =
    layers.length === 1 ? (hashes[0] as string).slice(0, 12) : createHash('sha256').update(hashes.join('\n')).digest('hex').slice(0, 12);
  return prepareExtracted(
    layersDir,
    layers.map((l) => l.name).join('+'),
    key,
    layers.map((l) => l.zipPath),
  );
}

/**
 * NODE_PATH and LD_LIBRARY_PATH as Lambda sets them, with /opt = the extracted layers and
 * /var/task = the task root. Lambda's own runtime folders (/var/runtime, /var/lang, /lib64) have no
 * local counterpart: the system's libraries are found by the loader's defaults anyway.
 *
 * Lambda (nodejs20.x): NODE_PATH=/opt/nodejs/node20/node_modules:/opt/nodejs/node_modules:/var/runtime/node_modules:/var/runtime:/var/task
 * LD_LIBRARY_PATH=/var/lang/lib:/lib64:/usr/lib64:/var/runtime:/var/runtime/lib:/var/task:/var/task/lib:/opt/lib
 */
export function lambdaPaths(options: { taskRoot: string; optDir: string | undefined; runtime: LambdaRuntime }): {
  NODE_PATH: string;
  LD_LIBRARY_PATH: string;
} {
  const { taskRoot, optDir, runtime } = options;
  const major = RUNTIME_NODE_MAJOR[runtime];
  const opt = (...parts: string[]) => (optDir ? [join(optDir, ...parts)] : []);
  return {
    NODE_PATH: [...opt('nodejs', `node${major}`, 'node_modules'), ...opt('nodejs', 'node_modules'), taskRoot].join(':'),
    LD_LIBRARY_PATH: [taskRoot, join(taskRoot, 'lib'), ...opt('lib')].join(':'),
  };
}
