/**
 * The default of an exhaustive `switch`: a new event, timer, route or command that no case
 * handles is a compile error here instead of being silently ignored.
 */
export const assertNever = (value: never): never => {
  throw new Error(`unhandled case: ${JSON.stringify(value)}`);
};
