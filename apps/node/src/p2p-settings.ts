import { z } from 'zod'
import { parse, setting } from '@cairn/config'

const address = z.string().regex(/^0x[0-9a-fA-F]{40}$/, 'must be a 20-byte hex address')

/** A comma-separated list (flag, env) or a JSON array (config file). */
function list(item: z.ZodString) {
  return z
    .union([z.string(), z.array(z.string())])
    .transform((value) =>
      (Array.isArray(value) ? value : value.split(',')).map((entry) => entry.trim()).filter((entry) => entry !== ''),
    )
    .pipe(z.array(item))
}

/** Env variable holding the sequencer's preconfirmation key (never a flag, so it never shows in `ps`). */
export const PRECONF_KEY_ENV = 'CAIRN_PRECONF_KEY'

/**
 * The p2p settings of `cairn node`, spread into the node's table. The preconfirmation signing key
 * is deliberately not a flag: it comes from the env `CAIRN_PRECONF_KEY` or `--p2p.preconf-key-file`,
 * so it never shows in `ps` or shell history.
 */
export const p2pSettings = {
  p2pEnabled: setting({
    flag: 'p2p.enabled',
    env: 'CAIRN_P2P_ENABLED',
    description:
      'join the p2p network (gossip of transactions and preconfirmed blocks); --p2p.enabled false turns it off',
    schema: parse.bool(),
    default: true,
    boolean: true,
  }),
  p2pAddr: setting({
    flag: 'p2p.addr',
    env: 'CAIRN_P2P_ADDR',
    description: 'p2p TCP listen address, an IP address (0.0.0.0 to accept peers from other hosts)',
    schema: parse.ip(),
    default: '127.0.0.1',
  }),
  p2pPort: setting({
    flag: 'p2p.port',
    env: 'CAIRN_P2P_PORT',
    description: 'p2p TCP port; 0 picks a free port (set a fixed one on a node others use as a bootnode)',
    schema: parse.port(),
    default: 0,
  }),
  bootnodes: setting({
    flag: 'bootnodes',
    env: 'CAIRN_BOOTNODES',
    description: 'comma-separated multiaddrs of peers to join through, each ending in /p2p/<peer id>',
    schema: list(z.string().regex(/\/p2p\/[1-9A-HJ-NP-Za-km-z]+$/, 'must end in /p2p/<peer id>')),
    default: [] as string[],
  }),
  p2pMaxPeers: setting({
    flag: 'p2p.max-peers',
    env: 'CAIRN_P2P_MAX_PEERS',
    description: 'most peers connected at once',
    schema: parse.positiveInt(),
    default: 50,
  }),
  p2pPreconfer: setting({
    flag: 'p2p.preconfer',
    env: 'CAIRN_P2P_PRECONFER',
    description:
      'comma-separated addresses whose signed preconfirmed blocks are accepted when there is no L1 (with --l1.rpc the Inbox preconf whitelist decides)',
    schema: list(address),
    default: [] as string[],
  }),
  p2pWhitelistRefresh: setting({
    flag: 'p2p.whitelist-refresh',
    env: 'CAIRN_P2P_WHITELIST_REFRESH',
    description:
      'seconds between reads of the L1 preconf whitelist (with --l1.rpc): an operator added or removed on L1 is honoured within this long',
    schema: z.coerce.number().positive(),
    default: 12,
  }),
  p2pTxReannounceAge: setting({
    flag: 'p2p.tx-reannounce-age',
    env: 'CAIRN_P2P_TX_REANNOUNCE_AGE',
    description:
      'seconds a transaction stays pending in the pool before its hash is announced again to peers, who fetch it if gossip missed it (then backing off to once a minute); 0 turns it off',
    schema: parse.nonNegativeNumber(),
    default: 5,
  }),
  p2pPreconfKeyFile: setting({
    flag: 'p2p.preconf-key-file',
    env: 'CAIRN_P2P_PRECONF_KEY_FILE',
    description:
      'file holding the hex secp256k1 key a sequencer signs preconfirmed blocks with (or env CAIRN_PRECONF_KEY; --dev falls back to dev account 0)',
    schema: parse.string().optional(),
  }),
}
