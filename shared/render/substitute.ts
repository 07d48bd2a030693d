/**
 * Flux's post-build variable substitution (spec.postBuild.substitute / substituteFrom), applied to
 * each rendered object's YAML: `${var}`, `${var:=default}` and `${var:-default}` (default when unset
 * or empty), `${var=default}` and `${var-default}` (default when unset); `$${var}` is left as the
 * literal `${var}`. An unset variable without a default becomes empty, as in Flux, or is an error
 * in strict mode. Objects annotated `kustomize.toolkit.fluxcd.io/substitute: disabled` are skipped.
 */

export const SUBSTITUTE_ANNOTATION = 'kustomize.toolkit.fluxcd.io/substitute';

/** Flux's rule for variable names. */
export const VAR_NAME = /^[_a-zA-Z][_a-zA-Z0-9]*$/;

export class SubstitutionError extends Error {
  override readonly name = 'SubstitutionError';
}

const EXPR = /\$(\$?)\{([^{}]*)\}/g;

export function checkVarNames(vars: Record<string, string>, where: string): void {
  for (const name of Object.keys(vars)) {
    if (!VAR_NAME.test(name)) {
      throw new SubstitutionError(`${where}: variable name ${JSON.stringify(name)} is invalid: use letters, digits and "_", not starting with a digit`);
    }
  }
}

export function substitute(text: string, vars: Readonly<Record<string, string>>, options: { strict?: boolean; where?: string } = {}): string {
  return text.replace(EXPR, (whole, escaped: string, body: string) => {
    if (escaped) return whole.slice(1); // $${x} -> ${x}
    const m = /^([_a-zA-Z][_a-zA-Z0-9]*)(?:(:?[=-])([\s\S]*))?$/.exec(body);
    if (!m) return whole; // not a variable expression (e.g. ${1}); leave it alone
    const [, name, op, fallback] = m as unknown as [string, string, string | undefined, string | undefined];
    const value = Object.prototype.hasOwnProperty.call(vars, name) ? vars[name] : undefined;
    if (op) {
      const useDefault = op.startsWith(':') ? value === undefined || value === '' : value === undefined;
      return useDefault ? fallback ?? '' : value!;
    }
    if (value === undefined) {
      if (options.strict) throw new SubstitutionError(`${options.where ?? 'substitution'}: variable ${name} is not set and has no default (write \${${name}:=default} or set it in postBuild.substitute)`);
      return '';
    }
    return value;
  });
}
