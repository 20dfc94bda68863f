// A trivial async task: all the time a call takes is the pool's own.
export default async function trivial(input) {
  return input;
}
