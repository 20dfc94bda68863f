// Task module for polyloop, piscina, tinypool and the batched floor: the workload's `crawl`
// itself, so that every contestant runs the very same async function per input (one-loop and
// static call it directly). A wrapper here (`async (input) => crawl(input)`) would add a promise
// and the ticks of returning one from an async function to each task of the pools only.
export { crawl as default } from '../workload.js';
