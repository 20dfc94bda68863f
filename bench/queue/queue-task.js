// The queue benchmark's task: a fixed amount of CPU work (sum `n` integers), no I/O, so what a
// queue adds per task shows against `polyloop run` on the same work.
import { spin } from '../workload.js';

export default function queueBenchTask(input) {
  return spin(input.n, input.i);
}
