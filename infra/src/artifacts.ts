import { existsSync, readFileSync } from 'node:fs';
import { relative, sep } from 'node:path';
import type { LoadedSpec } from '@laminar/spec';

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
