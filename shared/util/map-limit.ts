/** Maps with at most `limit` calls in flight, keeping the input's order. */
export async function mapLimit<I, O>(input: readonly I[], limit: number, fn: (item: I, index: number) => Promise<O>): Promise<O[]> {
  const out = new Array<O>(input.length);
  let next = 0;
  const worker = async () => {
    while (next < input.length) {
      const i = next++;
      out[i] = await fn(input[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(Math.max(1, limit), input.length) }, worker));
  return out;
}
