// Task module for polyloop, piscina and tinypool: all three call the default export per input.
import { crawl } from '../workload.js';

export default async function fakeCrawler(input) {
  return crawl(input);
}
