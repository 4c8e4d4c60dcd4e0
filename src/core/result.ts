/** The outcome of decoding untrusted input: a value, or a coded reason to drop it. */
export type Decoded<T, Code extends string = string> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly code: Code; readonly detail: string }

export function ok<T>(value: T): { readonly ok: true; readonly value: T } {
  return { ok: true, value }
}

export function fail<Code extends string>(
  code: Code,
  detail: string,
): { readonly ok: false; readonly code: Code; readonly detail: string } {
  return { ok: false, code, detail }
}
