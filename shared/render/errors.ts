/** The source did not build: the message says where and why. Nothing was applied. */
export class BuildError extends Error {
  override readonly name = 'BuildError';
}
