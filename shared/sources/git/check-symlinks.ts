import { GitSourceError } from './errors.ts';

const MAX_HOPS = 40; // as Linux's limit on symlinks followed in one lookup

/**
 * Fails with UnsafePath when a symlink that goes into the artifact points outside the tree once
 * unpacked: an absolute target, or `..` climbing above the root. Resolution is physical, as the
 * kernel does it: a `..` after a symlinked directory leaves that directory's target, not the link,
 * so `a -> sub/up/..` with `sub/up -> ..` is caught. `links` maps every symlink of the tree to its
 * target; `check` lists those that are packed.
 */
export function checkSymlinks(subject: string, links: ReadonlyMap<string, string>, check: Iterable<string>): void {
  for (const path of check) {
    const target = links.get(path);
    if (target === undefined) continue;
    const why = escape(path, target, links);
    if (why) {
      throw new GitSourceError('UnsafePath', `${subject}: symlink ${JSON.stringify(path)} -> ${JSON.stringify(target)} ${why}: make it relative and inside the repository, or ignore it in .sourceignore or spec.ignore`);
    }
  }
}

function escape(path: string, target: string, links: ReadonlyMap<string, string>): string | undefined {
  const stack = path.split('/').slice(0, -1);
  let pending = [target];
  let hops = 0;
  while (pending.length > 0) {
    const next = pending.shift()!;
    if (next.startsWith('/')) return 'is absolute';
    const parts = next.split('/');
    if (parts.length > 1) {
      pending = [...parts, ...pending];
      continue;
    }
    const part = parts[0]!;
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (stack.length === 0) return 'points outside the repository';
      stack.pop();
      continue;
    }
    stack.push(part);
    const link = links.get(stack.join('/'));
    if (link !== undefined) {
      if (++hops > MAX_HOPS) return 'is part of a symlink loop';
      stack.pop();
      pending = [link, ...pending];
    }
  }
  return undefined;
}
