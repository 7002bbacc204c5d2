import { PROJECT } from '@laminar/spec';

export { PROJECT, resourceName } from '@laminar/spec';

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

