import ignore, { type Ignore } from 'ignore';

/** The name of the ignore files read from every directory of the tree, as in Flux. */
export const SOURCE_IGNORE_FILE = '.sourceignore';

/** Always excluded (Flux's sourceignore.ExcludeVCS, plus the root .git directory). */
export const VCS_PATTERNS = ['.git/', '/.git/', '.gitignore', '.gitmodules', '.gitattributes'];

/** Flux's default exclusions (ExcludeExt, ExcludeCI, ExcludeExtra). */
export const DEFAULT_PATTERNS = [
  '*.jpg', '*.jpeg', '*.gif', '*.png', '*.wmv', '*.flv', '*.tar.gz', '*.zip',
  '.github/', '.circleci/', '.travis.yml', '.gitlab-ci.yml', 'appveyor.yml', '.drone.yml', 'cloudbuild.yaml', 'codeship-services.yml', 'codeship-steps.yml',
  '**/.goreleaser.yml', '**/.sops.yaml', '**/.flux.yaml',
];

/** Patterns read from one place: a .sourceignore in `dir` (`''` is the root, else `apps/`), or spec.ignore. */
export interface PatternSource {
  dir: string;
  text: string;
}

interface Rule {
  dir: string;
  matcher: Ignore;
}

/**
 * Decides which paths go into the artifact, the way Flux's source-controller does:
 * - the VCS patterns always apply;
 * - .sourceignore files (root first, then subdirectories depth-first by name), then spec.ignore,
 *   each pattern scoped to its file's directory;
 * - Flux's default exclusions apply only when those give no pattern at all: a .sourceignore or
 *   spec.ignore replaces them (so `!*.png` is not needed to ship images once you write your own);
 * - the last pattern that matches a path decides (gitignore order, go-git's matcher).
 */
export function ignoreMatcher(sources: readonly PatternSource[]): (path: string) => boolean {
  const custom = sources.flatMap(({ dir, text }) => readPatterns(text).map((p) => rule(dir, p)));
  const base = [...VCS_PATTERNS, ...(custom.length === 0 ? DEFAULT_PATTERNS : [])].map((p) => rule('', p));
  const rules = [...base, ...custom];
  return (path) => {
    for (let i = rules.length - 1; i >= 0; i--) {
      const { dir, matcher } = rules[i]!;
      if (!path.startsWith(dir)) continue;
      const result = matcher.test(path.slice(dir.length));
      if (result.ignored) return true;
      if (result.unignored) return false;
    }
    return false;
  };
}

/** One pattern per line; `#` comments and blank lines skipped (Flux's sourceignore.ReadPatterns). */
function readPatterns(text: string): string[] {
  return text.split(/\r?\n/).filter((line) => !line.startsWith('#') && line.trim() !== '');
}

function rule(dir: string, pattern: string): Rule {
  // One matcher per pattern, so that the last match across files decides, as in go-git.
  return { dir, matcher: ignore({ ignorecase: false }).add(pattern) };
}
