const REFERENCE = /\$\$\{|\$\{([^}]*)\}/g;
const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** A `${NAME}` that could not be resolved, at the key path where it was written. */
export interface InterpolationProblem {
  path: (string | number)[];
  message: string;
}

/**
 * Replaces `${NAME}` in every string of a parsed YAML value by the environment variable NAME, in place.
 * `$${` writes a literal `${`. Values are substituted after parsing, so a variable can never inject YAML structure.
 */
export function interpolateEnv(
  value: unknown,
  env: NodeJS.ProcessEnv,
  path: (string | number)[] = [],
  problems: InterpolationProblem[] = [],
): { value: unknown; problems: InterpolationProblem[] } {
  if (typeof value === "string") {
    const replaced = value.replace(REFERENCE, (match, name: string | undefined) => {
      if (match === "$${") return "${";
      if (name === undefined || !VARIABLE_NAME.test(name)) {
        problems.push({ path, message: `"\${${name ?? ""}}" is not a valid variable reference; use \${NAME} with letters, digits and _` });
        return match;
      }
      const resolved = env[name];
      if (resolved === undefined) {
        problems.push({ path, message: `environment variable ${name} is not set; export it before starting (or write $\${ for a literal \${)` });
        return match;
      }
      return resolved;
    });
    return { value: replaced, problems };
  }
  if (Array.isArray(value)) {
    value.forEach((item, index) => {
      value[index] = interpolateEnv(item, env, [...path, index], problems).value;
    });
    return { value, problems };
  }
  if (value !== null && typeof value === "object") {
    const record = value as Record<string, unknown>;
    for (const key of Object.keys(record)) {
      record[key] = interpolateEnv(record[key], env, [...path, key], problems).value;
    }
  }
  return { value, problems };
}
