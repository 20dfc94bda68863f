/**
 * Errors cross the thread (or process) boundary as plain objects: structured clone drops custom
 * classes, own properties like `code`, and `cause`. We keep them so the caller sees the task's
 * real error, stack included.
 */
export interface SerializedError {
  readonly name: string;
  readonly message: string;
  readonly stack: string | undefined;
  /** Own enumerable properties that survive cloning (e.g. `code`, `errno`, `status`). */
  readonly props: Record<string, unknown>;
  readonly cause?: SerializedError | undefined;
  /** True when the task threw something that is not an Error (a string, a number...). */
  readonly notAnError?: boolean;
}

const MAX_CAUSE_DEPTH = 4;

export function serializeError(error: unknown, depth = 0): SerializedError {
  if (!(error instanceof Error)) {
    return {
      name: 'Error',
      message: describeThrown(error),
      stack: undefined,
      props: {},
      notAnError: true,
    };
  }
  const props: Record<string, unknown> = {};
  for (const key of Object.keys(error)) {
    if (key === 'cause') continue;
    const value = (error as unknown as Record<string, unknown>)[key];
    if (isCloneablePrimitive(value)) props[key] = value;
  }
  const cause =
    error.cause !== undefined && depth < MAX_CAUSE_DEPTH
      ? serializeError(error.cause, depth + 1)
      : undefined;
  return { name: error.name, message: error.message, stack: error.stack, props, cause };
}

const constructors: Record<string, ErrorConstructor> = {
  Error,
  TypeError,
  RangeError,
  SyntaxError,
  ReferenceError,
  EvalError,
  URIError,
};

export function reviveError(data: SerializedError): Error {
  const Ctor = constructors[data.name] ?? Error;
  const error = new Ctor(data.message);
  if (error.name !== data.name) {
    Object.defineProperty(error, 'name', { value: data.name, configurable: true, writable: true });
  }
  Object.defineProperty(error, 'stack', { value: data.stack, configurable: true, writable: true });
  Object.assign(error, data.props);
  if (data.cause) {
    Object.defineProperty(error, 'cause', {
      value: reviveError(data.cause),
      configurable: true,
      writable: true,
    });
  }
  return error;
}

function isCloneablePrimitive(value: unknown): boolean {
  const type = typeof value;
  return (
    value === null ||
    type === 'string' ||
    type === 'number' ||
    type === 'boolean' ||
    type === 'bigint' ||
    type === 'undefined'
  );
}

/** How a thrown value that is not an Error reads in a message. */
export function describeThrown(value: unknown): string {
  try {
    return typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value));
  } catch {
    return String(value);
  }
}
