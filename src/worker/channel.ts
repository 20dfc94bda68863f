import { parentPort } from 'node:worker_threads';
import type {
  MainToChannel,
  MainToChild,
  MainToWorker,
  WorkerInit,
  WorkerToMain,
} from '../protocol/messages.js';

/** How a worker talks to the pool: a thread's port, or a child process's IPC channel. */
export interface Channel {
  post(message: WorkerToMain): void;
  onMessage(handler: (message: MainToWorker) => void): void;
}

export function threadChannel(): Channel {
  const port = parentPort!;
  return {
    post: (message) => port.postMessage(message),
    onMessage: (handler) =>
      port.on('message', (message: MainToChannel) => unbundle(message, handler)),
  };
}

/**
 * IPC messages are events, not a queue: one that arrives before the runtime listens (a 'close'
 * while the task module is still importing) would be lost, so hold them until it does.
 */
export function processChannel(onInit: (init: WorkerInit) => void): Channel {
  const early: MainToChannel[] = [];
  let deliver: ((message: MainToChannel) => void) | undefined;
  process.on('message', (message: MainToChild) => {
    if (message.type === 'init') onInit(message.init);
    else if (deliver) deliver(message);
    else early.push(message);
  });
  return {
    post: (message) => process.send!(message),
    onMessage: (handler) => {
      deliver = (message) => unbundle(message, handler);
      for (const message of early.splice(0)) deliver(message);
    },
  };
}

/** Hand the 'run' messages of a bundle over one by one, and any other message as it is. */
function unbundle(message: MainToChannel, handler: (message: MainToWorker) => void): void {
  if (message.type !== 'runs') {
    handler(message);
    return;
  }
  const { batches, inputs, sentAt } = message;
  for (let i = 0; i < batches.length; i++) {
    handler({ type: 'run', batch: batches[i]!, inputs: inputs[i]!, sentAt });
  }
}
