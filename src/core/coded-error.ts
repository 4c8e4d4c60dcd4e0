/**
 * The base of every error semos throws for local misuse: a stable `code` to
 * branch on, and a message for people. (Bad input from peers is never thrown;
 * it is returned as a coded `Decoded` failure and counted.)
 */
export class CodedError<Code extends string> extends Error {
  readonly code: Code

  constructor(code: Code, message: string) {
    super(message)
    this.name = new.target.name
    this.code = code
  }
}
