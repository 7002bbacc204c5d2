// Plain JavaScript: shared by the execution environment (child) and the runner.

/**
 * An error as Lambda's Node.js runtime reports it in the invocation response: `trace` is the stack
 * split into lines. Non-Error throws are reported by their type, as the runtime does.
 * @param {unknown} error
 * @returns {import('./errors.d.mts').LambdaError}
 */
export function toLambdaError(error) {
  try {
    if (error instanceof Error || (error && typeof error === 'object' && 'message' in error && 'name' in error)) {
      const e = /** @type {Error} */ (error);
      return {
        errorType: String(e.name),
        errorMessage: String(e.message),
        trace: typeof e.stack === 'string' ? e.stack.split('\n') : [],
      };
    }
    return { errorType: typeof error, errorMessage: String(error), trace: [] };
  } catch {
    return { errorType: 'handled', errorMessage: 'the thrown value could not be read', trace: [] };
  }
}

/**
 * Classifies a failure to load the handler module the way Lambda names it; anything the module
 * threw itself keeps its own name.
 * @param {unknown} error
 * @returns {import('./errors.d.mts').LambdaError}
 */
export function toInitError(error) {
  const base = toLambdaError(error);
  const code = error && typeof error === 'object' && 'code' in error ? error.code : undefined;
  if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND' || code === 'ERR_UNSUPPORTED_DIR_IMPORT') {
    return { ...base, errorType: 'Runtime.ImportModuleError', errorMessage: `${base.errorType}: ${base.errorMessage}` };
  }
  if (base.errorType === 'SyntaxError') {
    return { ...base, errorType: 'Runtime.UserCodeSyntaxError', errorMessage: `SyntaxError: ${base.errorMessage}` };
  }
  return base;
}
