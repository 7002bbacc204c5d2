/** Every resource name starts with this, so one account can host several projects side by side. */
export const PROJECT = 'laminar';

const STAGE = /^[a-z](?:[a-z0-9-]{0,10}[a-z0-9])?$/;

/**
 * Stages end up inside bucket, role and function names, which have tight length and charset
 * limits (S3: 63, IAM role and Lambda: 64). A short lower-case stage keeps every derived name valid.
 */
export function assertStage(stage: string): string {
  if (!STAGE.test(stage)) {
    throw new Error(`stage "${stage}" must match ${STAGE} (lower-case letters, digits and inner hyphens, at most 12 characters)`);
  }
  return stage;
}

export function stackName(stage: string): string {
  return `${PROJECT}-${stage}`;
}

export function resourceName(stage: string, name: string, limit = 64): string {
  const full = `${PROJECT}-${stage}-${name}`;
  if (full.length > limit) throw new Error(`resource name "${full}" is longer than ${limit} characters`);
  return full;
}
