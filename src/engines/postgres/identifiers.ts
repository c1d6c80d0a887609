/** An identifier quoted as pg's escapeIdentifier and PostgreSQL's quote_ident do, without loading the driver. */
export function quoteIdentifier(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** Splits `schema.table`, honouring double quotes; unquoted parts fold to lower case as PostgreSQL does. */
export function parseQualifiedName(name: string): string[] {
  const parts: string[] = [];
  let i = 0;
  while (i < name.length) {
    if (name[i] === '"') {
      let part = '';
      i++;
      while (i < name.length) {
        if (name[i] === '"' && name[i + 1] === '"') (part += '"'), (i += 2);
        else if (name[i] === '"') break;
        else part += name[i++];
      }
      if (name[i] !== '"') throw new Error(`unterminated quoted identifier in ${name}`);
      i++;
      parts.push(part);
    } else {
      let part = '';
      while (i < name.length && name[i] !== '.') part += name[i++];
      if (!part.trim()) throw new Error(`empty identifier in ${name}`);
      parts.push(part.trim().toLowerCase());
    }
    if (i < name.length) {
      if (name[i] !== '.') throw new Error(`unexpected "${name[i]}" in ${name}`);
      i++;
    }
  }
  if (parts.length === 0 || parts.length > 2) throw new Error(`expected table or schema.table, got ${name}`);
  return parts;
}

export function quoteQualifiedName(name: string): string {
  return parseQualifiedName(name).map((p) => quoteIdentifier(p)).join('.');
}

/** The key a baseline uses for a table: what PostgreSQL's format('%I.%I') prints. */
export function tableKey(schema: string, table: string): string {
  return `${printedIdentifier(schema)}.${printedIdentifier(table)}`;
}

/** One identifier as format('%I') prints it: quoted only when it must be. */
export function printedIdentifier(name: string): string {
  return /^[a-z_][a-z0-9_$]*$/.test(name) ? name : quoteIdentifier(name);
}
