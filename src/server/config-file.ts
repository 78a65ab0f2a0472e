/**
 * The member config file: etcd's YAML format (`name: m1`, `data-dir: /var/lib/concord`,
 * `initial-cluster: m1=http://...,m2=http://...`), restricted to the keys Concord supports. This
 * module only reads and shapes the file; `parseMemberConfig` (config.ts) validates the values with
 * the same rules as flags and environment variables.
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { ConfigError } from './config-error.js';

/** ConfigFileValues are the settings found in one config file, each value as text. */
export interface ConfigFileValues {
  /** path is the file as the operator named it (used in error messages). */
  readonly path: string;
  /** values maps a key (an etcd flag name without dashes) to its text; null keys are left out. */
  readonly values: ReadonlyMap<string, string>;
}

/** CONFIG_FILE_BYTES_MAX bounds the config file; a larger file is a mistake, not a config. */
export const CONFIG_FILE_BYTES_MAX = 1024 * 1024;

/** readConfigFile reads and shapes the YAML config file at `path`; throws ConfigError. */
export function readConfigFile(path: string, knownKeys: readonly string[]): ConfigFileValues {
  let text: string;
  try {
    const bytes = readFileSync(path);
    if (bytes.length > CONFIG_FILE_BYTES_MAX) {
      throw new ConfigError(`config file "${path}" is larger than ${CONFIG_FILE_BYTES_MAX} bytes`);
    }
    text = bytes.toString('utf8');
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new ConfigError(`cannot read config file "${path}": ${reason}`, { cause: error });
  }
  return parseConfigFileText(text, path, knownKeys);
}

/**
 * parseConfigFileText shapes the YAML `text` of config file `path`: the top level must be a
 * mapping whose keys are all in `knownKeys`; a value is a string, a number (written as text) or,
 * for list settings, a sequence of strings (joined with commas as on the command line); a null
 * value (`key:` with nothing after it, as in etcd's sample file) means "not set".
 */
export function parseConfigFileText(text: string, path: string, knownKeys: readonly string[]): ConfigFileValues {
  let document: unknown;
  try {
    document = parseYaml(text);
  } catch (error) {
    const firstLine = ((error as Error).message.split('\n', 1)[0] ?? '').replace(/:$/, '');
    throw new ConfigError(`invalid config file "${path}": ${firstLine}`, { cause: error });
  }
  const values = new Map<string, string>();
  if (document === null || document === undefined) return { path, values };
  if (typeof document !== 'object' || Array.isArray(document)) {
    throw new ConfigError(`invalid config file "${path}": expected a mapping of etcd keys (name: m1, data-dir: ...)`);
  }
  for (const [key, value] of Object.entries(document)) {
    if (!knownKeys.includes(key)) {
      throw new ConfigError(`unknown key "${key}" in config file "${path}" (supported: ${knownKeys.join(', ')})`);
    }
    if (value === null) continue;
    if (typeof value === 'string') values.set(key, value);
    else if (typeof value === 'number' && Number.isFinite(value)) values.set(key, String(value));
    else if (Array.isArray(value) && value.every((item) => typeof item === 'string')) values.set(key, value.join(','));
    else {
      const kind = Array.isArray(value) ? 'a list with non-string items' : typeof value === 'object' ? 'a mapping' : `a ${typeof value}`;
      throw new ConfigError(`invalid ${key} in config file "${path}": expected a string or a number, not ${kind}`);
    }
  }
  return { path, values };
}
