// Types for workload.js, which stays plain JavaScript so pool workers can load it.

export type VariantName =
  | 'uniform'
  | 'skewed'
  | 'skewed-tail'
  | 'skewed-scattered'
  | 'tiny'
  | 'tiny10';

/** The fine-grained variants: no I/O, a hash-chosen number of integers per task. */
export type FineVariant = 'tiny' | 'tiny10';

/** One task input: the index, the variant, and the variant's input count (heavy ranges scale with it). */
export interface TaskInput {
  readonly i: number;
  readonly v: VariantName | 'warmup';
  readonly count: number;
}

export declare const FINE: Readonly<
  Record<FineVariant, { readonly min: number; readonly max: number }>
>;
export declare const WARMUP_N: number;
export declare const VARIANTS: Readonly<Record<VariantName, number>>;
export declare function hash30(x: number): number;
export declare function isFine(v: string): v is FineVariant;
export declare function isHeavy(v: TaskInput['v'], i: number, count: number): boolean;
export declare function taskParams(input: TaskInput): { sleepMs: number; n: number };
export declare function spin(n: number, seed: number): number;
export declare function sumAtOnce(n: number, seed: number): Promise<number>;
export declare function crawl(input: TaskInput): Promise<number>;
/** 'holey': `new Array(count)` filled (the default); 'packed': pushed. */
export type InputShape = 'holey' | 'packed';
export declare function makeInputs(
  v: TaskInput['v'],
  count: number,
  shape?: InputShape,
): TaskInput[];
