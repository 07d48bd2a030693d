export { buildKustomization, BuildError, type BuildSpec, type BuildOptions } from './build.ts';
export { confine, ConfinementError } from './confine.ts';
export { substitute, checkVarNames, SubstitutionError, SUBSTITUTE_ANNOTATION, VAR_NAME } from './substitute.ts';
