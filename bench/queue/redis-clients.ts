/**
 * Who is connected to Redis, from CLIENT LIST: how the queue bench and the outage tests know that
 * a process they started has connected and looked at the queue, without waiting a set time.
 */
import type { Queue } from 'bullmq';

/** What a connection sends before any command of its own: ioredis's ready check and handshake. */
const HANDSHAKE = new Set(['NULL', 'info', 'select', 'auth', 'hello']);

/** The ids of the clients connected to Redis now. */
export async function clientIds(queue: Queue): Promise<Set<string>> {
  return new Set(clientList(await clientListText(queue)).map((c) => c.id ?? ''));
}

/**
 * Whether a connection that was not there `before` has sent a command of its own: the process
 * started meanwhile has loaded BullMQ, connected and looked at the queue.
 */
export async function newClientLooking(probe: Queue, before: Set<string>): Promise<boolean> {
  return clientList(await clientListText(probe)).some(
    (c) =>
      !before.has(c.id ?? '') && !HANDSHAKE.has(c.cmd ?? 'NULL') && !c.cmd?.startsWith('client'),
  );
}

async function clientListText(queue: Queue): Promise<string> {
  return (await queue.client).clientList();
}

/** CLIENT LIST as one record of fields per connection. */
function clientList(text: string): Record<string, string>[] {
  return text
    .trim()
    .split('\n')
    .map((line) => Object.fromEntries(line.split(' ').map((kv) => kv.split(/=(.*)/s, 2))));
}
