import { decode, encode, type SourceMapMappings, type SourceMapSegment } from '@jridgewell/sourcemap-codec';

/**
 * A source is the function's own code unless it comes from a package: a path through node_modules,
 * or a URL — esbuild follows a package's own source map, and some (entities, domutils) name their
 * sources by URL (https://raw.githubusercontent.com/…), which no path test catches.
 */
export const isOwnSource = (source: string): boolean => !/(^|\/)node_modules\//.test(source) && !/^[a-z][a-z0-9+.-]*:/i.test(source);

interface RawSourceMap {
  version: number;
  sources: string[];
  names: string[];
  mappings: string;
  [key: string]: unknown;
}

/**
 * The bundle's source map with only the function's own code mapped; the dependencies' code is left
 * unmapped, so a stack frame inside it shows its place in index.mjs.
 *
 * Why: every function runs with NODE_OPTIONS=--enable-source-maps (@laminar/spec's PLATFORM_ENV,
 * which infra sets), and Node decodes the whole map into one array per mapping on the first stack
 * trace it formats. csv-validator's map held ~235k mappings, 94 % of them in the AWS SDK, zod and
 * papaparse: its benchmark's peak at 100 MB was 130–133 MB instead of 115 (heap 46–49 MB instead
 * of 31) — over a tenth of that function's memory goal, for line numbers inside libraries nobody
 * edits. esbuild maps all inputs or none, hence this pass.
 *
 * Each run of dependency code starts with a one-field segment (a generated column without a
 * source), which ends the mapping before it: otherwise Node would attribute the dependency's
 * columns to the last mapped line of our code. Sources and names nobody refers to any more are
 * dropped, and the lists that index sources (ignoreList) follow. The result is a pure function of
 * the input, so bundles stay byte-identical.
 */
export function ownCodeSourceMap(json: string, isOwn: (source: string) => boolean = isOwnSource): string {
  const map = JSON.parse(json) as RawSourceMap;
  if (map.version !== 3 || typeof map.mappings !== 'string' || !Array.isArray(map.sources)) {
    throw new Error('source map: expected a version 3 map with sources and mappings (not an index map)');
  }
  const sourceIndex = new Map<number, number>();
  const sources: string[] = [];
  const sourcesContent = Array.isArray(map.sourcesContent) ? (map.sourcesContent as (string | null)[]) : undefined;
  const contents: (string | null)[] = [];
  map.sources.forEach((source, i) => {
    if (!isOwn(source)) return;
    sourceIndex.set(i, sources.length);
    sources.push(source);
    contents.push(sourcesContent?.[i] ?? null);
  });
  const nameIndex = new Map<number, number>();
  const names: string[] = [];

  let mapped = false;
  const lines: SourceMapMappings = decode(map.mappings).map((line) => {
    const out: SourceMapSegment[] = [];
    for (const segment of line) {
      const source = segment.length >= 4 ? sourceIndex.get(segment[1] as number) : undefined;
      if (source === undefined) {
        // Dependency code (or already unmapped): one marker where a run of it begins.
        if (mapped) out.push([segment[0]]);
        mapped = false;
        continue;
      }
      mapped = true;
      const [column, , sourceLine, sourceColumn] = segment as [number, number, number, number];
      if (segment.length === 5) {
        const name = segment[4];
        let kept = nameIndex.get(name);
        if (kept === undefined) {
          kept = names.length;
          nameIndex.set(name, kept);
          names.push(map.names[name] as string);
        }
        out.push([column, source, sourceLine, sourceColumn, kept]);
      } else {
        out.push([column, source, sourceLine, sourceColumn]);
      }
    }
    return out;
  });

  const result: RawSourceMap = { ...map, sources, names, mappings: encode(lines) };
  if (sourcesContent) result.sourcesContent = contents;
  for (const key of ['ignoreList', 'x_google_ignoreList']) {
    const list = map[key];
    if (!Array.isArray(list)) continue;
    result[key] = list.map((i) => sourceIndex.get(i as number)).filter((i) => i !== undefined);
  }
  return JSON.stringify(result);
}
