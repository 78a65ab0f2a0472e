/**
 * ConfigError is the operating error for bad member configuration (flags, `CONCORD_*` environment
 * variables, the config file). Its message is ONE line that names the flag (or variable, or file
 * key) and the bad value, and says what was expected, so `concord start` can print it as is.
 */

/** CONFIG_ERROR_CODE is the stable code of every ConfigError. */
export const CONFIG_ERROR_CODE = 'CONCORD_CONFIG';

/** ConfigError reports bad configuration; `code` is stable, `message` is one line for people. */
export class ConfigError extends Error {
  override name = 'ConfigError';
  readonly code = CONFIG_ERROR_CODE;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** isConfigError tests for a ConfigError (also across module copies, by code). */
export function isConfigError(error: unknown): error is ConfigError {
  return error instanceof ConfigError ||
    (error instanceof Error && (error as { code?: unknown }).code === CONFIG_ERROR_CODE);
}
