// Types for item.js, which stays plain JavaScript so the task module can load it in workers.

export declare function itemBody(i: number): string;
export declare function digest(text: string, rounds: number): string;
