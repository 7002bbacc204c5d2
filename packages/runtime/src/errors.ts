import type { z } from 'zod';

/**
 * The caller sent something we will never accept: retrying cannot help. Handlers throw it for bad
 * input; the wrapper logs it at WARN and rethrows so the caller (or the async DLQ) sees the reason.
 */
export class ClientError extends Error {
  override name = 'ClientError';
  constructor(
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

export class InputValidationError extends ClientError {
  override name = 'InputValidationError';
  constructor(
    readonly issues: { path: string; message: string }[],
    what = 'event',
  ) {
    super(`invalid ${what}: ${issues.map((i) => `${i.path || '(root)'}: ${i.message}`).join('; ')}`, { issues });
  }
}

/** The environment's configuration is unusable: the cold start fails, naming every bad variable. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** The invocation stopped itself before Lambda's hard timeout would have killed it mid-write. */
export class DeadlineExceededError extends Error {
  override name = 'DeadlineExceededError';
}

export function issuesOf(error: z.ZodError): { path: string; message: string }[] {
  return error.issues.map((i) => ({ path: i.path.map(String).join('.'), message: i.message }));
}
