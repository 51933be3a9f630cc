// The converter's one error type: a single line in plain words that names the file, layer or folder at fault.
// The CLI prints `convert: <message>` and exits 1; tests match on these messages.

export class ConvertError extends Error {
  constructor(message: string) {
    super(message.replace(/\s*\n\s*/g, ' '));
    this.name = 'ConvertError';
  }
}
