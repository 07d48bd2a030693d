import { parseArgs, type ParseArgsConfig } from 'node:util';

type ParseArgsOptionsConfig = NonNullable<ParseArgsConfig['options']>;

/** Flags every command takes. */
export const commonOptions: ParseArgsOptionsConfig = {
  state: { type: 'string' },
  cluster: { type: 'string' },
  namespace: { type: 'string', short: 'n' },
  help: { type: 'boolean', short: 'h' },
};

/** Parsed flags: strings for string options, booleans for switches, arrays for `multiple`. */
export interface Parsed {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- each command knows its own flags' types
  values: Record<string, any>;
  positionals: string[];
}

export function parse(args: string[], options: ParseArgsOptionsConfig): Parsed {
  try {
    const { values, positionals } = parseArgs({ args, options: { ...commonOptions, ...options }, allowPositionals: true, strict: true });
    return { values, positionals };
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

export class UsageError extends Error {
  override readonly name = 'UsageError';
}
