/** Reports progress of a long job: `done` of `total` units of the named step. */
export type Progress = (step: string, done: number, total: number) => void;

export const noProgress: Progress = () => {};
