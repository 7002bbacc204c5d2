import { shown } from './schema.ts';

export interface ExpectedColumn {
  name: string;
  /** A required column must be in the header; an optional one may be left out. */
  required: boolean;
}

export interface HeaderOutcome {
  /** ok: as expected; extra-columns: accepted, unknown columns ignored; rejected: file quarantined. */
  status: 'ok' | 'extra-columns' | 'rejected';
  /** The header as found (cells trimmed). */
  columns: string[];
  /** Expected columns that are absent (optional ones included: they are simply empty). */
  missing: string[];
  /** Columns we do not know; their values are not validated and not written to silver. */
  extra: string[];
  /**
   * Expected columns named more than once, exactly or under another spelling ("Email" beside
   * email): which one holds the value is ambiguous.
   */
  duplicates: string[];
  /** An unknown column that is probably an expected one renamed. */
  suggestions: { found: string; expected: string }[];
  /** One line for people. */
  message: string;
}

/**
 * Compares a header row with the expected columns. Names are compared exactly after trimming;
 * order does not matter. A required column that is missing rejects the file, naming the unknown
 * column it most likely became ("Order ID" → order_id), and so does an optional one found under
 * another spelling of its name ("Email"), or named twice, even under two spellings; extra columns
 * are accepted and reported, so a producer adding a column does not stop the pipeline.
 */
export function checkHeader(cells: readonly string[], expected: readonly ExpectedColumn[]): HeaderOutcome {
  const columns = cells.map((c) => c.trim());
  const wanted = new Set(expected.map((e) => e.name));
  const seen = new Map<string, number>();
  for (const c of columns) seen.set(c, (seen.get(c) ?? 0) + 1);

  const missing = expected.filter((e) => !seen.has(e.name));
  const extra = columns.filter((c) => !wanted.has(c));
  // Another spelling of a column that is there ("Email" beside email) is the same column twice:
  // which one holds the value is as ambiguous as with an exact repeat, and read as unknown, its
  // values would be dropped without a word.
  const present = new Map(expected.filter((e) => seen.has(e.name)).map((e) => [normalize(e.name), e.name]));
  const respellingsOf = new Map<string, string[]>();
  for (const found of extra) {
    const of = present.get(normalize(found));
    if (of === undefined) continue;
    const respellings = respellingsOf.get(of) ?? [];
    respellings.push(found);
    respellingsOf.set(of, respellings);
  }
  const repeated = new Set([...respellingsOf.values()].flat());
  const duplicates = expected.filter((e) => (seen.get(e.name) ?? 0) > 1 || respellingsOf.has(e.name)).map((e) => e.name);
  const suggestions = suggest(
    missing.map((m) => m.name),
    extra.filter((e) => !repeated.has(e)),
  );
  const missingRequired = missing.filter((m) => m.required).map((m) => m.name);
  // An optional column under another spelling ("Email", "E-mail" for email) would pass every row
  // with its values dropped: its data is lost without a row being rejected, so the file is.
  // Merely similar names ("email_verified") are only pointed out: they may be new columns.
  const respelled = suggestions.filter((s) => !missingRequired.includes(s.expected) && normalize(s.found) === normalize(s.expected));

  // A cell holding a line break is two lines joined (a header ending in a lone CR in a CRLF file):
  // the first row's cells would be read as more columns, and the row itself lost.
  const joined = columns.filter((c) => c.includes('\r') || c.includes('\n'));
  const rejected = missingRequired.length > 0 || duplicates.length > 0 || respelled.length > 0 || joined.length > 0;
  const parts: string[] = [];
  if (joined.length > 0) {
    parts.push(`header cell(s) holding a line break: ${listed(joined)} — the header and the line after it joined (a lone CR among LF or CRLF line ends?)`);
  }
  if (missingRequired.length > 0) parts.push(`missing required column(s): ${missingRequired.join(', ')}`);
  if (duplicates.length > 0) {
    const named = duplicates.map((d) => (respellingsOf.has(d) ? `${d} (also as ${listed(respellingsOf.get(d) ?? [])})` : d)).join(', ');
    parts.push(`column(s) named more than once: ${named}`);
  }
  if (respelled.length > 0) {
    const named = respelled.map((s) => `${shown(s.found)} for ${s.expected}`).join(', ');
    parts.push(`optional column(s) spelled otherwise: ${named} (read as unknown columns, their values would be dropped)`);
  }
  for (const s of suggestions) if (!respelled.includes(s)) parts.push(`${shown(s.found)} looks like "${s.expected}"`);
  const optionalMissing = missing.filter((m) => !m.required && !respelled.some((s) => s.expected === m.name)).map((m) => m.name);
  if (optionalMissing.length > 0) parts.push(`optional column(s) absent: ${optionalMissing.join(', ')}`);
  const unexplained = extra.filter((e) => !suggestions.some((s) => s.found === e) && !repeated.has(e));
  if (unexplained.length > 0) parts.push(`${rejected ? 'unknown' : 'ignored unknown'} column(s): ${listed(unexplained)}`);
  if (rejected && columns.length === 1) {
    const delimiter = [';', '\t', '|'].find((d) => (columns[0] ?? '').includes(d));
    if (delimiter) parts.push(`the header is one column: is the file delimited by ${JSON.stringify(delimiter)} instead of ","?`);
  }

  return {
    status: rejected ? 'rejected' : extra.length > 0 ? 'extra-columns' : 'ok',
    columns,
    missing: missing.map((m) => m.name),
    extra,
    duplicates,
    suggestions,
    message: parts.length > 0 ? parts.join('; ') : 'header as expected',
  };
}

/** At most 20 cells, each shown(), then how many more. */
function listed(names: readonly string[]): string {
  const more = names.length > 20 ? ` and ${names.length - 20} more` : '';
  return `${names.slice(0, 20).map(shown).join(', ')}${more}`;
}

/**
 * The outcome as reported (result, manifest, idempotency record): names cut to 100 characters and
 * lists to 100 names, so a junk "header" — thousands of cells, or one cell of megabytes (a quote
 * never closed) — cannot outgrow a DynamoDB item (400 KB). The message names cells through shown().
 */
export function headerReport(h: HeaderOutcome): HeaderOutcome & { columnCount: number } {
  const name = (n: string) => (n.length > 100 ? `${n.slice(0, 100)}…` : n);
  const cut = (names: string[]) => names.slice(0, 100).map(name);
  return {
    ...h,
    columns: cut(h.columns),
    extra: cut(h.extra),
    suggestions: h.suggestions.map((s) => ({ ...s, found: name(s.found) })),
    columnCount: h.columns.length,
  };
}

/**
 * Pairs each missing name with the closest unknown column, when it is close enough.
 * `distance` is a test seam: the edit distance, to count what is compared.
 */
export function suggest(missing: string[], extra: string[], distance = levenshtein): { found: string; expected: string }[] {
  const candidates: { found: string; expected: string; distance: number }[] = [];
  // Normalized once each: a cell can be a megabyte long (a quote never closed on line 1).
  const normalized = extra.map((found) => ({ found, f: normalize(found) }));
  for (const expected of missing) {
    const e = normalize(expected);
    const allowed = Math.max(1, Math.floor(e.length / 3));
    for (const { found, f } of normalized) {
      if (f === '') continue;
      // Close: up to a third of the letters differ ("ammount", "Unit Price"), or one name starts
      // the other ("country_code" for country, "qty" is too short to count).
      const prefix = Math.min(e.length, f.length) >= 4 && (f.startsWith(e) || e.startsWith(f));
      // The distance is at least the difference in length, and exactly that when one name starts
      // the other: no pair needs the quadratic distance of a long cell (1 MB against 11 names
      // took 17 s), only of one at most a third longer than an expected name.
      const gap = Math.abs(e.length - f.length);
      if (prefix) candidates.push({ found, expected, distance: gap });
      else if (gap <= allowed) {
        const d = distance(e, f);
        if (d <= allowed) candidates.push({ found, expected, distance: d });
      }
    }
  }
  candidates.sort((a, b) => a.distance - b.distance);
  const used = new Set<string>();
  const pairs: { found: string; expected: string }[] = [];
  for (const c of candidates) {
    if (used.has(c.found) || used.has(`=${c.expected}`)) continue;
    used.add(c.found);
    used.add(`=${c.expected}`);
    pairs.push({ found: c.found, expected: c.expected });
  }
  return pairs.sort((a, b) => missing.indexOf(a.expected) - missing.indexOf(b.expected));
}

/** "Order ID", "order-id" and "ORDER_ID" all become "orderid". */
function normalize(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]/g, '');
}

export function levenshtein(a: string, b: string): number {
  if (a === b) return 0;
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current[j] = Math.min((previous[j] as number) + 1, (current[j - 1] as number) + 1, (previous[j - 1] as number) + cost);
    }
    previous = current;
  }
  return previous[b.length] as number;
}
