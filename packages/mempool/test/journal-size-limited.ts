/**
 * Child process for the failed-append test, started under a small file size limit: appends a
 * record, then a batch too large for the limit (partly written, then refused), then another
 * record, and prints the second append's error code.
 */
import { MempoolJournal } from '../src/index.ts'

const journal = new MempoolJournal(process.argv[2] as string)
journal.load()
journal.append([new Uint8Array(20).fill(1)])
try {
  journal.append([new Uint8Array(2000).fill(2), new Uint8Array(2000).fill(3)])
  process.stdout.write('second append succeeded\n')
} catch (error) {
  process.stdout.write(`second append failed: ${(error as NodeJS.ErrnoException).code}\n`)
}
journal.append([new Uint8Array(20).fill(4)])
journal.close()
