/** `${VAR}`, `${VAR:-default}`; `$${` is a literal `${`. */
const pattern = /\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

export interface InterpolationResult {
  value: string;
  missing: string[];
}

export function interpolate(text: string, env: Record<string, string | undefined>): InterpolationResult {
  const missing: string[] = [];
  const value = text.replace(pattern, (match, name: string | undefined, fallback: string | undefined) => {
    if (match === '$${') return '${';
    const found = env[name!];
    if (found !== undefined && found !== '') return found;
    if (fallback !== undefined) return fallback;
    missing.push(name!);
    return match;
  });
  return { value, missing };
}
