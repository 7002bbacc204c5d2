import { z } from 'zod';
import { ConfigError, InputValidationError, issuesOf } from './errors.ts';

/** Validates the environment once, at init; a bad or missing variable fails the cold start by name. */
export function loadConfig<S extends z.ZodType>(schema: S, env: NodeJS.ProcessEnv = process.env): z.output<S> {
  const parsed = schema.safeParse(env);
  if (parsed.success) return parsed.data;
  const lines = parsed.error.issues.map((i) => {
    const name = i.path.map(String).join('.') || '(environment)';
    const value = typeof i.path[0] === 'string' ? env[i.path[0]] : undefined;
    return `${name}: ${value === undefined ? 'missing' : 'invalid'} — ${i.message}`;
  });
  throw new ConfigError(`invalid configuration:\n  ${lines.join('\n  ')}`);
}

/** Parses an event (or part of one) against a schema; failure is a client error naming every field. */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown, what = 'event'): z.output<S> {
  const parsed = schema.safeParse(input);
  if (!parsed.success) throw new InputValidationError(issuesOf(parsed.error), what);
  return parsed.data;
}

/** Environment values are strings; these read them as what they mean. */
/**
 * A whole number, written as one: `Number()` (z.coerce) would take "0x10", "1e2", " 7 " and "8.0",
 * so a mistyped setting would pass the cold start as some other number.
 */
export const envInt = (min: number, max: number) =>
  z
    .string()
    .regex(/^-?\d+$/, 'expected a whole number in decimal digits')
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));
export const envBool = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');
/**
 * An endpoint setting (AWS_ENDPOINT_URL…): http or https only. zod's plain `url()` takes
 * `localhost:8000` (a missing `http://`) as a URL of scheme `localhost:`, which then passed the
 * cold start and failed every request with the SDK's UnknownError instead of naming the variable.
 */
export const envEndpointUrl = z.url({ protocol: /^https?$/, error: 'expected an http:// or https:// URL' });
