// Node 20 lacks Promise.withResolvers, which libp2p 3 uses; the apps load the same polyfill at start.
import '@cairn/primitives/polyfills'
