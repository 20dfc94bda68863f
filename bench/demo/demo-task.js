// The demo's task module: the seed's fake crawler (sleep 0.2-1 s, then sum 100k-500k integers).
export { crawl as default } from '../workload.js';
