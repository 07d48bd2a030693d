import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root. */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Where slow builds are cached across runs: `$TIDE_CACHE`, else `$XDG_CACHE_HOME/tide`, else `~/.cache/tide`. */
export function cacheDir(): string {
  return process.env.TIDE_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'tide');
}

export const rigScript = (name: string): string => join(repoRoot, 'test', 'rig', name);
