/** ECS process.interactive: a pts (major 136-143) or a virtual console / serial tty (major 4). */
export function isInteractiveTty(tty: { major: number; minor: number }): boolean {
  return (tty.major >= 136 && tty.major <= 143) || (tty.major === 4 && tty.minor >= 0 && tty.minor <= 255);
}
