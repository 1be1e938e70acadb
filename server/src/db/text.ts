import { sql, type Expression } from 'kysely';

/** An ILIKE pattern that finds `text` anywhere, matched literally: its own `%`, `_` and backslashes are escaped. */
export const likeLiteral = (text: string) => `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

/** to_char's pattern of an ISO 8601 UTC time as JavaScript's toISOString writes it (milliseconds, Z). */
export const ISO_UTC_PATTERN = 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"';

/** A timestamptz as the API writes times (toISOString's form), in SQL: for JSON built by the database. */
export const isoUtc = (time: Expression<Date> | Expression<unknown>) => sql<string>`to_char(${time} AT TIME ZONE 'UTC', ${sql.lit(ISO_UTC_PATTERN)})`;
