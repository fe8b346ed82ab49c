export { Sequencer, type SequencerMempool, type SequencerOptions } from './sequencer.ts'
