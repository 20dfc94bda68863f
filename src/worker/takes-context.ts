/**
 * Whether a task function can see its second argument, `ctx`. One that cannot (one plain
 * parameter and no `arguments`) is called without a context made for each task: an object per
 * task that the worker's GC pays for, on tasks of a few µs. Anything unsure counts as yes:
 * native and bound functions, defaults, rest and destructured parameters, comments in the list.
 */
export function takesContext(task: (...args: never[]) => unknown): boolean {
  let source: string;
  try {
    source = Function.prototype.toString.call(task);
  } catch {
    return true;
  }
  if (source.includes('[native code]') || /\b(arguments|eval)\b/.test(source)) return true;
  const params = parameters(source);
  return params === undefined || !ONE_IDENTIFIER.test(params);
}

const ONE_IDENTIFIER = /^\s*[\p{ID_Start}$_][\p{ID_Continue}$\u200c\u200d]*\s*$/u;

/** The text of the parameter list, or undefined when it is not plainly readable. */
function parameters(source: string): string | undefined {
  // `x => ...` and `async x => ...`: a single parameter without parentheses.
  const arrow = /^(?:async\s+)?([\p{ID_Start}$_][\p{ID_Continue}$\u200c\u200d]*)\s*=>/u.exec(
    source,
  );
  if (arrow) return arrow[1];
  const open = source.indexOf('(');
  const close = source.indexOf(')', open + 1);
  if (open === -1 || close === -1) return undefined;
  const list = source.slice(open + 1, close);
  // A parenthesis inside (a default, a comment) makes the list's end uncertain.
  return list.includes('(') ? undefined : list;
}
