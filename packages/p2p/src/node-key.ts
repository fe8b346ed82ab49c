import { mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { CairnError } from '@cairn/primitives'
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'

export const NODE_KEY_FILE = 'p2p-key'

/**
 * The node's libp2p identity, kept at `<datadir>/p2p-key` (libp2p's protobuf key encoding, hex,
 * mode 0600) so a restarted node keeps its peer id and its place in others' peer stores.
 * Created as Ed25519 on first start; written to a temporary file and renamed, so a crash never
 * leaves half a key.
 */
export async function loadOrCreateNodeKey(datadir: string): Promise<{ key: PrivateKey; created: boolean }> {
  const path = join(datadir, NODE_KEY_FILE)
  let text: string | undefined
  try {
    text = await readFile(path, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new CairnError(
        'P2P_NODE_KEY_UNREADABLE',
        `cannot read the p2p node key at ${path}: ${(error as Error).message}`,
      )
    }
  }
  if (text !== undefined) {
    const hex = text.trim()
    try {
      if (!/^([0-9a-f]{2})+$/i.test(hex)) throw new Error('not hex')
      return { key: privateKeyFromProtobuf(Buffer.from(hex, 'hex')), created: false }
    } catch (error) {
      throw new CairnError(
        'P2P_NODE_KEY_INVALID',
        `the p2p node key at ${path} is not a libp2p private key (${(error as Error).message}); move it away to generate a new identity`,
      )
    }
  }
  const key = await generateKeyPair('Ed25519')
  await mkdir(datadir, { recursive: true })
  const tmp = `${path}.tmp-${process.pid}`
  await writeFile(tmp, `${Buffer.from(privateKeyToProtobuf(key)).toString('hex')}\n`, { mode: 0o600 })
  await rename(tmp, path)
  return { key, created: true }
}
