import type { z } from 'zod';
import { type $ZodIssue, type $ZodRawIssue, config, util } from 'zod/v4/core';
import { deriveFieldsParser, INVALID, UnsupportedSchemaError } from './fast-validator.ts';

/**
 * Why this exists: a rejected row's reasons come from zod, and `safeParse` of a whole row costs
 * ~7–15 µs (every field, the object, the error) — with ~3 % of rows rejected that was as much CPU
 * as validating all the others. A rejected row usually has one bad field, so this runs zod only
 * where it has something to say and yields exactly what `schema.safeParse(input)` would:
 *
 * - each field goes through its derived fast parser (fast-validator.ts); only a field it refuses
 *   is run through zod (`shape[key]._zod.run`, what zod's object parser itself calls per key), and
 *   that field's issues and value are taken from zod — so a fast parser stricter than zod costs
 *   time, never a different answer;
 * - the object's own checks (the amount refinement) then run as zod's check runner runs them:
 *   skipped after an issue that aborts (continue !== true), `when` honored; same value, same order;
 * - the issues are finalized (messages, paths) by zod's own `finalizeIssue`, as safeParse does.
 *
 * tests/unit/explain.test.ts compares it with safeParse on generated rejected rows.
 */

/** As safeParse's result, except that the issues are frozen (rows with the same bad value share them). */
export type Explanation<T> = { success: true; data: T } | { success: false; issues: readonly $ZodIssue[] };

interface Payload {
  value: unknown;
  issues: $ZodRawIssue[];
  aborted?: boolean;
}
interface Runnable {
  _zod: { run(payload: Payload, ctx: { async: false }): Payload | Promise<Payload> };
}
interface Check {
  _zod: { def: { when?: (payload: Payload) => boolean }; check(payload: Payload): unknown };
}

/** safeParse's context: synchronous, no custom error map. */
const CTX = { async: false } as const;

/** Mirrors util.aborted: an issue that does not say `continue: true` stops later checks. */
function stopsChecks(issues: readonly $ZodRawIssue[]): boolean {
  return issues.some((i) => (i as { continue?: boolean }).continue !== true);
}
/** Mirrors util.explicitlyAborted: what stops even a check with a `when`. */
function stopsAllChecks(issues: readonly $ZodRawIssue[]): boolean {
  return issues.some((i) => (i as { continue?: boolean }).continue === false);
}

/**
 * A field's zod result, kept per cell value: bad values repeat (the same unknown status or
 * impossible date in row after row) and zod's run of one — a union of two formats, say — costs
 * microseconds. Its raw issues are shared by the rows that have that value; nothing mutates them
 * after this point (object checks only append issues, `attachSchema` stamps only theirs). They
 * are finalized once, with the result (zod's message functions here depend on the issue alone),
 * and frozen: every row with that value gets the same issue objects.
 */
interface FieldResult {
  value: unknown;
  issues: $ZodRawIssue[];
  final: readonly $ZodIssue[];
  /**
   * What its issues say about the object's checks, read once here: read row by row, zod's issue
   * objects (a map per kind of issue, and more as zod adds keys to them) kept the explainer's
   * optimized code failing its map checks — dozens of deoptimizations and recompiles a file.
   */
  stopsChecks: boolean;
  stopsAllChecks: boolean;
}
/** Distinct bad values remembered per field; the map starts over when full, so memory is bounded. */
const MEMO_ENTRIES = 256;
/** Only short values are remembered: long ones rarely repeat, and this bounds the memo's bytes. */
const MEMO_CHARS = 64;

/** An issue as a quarantine reason: "path: message" ("row: …" for the row as a whole). */
export function reasonOf(issue: { readonly path: readonly PropertyKey[]; readonly message: string }): string {
  const { path } = issue;
  // Nearly always one key: no array to build for it.
  const where = path.length === 1 ? String(path[0]) : path.map(String).join('.') || 'row';
  return `${where}: ${issue.message}`;
}

/** What safeParse's error holds for a raw issue, frozen (path included): it may be shared. */
function finalize(issue: $ZodRawIssue): $ZodIssue {
  const done = util.finalizeIssue(issue, CTX, config());
  Object.freeze(done.path);
  return Object.freeze(done);
}

export function deriveExplainer<S extends z.ZodObject>(schema: S): (values: readonly unknown[]) => Explanation<z.output<S>> {
  const def = schema._zod.def as unknown as { shape: Record<string, Runnable>; checks?: Check[]; catchall?: unknown };
  // A catchall would add keys of its own to the result: not mirrored, so refused at cold start.
  if (def.catchall !== undefined && (def.catchall as { _zod: { def: { type: string } } })._zod.def.type !== 'never') {
    throw new UnsupportedSchemaError('explain: an object catchall is not supported');
  }
  const keys = Object.keys(def.shape);
  const parseFields = deriveFieldsParser(schema);
  const parsed: unknown[] = keys.map(() => undefined);
  const checks = def.checks ?? [];
  const memos = keys.map(() => new Map<unknown, FieldResult>());

  return (values) => {
    const issues: $ZodRawIssue[] = [];
    const final: $ZodIssue[] = [];
    const row: Record<string, unknown> = {};
    let isAborted = false;
    let isExplicitlyAborted = false;
    parseFields(values, parsed);
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i] as string;
      const input = values[i];
      let value = parsed[i];
      if (value === INVALID) {
        const seen = memos[i] as Map<unknown, FieldResult>;
        const memorable = input === undefined || (typeof input === 'string' && input.length <= MEMO_CHARS);
        let result = memorable ? seen.get(input) : undefined;
        if (result === undefined) {
          // A fresh copy of a cell: the cell itself may be a slice of a whole chunk of the file,
          // which the memo (key, issue input, value) would otherwise keep alive.
          const cell = memorable && typeof input === 'string' ? input.split('').join('') : input;
          const run = (def.shape[key] as Runnable)._zod.run({ value: cell, issues: [] }, CTX);
          if (run instanceof Promise) throw new Error(`explain: ${key} has an async schema`);
          const raw = util.prefixIssues(key, run.issues);
          result = { value: run.value, issues: raw, final: raw.map(finalize), stopsChecks: stopsChecks(raw), stopsAllChecks: stopsAllChecks(raw) };
          if (memorable) {
            if (seen.size >= MEMO_ENTRIES) seen.clear();
            seen.set(cell, result);
          }
        }
        for (const issue of result.issues) issues.push(issue);
        for (const issue of result.final) final.push(issue);
        if (result.stopsChecks) isAborted = true;
        if (result.stopsAllChecks) isExplicitlyAborted = true;
        value = result.value;
      }
      // Every key is present in the input (an absent column is `undefined`), so zod keeps it too.
      row[key] = value;
    }

    const payload: Payload = { value: row, issues };
    for (const check of checks) {
      const when = check._zod.def.when;
      if (when) {
        if (payload.aborted === true || isExplicitlyAborted || !when(payload)) continue;
      } else if (payload.aborted === true || isAborted) continue;
      const before = issues.length;
      if (check._zod.check(payload) instanceof Promise) throw new Error('explain: an async refinement');
      if (issues.length === before) continue;
      // zod stamps the owner so that finalizeIssue can fall back on the object's error map.
      util.attachSchema(issues, before, schema);
      const added = issues.slice(before);
      if (!isAborted) isAborted = stopsChecks(added);
      if (!isExplicitlyAborted) isExplicitlyAborted = stopsAllChecks(added);
    }

    if (issues.length === 0) return { success: true, data: payload.value as z.output<S> };
    // The object's own issues (after the fields') are the row's alone.
    for (let i = final.length; i < issues.length; i++) final.push(finalize(issues[i] as $ZodRawIssue));
    return { success: false, issues: final };
  };
}
