/** A LIKE pattern that matches `text` anywhere, with the pattern characters escaped (use `ESCAPE '\'`). */
export function containsPattern(text: string): string {
  return `%${text.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}
