/**
 * Lists of the interpreter that are empty most of the time (an idle engine of a fleet holds
 * half a dozen): they share one frozen empty array instead of an empty array each (32 bytes
 * apiece) and get a new array when something arrives.
 */

/**
 * The one empty list. Frozen: nothing pushes into an empty list (`appended` makes a new one),
 * and a push that slipped through throws instead of filling every engine's list at once.
 */
export const NONE: readonly never[] = Object.freeze([]);

/** An empty list for a mutable field (`NONE`, typed as the field's array). */
export const none = <T>(): T[] => NONE as never[];

/** `list` with `item` at the end: pushed in place, or a new array of one when `list` is empty (maybe `NONE`). */
export const appended = <T>(list: T[], item: T): T[] => {
  if (list.length === 0) return [item];
  list.push(item);
  return list;
};
