import type { z } from 'zod';
import { util } from 'zod/v4/core';

/**
 * Why this exists: zod's safeParse of one orders row costs ~4–5 µs here (~200k rows/s), more than
 * the CSV parser itself, and it would cap the whole pipeline below its 300k rows/s goal. So zod
 * stays the declaration and the judge of every rejection, and this module derives from the same
 * schema object a parser for the accepting path:
 *
 * - It walks the schema's definition (`schema._zod.def`, the structure zod 4 exposes to tools such
 *   as its own JSON Schema converter) and re-uses what it finds: the very RegExp objects of string
 *   formats (dates, e-mail), enum values, numeric bounds, transforms and refinements.
 * - It answers only "valid, and here is the typed value" or INVALID. Rows it calls INVALID are
 *   handed to zod's safeParse, which produces the reasons (and would accept the row if this parser
 *   were ever stricter than zod: a disagreement costs speed, never a wrong verdict).
 * - Anything it does not understand throws when the parser is derived (at cold start), never at
 *   row time: an unsupported construct cannot make it silently accept what zod would refuse.
 * - It emits one JavaScript function per schema (new Function, as zod's own JIT does): the checks
 *   run inline, with no call per check and no intermediate objects — ~4× zod's speed on a row.
 *
 * tests/unit/fast-validator.test.ts checks verdicts and values against zod on generated rows.
 */

export const INVALID: unique symbol = Symbol('invalid');
export type Invalid = typeof INVALID;

interface Def {
  type: string;
  [key: string]: unknown;
}
interface Internals {
  def: Def;
  when?: (payload: { value: unknown; issues: unknown[] }) => boolean;
}
const internals = (schema: unknown): Internals => (schema as { _zod: Internals })._zod;

/** String formats whose whole rule is their pattern (others, such as url or jwt, run extra code). */
const PATTERN_FORMATS = new Set(['regex', 'date', 'datetime', 'time', 'email', 'uuid', 'guid', 'lowercase', 'uppercase']);
/** Built-in length checks guard only against nullish values, which the type check already refused. */
const LENGTH_CHECKS = new Set(['min_length', 'max_length', 'length_equals']);
const NUMBER_FORMATS: Record<string, [number, number]> = {
  safeint: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
  int32: [-(2 ** 31), 2 ** 31 - 1],
  uint32: [0, 2 ** 32 - 1],
};

export class UnsupportedSchemaError extends Error {
  override name = 'UnsupportedSchemaError';
}
const unsupported = (path: string, what: string) =>
  new UnsupportedSchemaError(`fast validator: ${what} at ${path || '(root)'} is not supported — extend fast-validator.ts or simplify the schema`);

/** The context a transform receives: reused, so a transform costs no allocation. */
interface TransformContext {
  value: unknown;
  issues: unknown[];
  failed: boolean;
  addIssue(): void;
}

/** Generates the body of one parser: statements that turn variable `x` into its output or fail. */
class Emitter {
  readonly externals: unknown[] = [];
  #temps = 0;
  #labels = 0;

  /** A name for `value` in the generated code (a constant of the closure, not an array lookup). */
  ref(value: unknown): string {
    this.externals.push(value);
    return `e${this.externals.length - 1}`;
  }

  temp(): string {
    return `t${this.#temps++}`;
  }

  label(): string {
    return `l${this.#labels++}`;
  }

  /** Statements validating/transforming variable `x` per `schema`; `fail` leaves the happy path. */
  node(schema: z.ZodType | undefined, x: string, fail: string, path: string): string {
    if (schema === undefined) throw unsupported(path, 'a missing schema');
    const def = internals(schema).def;
    switch (def.type) {
      case 'string': {
        const coerce = def.coerce === true ? `if (${x} !== undefined && ${x} !== null) ${x} = String(${x});\n` : '';
        // String formats (z.iso.date(), z.email()) are schemas that are their own check.
        const self = typeof def.check === 'string' ? this.check(def, undefined, x, fail, path) : '';
        return `${coerce}if (typeof ${x} !== 'string') ${fail}\n${self}${this.checks(def, x, fail, path)}`;
      }
      case 'number': {
        const coerce = def.coerce === true ? `${x} = Number(${x});\n` : '';
        const self = typeof def.check === 'string' ? this.check(def, undefined, x, fail, path) : '';
        return `${coerce}if (typeof ${x} !== 'number' || !Number.isFinite(${x})) ${fail}\n${self}${this.checks(def, x, fail, path)}`;
      }
      case 'enum': {
        const values = Object.values(def.entries as Record<string, unknown>);
        if (!values.every((v) => typeof v === 'string')) throw unsupported(path, 'an enum with non-string values');
        return `if (!${this.ref(new Set(values))}.has(${x})) ${fail}\n`;
      }
      case 'literal':
        return `if (!${this.ref(new Set(def.values as unknown[]))}.has(${x})) ${fail}\n`;
      case 'optional':
        return `if (${x} !== undefined) {\n${this.node(def.innerType as z.ZodType, x, fail, path)}}\n`;
      case 'nullable':
        return `if (${x} !== null) {\n${this.node(def.innerType as z.ZodType, x, fail, path)}}\n`;
      case 'pipe':
        return this.node(def.in as z.ZodType, x, fail, path) + this.node(def.out as z.ZodType, x, fail, path);
      case 'transform': {
        // .transform(Number) (how a CSV cell becomes a number): the exact equivalent, inline, and
        // no context to set up — Number never reports an issue nor returns a promise.
        if (def.transform === Number) return `${x} = ${this.ref(numberOf)}(${x});\n`;
        const fn = this.ref(def.transform);
        const ctx: TransformContext = {
          value: undefined,
          issues: [],
          failed: false,
          addIssue() {
            ctx.failed = true;
          },
        };
        const c = this.ref(ctx);
        // A transform that reports an issue (or is async) is a rejection: zod will say why.
        return `${c}.value = ${x}; ${c}.failed = false; ${x} = ${fn}(${x}, ${c});\nif (${c}.failed || ${x} instanceof Promise) ${fail}\n`;
      }
      case 'union': {
        if (def.inclusive === false) throw unsupported(path, 'an exclusive union (z.xor)');
        // zod returns the first option that succeeds: try each on a copy, keep the first that passes.
        const done = this.label();
        let code = `${done}: {\n`;
        for (const option of def.options as z.ZodType[]) {
          const attempt = this.label();
          const y = this.temp();
          code += `${attempt}: { let ${y} = ${x};\n${this.node(option, y, `break ${attempt};`, path)}${x} = ${y}; break ${done}; }\n`;
        }
        return `${code}${fail}\n}\n`;
      }
      case 'object': {
        this.catchall(def, path);
        const shape = def.shape as Record<string, z.ZodType>;
        const keys = Object.keys(shape);
        const vars = keys.map(() => this.temp());
        let code = `if (typeof ${x} !== 'object' || ${x} === null || Array.isArray(${x})) ${fail}\n`;
        keys.forEach((key, i) => {
          code += `let ${vars[i]} = ${x}[${JSON.stringify(key)}];\n${this.node(shape[key], vars[i] as string, fail, path ? `${path}.${key}` : key)}`;
        });
        code += `${x} = {${keys.map((k, i) => `${JSON.stringify(k)}: ${vars[i]}`).join(', ')}};\n`;
        return code + this.checks(def, x, fail, path);
      }
      default:
        throw unsupported(path, `zod type "${def.type}"`);
    }
  }

  catchall(def: Def, path: string): void {
    // Rows carry only the shape's keys, so strip (the default) and strict (catchall never) agree.
    const catchall = def.catchall as z.ZodType | undefined;
    if (catchall !== undefined && internals(catchall).def.type !== 'never') throw unsupported(path, 'an object catchall');
  }

  checks(def: Def, x: string, fail: string, path: string): string {
    return ((def.checks as unknown[] | undefined) ?? []).map((c) => this.check(internals(c).def, internals(c).when, x, fail, path)).join('');
  }

  check(def: Def, when: Internals['when'], x: string, fail: string, path: string): string {
    const body = this.checkBody(def, x, fail, path);
    if (when === undefined || LENGTH_CHECKS.has(def.check as string)) return body;
    return `if (${this.ref(when)}({ value: ${x}, issues: [] })) {\n${body}}\n`;
  }

  checkBody(def: Def, x: string, fail: string, path: string): string {
    switch (def.check) {
      case 'string_format': {
        const pattern = def.pattern;
        if (!PATTERN_FORMATS.has(def.format as string) || !(pattern instanceof RegExp)) throw unsupported(path, `string format "${def.format}"`);
        if (pattern.global || pattern.sticky) throw unsupported(path, 'a global or sticky pattern');
        return `if (!${this.ref(pattern)}.test(${x})) ${fail}\n`;
      }
      // zod measures strings in code points: a pair of surrogates is one. A code point is one or two
      // UTF-16 units, so the units settle most strings, and only the others are counted (as zod does).
      case 'min_length': {
        const n = Number(def.minimum);
        // Fewer than n code points fit in at most 2n - 2 units; for n ≤ 1 the units alone decide
        // (the schema's every `required` is min(1): no count on the row path).
        if (n <= 1) return `if (${x}.length < ${n}) ${fail}\n`;
        return `if (${x}.length < ${n} || (${x}.length < ${2 * n - 1} && ${this.ref(util.codePointLength)}(${x}) < ${n})) ${fail}\n`;
      }
      case 'max_length': {
        const n = Number(def.maximum);
        return `if (${x}.length > ${n} && ${this.ref(util.codePointLength)}(${x}) > ${n}) ${fail}\n`;
      }
      case 'length_equals': {
        const n = Number(def.length);
        return `if (${x}.length < ${n} || ${x}.length > ${2 * n} || ${this.ref(util.codePointLength)}(${x}) !== ${n}) ${fail}\n`;
      }
      case 'greater_than':
        return `if (!(${x} ${def.inclusive ? '>=' : '>'} ${this.ref(def.value)})) ${fail}\n`;
      case 'less_than':
        return `if (!(${x} ${def.inclusive ? '<=' : '<'} ${this.ref(def.value)})) ${fail}\n`;
      case 'number_format': {
        const range = NUMBER_FORMATS[def.format as string];
        if (range === undefined) throw unsupported(path, `number format "${def.format}"`);
        return `if (!Number.isInteger(${x}) || ${x} < ${range[0]} || ${x} > ${range[1]}) ${fail}\n`;
      }
      case 'overwrite':
        return `${x} = ${this.ref(def.tx)}(${x});\n`;
      case 'custom': {
        // .refine(): a predicate. (.superRefine() and .check() keep no predicate here: refused.)
        if (typeof def.fn !== 'function') throw unsupported(path, 'a refinement without a predicate (superRefine/check)');
        const r = this.temp();
        return `const ${r} = ${this.ref(def.fn)}(${x});\nif (!${r} || ${r} instanceof Promise) ${fail}\n`;
      }
      default:
        throw unsupported(path, `check "${String(def.check)}"`);
    }
  }
}

/**
 * Number(x), exactly, without V8's general string-to-double conversion (~3× slower here) in the
 * common case of a CSV cell: an optional "-", then digits with at most one "." between them, 15
 * digits at most. Such a decimal is d / 10^k with d < 10^15 < 2^53 and 10^k exact for k ≤ 22, so
 * one IEEE division rounds it correctly — to the double Number() gives. Anything else ("1e3",
 * " 7", ".5", "1.", 16+ digits, non-strings) is left to Number() itself.
 */
export function numberOf(x: unknown): number {
  if (typeof x !== 'string') return Number(x);
  const n = x.length;
  if (n === 0 || n > 17) return Number(x);
  let i = 0;
  let negative = false;
  if (x.charCodeAt(0) === 45) {
    negative = true;
    i = 1;
  }
  let digits = 0;
  let d = 0;
  let scale = 1;
  let dot = false;
  for (; i < n; i++) {
    const c = x.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      d = d * 10 + (c - 48);
      digits++;
      if (dot) scale *= 10;
    } else if (c === 46 && !dot && digits > 0 && i < n - 1) {
      dot = true;
    } else {
      return Number(x);
    }
  }
  if (digits === 0 || digits > 15) return Number(x);
  const value = dot ? d / scale : d;
  return negative ? -value : value;
}

function build<F>(emitter: Emitter, body: string): F {
  const constants = emitter.externals.map((_, i) => `const e${i} = e[${i}];\n`).join('');
  // The source is generated from the schema's own definition; no input text ever becomes code.
  return new Function('e', 'INVALID', `'use strict';\n${constants}${body}`)(emitter.externals, INVALID) as F;
}

/** A parser for any supported schema: the parsed value, or INVALID. */
export function deriveFastParser(schema: z.ZodType): (value: unknown) => unknown {
  const emitter = new Emitter();
  const code = emitter.node(schema, 'x', 'return INVALID;', '');
  return build(emitter, `return function fastParse(x) {\n${code}return x;\n};`);
}

/**
 * Parses a CSV record as an object schema: `columns[i]` is the record's field for the shape's i-th
 * key, or -1 when the file has no such column (the value is then undefined).
 */
export type RowParser = (fields: readonly string[], columns: readonly number[]) => unknown;

/**
 * The row parser of an object schema, one for every column layout: the layout is an argument, not
 * compiled in. A function per layout starts cold in V8 (interpreted, then optimized after ~100k
 * rows): a file with the columns in another order, or one left out, would pay that warm-up again,
 * and the warm-up done at init (prime.ts) would help the layout it used alone. Reading the column
 * from an array costs a load and a compare per field, next to the checks' regexes.
 */
export function deriveRowParser(schema: z.ZodObject): RowParser {
  const def = internals(schema).def;
  if (def.type !== 'object') throw unsupported('', `a "${def.type}" schema as a row`);
  const emitter = new Emitter();
  emitter.catchall(def, '');
  const shape = def.shape as Record<string, z.ZodType>;
  const keys = Object.keys(shape);
  let code = '';
  keys.forEach((key, i) => {
    code += `const c${i} = c[${i}];\nlet v${i} = c${i} < 0 ? undefined : f[c${i}];\n${emitter.node(shape[key], `v${i}`, 'return INVALID;', key)}`;
  });
  // One object literal: every row object gets the same shape (fast property access downstream).
  code += `let x = {${keys.map((k, i) => `${JSON.stringify(k)}: v${i}`).join(', ')}};\n`;
  code += emitter.checks(def, 'x', 'return INVALID;', '');
  return build(emitter, `return function parseRow(f, c) {\n${code}return x;\n};`);
}

/** The `columns` of a RowParser: per key of the schema's shape, `columnOf(key)` (-1: absent). */
export function columnsOf(schema: z.ZodObject, columnOf: (key: string) => number): number[] {
  return Object.keys(internals(schema).def.shape as Record<string, unknown>).map((key) => columnOf(key));
}

/**
 * Every field of an object schema parsed on its own, for explaining a rejected row
 * (src/explain.ts), which hands zod only the fields this refuses: `parseFields(values, out)` sets
 * out[i] to the parsed value of the shape's i-th key, or INVALID. One function for all the fields,
 * like the row parser: a call per field through an array of parsers costs more than the checks.
 */
export function deriveFieldsParser(schema: z.ZodObject): (values: readonly unknown[], out: unknown[]) => void {
  const def = internals(schema).def;
  if (def.type !== 'object') throw unsupported('', `a "${def.type}" schema as a row`);
  const shape = def.shape as Record<string, z.ZodType>;
  const emitter = new Emitter();
  let code = '';
  Object.keys(shape).forEach((key, i) => {
    const fail = `{ o[${i}] = INVALID; break f${i}; }`;
    code += `f${i}: {\nlet v${i} = v[${i}];\n${emitter.node(shape[key], `v${i}`, fail, key)}o[${i}] = v${i};\n}\n`;
  });
  return build(emitter, `return function parseFields(v, o) {\n${code}};`);
}
