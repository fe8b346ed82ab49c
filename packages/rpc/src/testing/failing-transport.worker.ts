/** A front-end thread that fails at its first message: for the owner's handling of a dead thread. */
import { parentPort } from 'node:worker_threads'

parentPort!.on('message', () => {
  throw new Error('the front-end thread failed on purpose')
})
