/** The error body of a failed invocation, as Lambda's Node.js runtime returns it. */
export interface LambdaError {
  errorType: string;
  errorMessage: string;
  trace: string[];
}

export function toLambdaError(error: unknown): LambdaError;
export function toInitError(error: unknown): LambdaError;
