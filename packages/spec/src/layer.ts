import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { z } from 'zod';
import { byCodePoint } from './order.ts';
import { logicalName } from './resources.ts';
import { type FunctionSpec, lambdaRuntime, SpecError } from './spec.ts';

export const layerSpec = z.strictObject({
  name: logicalName,
  description: z.string().default(''),
  /** A native layer is built for one CPU architecture; functions using it must match. */
  architectures: z.array(z.enum(['arm64', 'x86_64'])).min(1),
  runtimes: z.array(lambdaRuntime).min(1),
  /** Packages the layer provides under nodejs/node_modules: bundles keep them external. */
  modules: z.array(z.string().min(1)).min(1),
});
export type LayerSpecInput = z.input<typeof layerSpec>;
export type LayerSpec = z.output<typeof layerSpec>;

export function defineLayer(input: LayerSpecInput): LayerSpec {
  const parsed = layerSpec.safeParse(input);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  - ${i.path.join('.') || '(layer)'}: ${i.message}`);
    throw new SpecError(`invalid layer ${String(input?.name)}:\n${lines.join('\n')}`);
  }
  return parsed.data;
}

export interface LoadedLayer {
  spec: LayerSpec;
  dir: string;
  zipPath: string;
  hashPath: string;
}

/** Loads every `layers/<name>/layer.ts`, sorted by name. */
export async function loadAllLayers(root: string): Promise<LoadedLayer[]> {
  const base = join(root, 'layers');
  if (!existsSync(base)) return [];
  const dirs = readdirSync(base, { withFileTypes: true }).filter((d) => d.isDirectory() && existsSync(join(base, d.name, 'layer.ts')));
  const loaded = await Promise.all(
    dirs.map(async (d) => {
      const dir = resolve(base, d.name);
      const mod = (await import(pathToFileURL(join(dir, 'layer.ts')).href)) as { default?: LayerSpec };
      if (!mod.default) throw new SpecError(`layers/${d.name}/layer.ts must export default defineLayer({...})`);
      if (mod.default.name !== d.name) throw new SpecError(`layers/${d.name}/layer.ts declares name "${mod.default.name}"; they must match`);
      return { spec: mod.default, dir, zipPath: join(dir, 'dist', `${d.name}.zip`), hashPath: join(dir, 'dist', `${d.name}.zip.sha256`) };
    }),
  );
  return loaded.sort((a, b) => byCodePoint(a.spec.name, b.spec.name));
}

/**
 * The layers a function names, checked against it: each must exist and be built for the
 * function's architecture and runtime (a native module built for x86_64 cannot load on arm64).
 */
export function layersFor(spec: FunctionSpec, layers: readonly LoadedLayer[]): LoadedLayer[] {
  return spec.layers.map((name) => {
    const layer = layers.find((l) => l.spec.name === name);
    if (!layer) throw new SpecError(`function ${spec.name}: unknown layer "${name}" (known: ${layers.map((l) => l.spec.name).join(', ') || 'none'})`);
    if (!layer.spec.architectures.includes(spec.architecture)) {
      throw new SpecError(
        `function ${spec.name} is ${spec.architecture} but layer ${name} is built for ${layer.spec.architectures.join(', ')}: set architecture to match`,
      );
    }
    if (!layer.spec.runtimes.includes(spec.runtime)) {
      throw new SpecError(`function ${spec.name} runs ${spec.runtime} but layer ${name} supports ${layer.spec.runtimes.join(', ')}`);
    }
    return layer;
  });
}
