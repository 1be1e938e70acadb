/** An ILIKE pattern that finds `text` anywhere, matched literally: its own `%`, `_` and backslashes are escaped. */
export const likeLiteral = (text: string) => `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
