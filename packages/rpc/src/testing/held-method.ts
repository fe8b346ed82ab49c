/** A method (taking any params) that waits until released; `inside` resolves once a call has entered it. */
export function heldMethod() {
  let entered!: () => void
  let release!: () => void
  const inside = new Promise<void>((resolve) => {
    entered = resolve
  })
  const gate = new Promise<void>((resolve) => {
    release = resolve
  })
  const held = async (_params: unknown[]) => {
    entered()
    await gate
    return 'done'
  }
  return { held, inside, release }
}
