import { existsSync, readFileSync } from 'node:fs';
import { relative, sep } from 'node:path';
import { assertFunctionWithLayersFits, LAMBDA_PACKAGE_LIMITS, unzippedBytes } from '@laminar/bundler';
import type { LoadedLayer, LoadedSpec } from '@laminar/spec';

export class MissingArtifactError extends Error {
  override name = 'MissingArtifactError';
}

export interface Artifact {
  /** `${path.module}/…`: relative, so the synthesized JSON is identical on every machine. */
  filename: string;
  /** Base64 SHA-256 of the zip, as Terraform's source_code_hash expects. */
  sourceCodeHash: string;
}

/**
 * The zip is referenced, not copied (cdktf's TerraformAsset would copy it into cdktf.out under a
 * content hash): the bundler already produces a deterministic zip plus hash, and pointing at it
 * keeps one artifact for infra and the local runner alike.
 */
export function readArtifact(
  loaded: { name: string; zipPath: string; hashPath: string } | LoadedSpec,
  stackDir: string,
): Artifact {
  const { zipPath, hashPath } = loaded;
  const what = 'spec' in loaded ? `function "${loaded.spec.name}"` : loaded.name;
  for (const p of [zipPath, hashPath]) {
    if (!existsSync(p)) {
      throw new MissingArtifactError(
        `${what}: ${p} is missing. Run \`pnpm build\` at the repository root before synthesizing.`,
      );
    }
  }
  const hash = readFileSync(hashPath, 'utf8').trim();
  if (!/^[A-Za-z0-9+/]{43}=$/.test(hash)) {
    throw new MissingArtifactError(
      `${what}: ${hashPath} does not hold a base64 SHA-256; rebuild with \`pnpm build\``,
    );
  }
  const rel = relative(stackDir, zipPath).split(sep).join('/');
  return { filename: `\${path.module}/${rel}`, sourceCodeHash: hash };
}

/**
 * Refuses a function whose code and layers together unzip past Lambda's limit: each build checks
 * only its own zip, and on AWS the function's create or update would fail mid-apply. Zips not
 * built yet are left to readArtifact, which says how to build them.
 */
export async function checkUnzippedSizes(
  specs: readonly LoadedSpec[],
  layers: readonly LoadedLayer[],
  limit: number = LAMBDA_PACKAGE_LIMITS.unzippedBytes,
): Promise<void> {
  const sizes = new Map<string, Promise<number>>();
  const sizeOf = (path: string) => {
    let size = sizes.get(path);
    if (!size) {
      size = unzippedBytes(path);
      sizes.set(path, size);
    }
    return size;
  };
  for (const loaded of specs) {
    const zips = [
      { what: 'its code', path: loaded.zipPath },
      ...loaded.spec.layers.flatMap((name) => {
        const layer = layers.find((l) => l.spec.name === name);
        return layer ? [{ what: `layer ${name}`, path: layer.zipPath }] : [];
      }),
    ];
    if (zips.length < 2 || !zips.every((z) => existsSync(z.path))) continue;
    const parts = await Promise.all(zips.map(async (z) => ({ what: z.what, unzippedBytes: await sizeOf(z.path) })));
    assertFunctionWithLayersFits(loaded.spec.name, parts, limit);
  }
}
