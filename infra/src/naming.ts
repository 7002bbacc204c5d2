import { MAX_STAGE_CHARS, PROJECT, STAGE_PATTERN } from '@laminar/spec';

export { PROJECT, resourceName } from '@laminar/spec';

/**
 * Stages end up inside bucket, role and function names, which have tight length and charset
 * limits (S3: 63, IAM role and Lambda: 64). A short lower-case stage keeps every derived name
 * valid: function specs leave room for the longest (@laminar/spec's resource-name.ts).
 */
export function assertStage(stage: string): string {
  if (!STAGE_PATTERN.test(stage)) {
    throw new Error(`stage "${stage}" must match ${STAGE_PATTERN} (lower-case letters, digits and inner hyphens, at most ${MAX_STAGE_CHARS} characters)`);
  }
  return stage;
}

export function stackName(stage: string): string {
  return `${PROJECT}-${stage}`;
}

