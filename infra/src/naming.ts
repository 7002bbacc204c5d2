import { MAX_STAGE_CHARS, PROJECT, STAGE_PATTERN } from '@laminar/spec';

export { PROJECT, resourceName } from '@laminar/spec';

/**
 * Names the bootstrap stack (bootstrap.ts) gives its own resources where a stage's name would go:
 * the stack `laminar-bootstrap` with its state key `laminar/bootstrap.tfstate`, and the state bucket
 * `laminar-tfstate-<account>-<region>`. A stage called so would get them: its deploy role manages
 * buckets `laminar-<stage>-*` and reads and writes the state key `laminar/<stage>.tfstate`.
 */
export const RESERVED_STAGES: readonly string[] = ['bootstrap', 'tfstate'];

/**
 * Stages end up inside bucket, role and function names, which have tight length and charset
 * limits (S3: 63, IAM role and Lambda: 64). A short lower-case stage keeps every derived name
 * valid: function specs leave room for the longest (@laminar/spec's resource-name.ts).
 */
export function assertStage(stage: string): string {
  if (!STAGE_PATTERN.test(stage)) {
    throw new Error(`stage "${stage}" must match ${STAGE_PATTERN} (lower-case letters, digits and inner hyphens, at most ${MAX_STAGE_CHARS} characters)`);
  }
  if (RESERVED_STAGES.includes(stage)) {
    throw new Error(
      `stage "${stage}" is reserved: the bootstrap stack names its own resources with it (${PROJECT}-${stage}…), and that stage's deploy role would control them; choose another name (reserved: ${RESERVED_STAGES.join(', ')})`,
    );
  }
  return stage;
}

export function stackName(stage: string): string {
  return `${PROJECT}-${stage}`;
}

