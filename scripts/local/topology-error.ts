/**
 * The one error of the emulated topology (`./emulated-topology.ts` and `./durable-objects.ts`): a fact about the stack
 * that cannot be emulated, named by its resource and attribute, which `npm start` prints without a stack trace.
 *
 * @module
 */

/** A fact about the stack that cannot be emulated; the message names the resource and the attribute. */
export class TopologyError extends Error {
  override readonly name = 'TopologyError';
}
