// The capacity server as a program: prints its port as the first line of stdout, then serves
// until SIGINT/SIGTERM (or, with --exit-with-stdin, until its stdin closes, so a parent that dies
// cannot leave it behind); on the way out it prints its stats as one JSON line on stdout.
//
//   node --import tsx bench/capacity/server.ts --capacity 64 --service-ms 40 --backlog 256 \
//     [--schedule "0:64,10:32,20:64"] [--port 0] [--exit-with-stdin]
import { parseArgs } from 'node:util';
import { parseSchedule, startCapacityServer } from './capacity-server.ts';

const { values } = parseArgs({
  options: {
    capacity: { type: 'string', default: '64' },
    'service-ms': { type: 'string', default: '40' },
    backlog: { type: 'string', default: '256' },
    schedule: { type: 'string', default: '' },
    port: { type: 'string', default: '0' },
    'exit-with-stdin': { type: 'boolean', default: false },
  },
});

function number(name: string, text: string): number {
  const value = Number(text);
  if (text.trim() === '' || !(value >= 0)) {
    throw new TypeError(`--${name} wants a number >= 0, got ${JSON.stringify(text)}`);
  }
  return value;
}

const server = await startCapacityServer({
  capacity: number('capacity', values.capacity),
  serviceMs: number('service-ms', values['service-ms']),
  backlog: number('backlog', values.backlog),
  schedule: parseSchedule(values.schedule),
  port: number('port', values.port),
});
process.stdout.write(`${server.port}\n`);

let closing = false;
const shutdown = () => {
  if (closing) return;
  closing = true;
  const stats = server.stats();
  server
    .close()
    .then(() => process.stdout.write(`${JSON.stringify(stats)}\n`, () => process.exit(0)));
};
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);
if (values['exit-with-stdin']) process.stdin.on('end', shutdown).on('close', shutdown).resume();
