// The micro-benchmarks' task: sum `input.n` integers (0 = return at once), an async function as
// users write them. Plain ESM JavaScript: the runtime imports it without a TypeScript loader.
export default async function sum(input) {
  let s = 0;
  for (let k = 0; k < input.n; k++) s = (s + (k ^ input.i)) | 0;
  return s;
}
