// The test site as a program: prints its first origin's URL as the first line of stdout, then
// serves until SIGINT/SIGTERM (or, with --exit-with-stdin, until its stdin closes: a parent that
// dies cannot leave it behind).
//
//   node --import tsx examples/crawler/site/main.ts --pages 20000 --latency 200-1000 --port 0
import { parseArgs } from 'node:util';
import { startSite } from './server.ts';

const { values } = parseArgs({
  options: {
    pages: { type: 'string', default: '1000' },
    latency: { type: 'string', default: '0-0' },
    port: { type: 'string', default: '0' },
    origins: { type: 'string', default: '8' },
    'exit-with-stdin': { type: 'boolean', default: false },
  },
});

function integer(name: string, text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0) {
    throw new TypeError(`--${name} wants an integer >= 0, got ${JSON.stringify(text)}`);
  }
  return value;
}

const [min, max = min] = values.latency.split('-');
const site = await startSite({
  pages: integer('pages', values.pages),
  latencyMs: [integer('latency', min ?? ''), integer('latency', max ?? '')],
  port: integer('port', values.port),
  origins: integer('origins', values.origins),
});
process.stdout.write(`${site.url}\n`);
process.stderr.write(
  `test site: ${site.pages} pages, latency ${site.latencyMs.join('-')} ms, origins ${site.origins.join(' ')}\n`,
);

let closing = false;
const shutdown = () => {
  if (closing) return;
  closing = true;
  site.close().then(() => process.exit(0));
};
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);
if (values['exit-with-stdin']) process.stdin.on('end', shutdown).on('close', shutdown).resume();
