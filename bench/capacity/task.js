// The capacity benchmark's task: GET the input's URL from the capacity server with Node's fetch,
// then a little CPU work on the body (its digest, `rounds` times over). The value carries the
// index and the digest, so the benchmark can check every record against item.js.
//
// Input: { i, url, rounds?, timeoutMs? }. A request that has no full answer within timeoutMs
// fails with ERR_CAPACITY_TIMEOUT, as a real client gives up on a server that does not answer.
import { digest } from './item.js';

export default async function capacityTask(input) {
  const { i, url, rounds = 16, timeoutMs = 10_000 } = input;
  const signal = AbortSignal.timeout(timeoutMs);
  let text;
  try {
    const response = await fetch(url, { signal });
    text = await response.text();
    if (response.status !== 200) {
      throw Object.assign(new Error(`GET ${url}: HTTP ${response.status}`), {
        code: `ERR_CAPACITY_HTTP_${response.status}`,
      });
    }
  } catch (error) {
    // The abort's DOMException has a numeric code; a string code says what happened in the record.
    if (signal.aborted) {
      throw Object.assign(new Error(`GET ${url}: no answer within ${timeoutMs} ms`), {
        code: 'ERR_CAPACITY_TIMEOUT',
        cause: error,
      });
    }
    throw error;
  }
  return { i, bytes: text.length, digest: digest(text, rounds) };
}
