/** URL lists for a crawl of the test site: its pages, optionally with a bad URL every so often. */
import { pageUrl, type SiteShape } from './pages.ts';

/** One of each kind of bad response the site can give (none that makes the client wait long). */
export const BAD_PATHS: readonly string[] = [
  '/status/404',
  '/status/410',
  '/status/500',
  '/status/503',
  '/redirect/9/page/7',
  '/redirect-loop',
  '/image.png',
  '/data.json',
  '/big',
  '/big/chunked',
  '/reset',
];

/**
 * `count` URLs: page i for the i-th (wrapping around the site), except that with `badEvery` = k
 * every k-th URL is the next path of BAD_PATHS instead.
 */
export function siteUrls(site: SiteShape, count: number, badEvery = 0): string[] {
  const urls: string[] = [];
  let bad = 0;
  for (let i = 0; i < count; i++) {
    if (badEvery > 0 && i % badEvery === badEvery - 1) {
      const origin = site.origins[i % site.origins.length]!;
      urls.push(origin + BAD_PATHS[bad++ % BAD_PATHS.length]!);
    } else {
      urls.push(pageUrl(site, i % site.pages));
    }
  }
  return urls;
}
