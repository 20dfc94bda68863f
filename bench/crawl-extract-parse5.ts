/**
 * The crawler's extraction written on parse5 (a full spec-compliant tree, then a walk), to
 * measure against the htmlparser2 extractor the crawler uses. Same rules: ../examples/crawler/page-info.ts.
 */
import { type DefaultTreeAdapterTypes, html as htmlSpec, parse } from 'parse5';
import {
  collapseWhitespace,
  HIDDEN_ELEMENTS,
  LinkCollector,
  type PageInfo,
  WordCounter,
} from '../examples/crawler/page-info.ts';

type Node = DefaultTreeAdapterTypes.Node;
type Element = DefaultTreeAdapterTypes.Element;

function attribute(element: Element, name: string): string | undefined {
  for (const attr of element.attrs) if (attr.name === name) return attr.value;
  return undefined;
}

function textOf(element: Element): string {
  let text = '';
  for (const child of element.childNodes) {
    if (child.nodeName === '#text') text += (child as DefaultTreeAdapterTypes.TextNode).value;
  }
  return text;
}

export function extractPageParse5(html: string, documentUrl: string): PageInfo {
  const document = parse(html);
  const links = new LinkCollector(documentUrl);
  const words = new WordCounter();
  let title: string | null = null;
  let description: string | null = null;

  // Depth-first, in document order, without recursion (deep markup must not overflow the stack).
  const stack: Node[] = [...document.childNodes].reverse();
  while (stack.length > 0) {
    const node = stack.pop()!;
    if (node.nodeName === '#text') {
      words.boundary();
      words.feed((node as DefaultTreeAdapterTypes.TextNode).value);
      continue;
    }
    words.boundary();
    if (!('tagName' in node)) continue; // comments, doctype
    const element = node as Element;
    const name = element.tagName;
    const inHtml = element.namespaceURI === htmlSpec.NS.HTML;
    if (inHtml) {
      if (HIDDEN_ELEMENTS.has(name)) continue;
      if (name === 'title') {
        if (title === null) title = collapseWhitespace(textOf(element));
        continue;
      }
      if (name === 'a') {
        const href = attribute(element, 'href');
        if (href !== undefined) links.add(href);
      } else if (name === 'base') {
        const href = attribute(element, 'href');
        if (href !== undefined) links.setBase(href);
      } else if (name === 'meta' && description === null) {
        const content = attribute(element, 'content');
        if (content !== undefined && attribute(element, 'name')?.toLowerCase() === 'description') {
          description = collapseWhitespace(content);
        }
      }
    }
    const children = element.childNodes;
    for (let i = children.length - 1; i >= 0; i--) stack.push(children[i]!);
  }
  return { title, description, links: links.links, words: words.count };
}
