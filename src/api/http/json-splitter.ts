/**
 * JsonValueSplitter cuts a stream of text into top-level JSON objects or arrays, as grpc-gateway
 * reads a streaming request body (values separated by optional whitespace, e.g. one per line).
 * It only tracks nesting, strings and escapes; each value's text is parsed by the codec.
 * `valueCharsMax` bounds one value; past it `push` returns an error string.
 */
export class JsonValueSplitter {
  private current = '';
  private depth = 0;
  private inString = false;
  private escaped = false;

  constructor(private readonly valueCharsMax: number) {}

  /** midValue is true while a value has started and not ended (truncated if the body ends). */
  get midValue(): boolean {
    return this.depth > 0;
  }

  /** push consumes text, calling `onValue` for each completed value; returns an error or undefined. */
  push(text: string, onValue: (json: string) => void): string | undefined {
    let start = this.depth > 0 ? 0 : -1;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (this.depth === 0) {
        if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) continue;
        if (c !== 0x7b && c !== 0x5b) return `invalid character ${JSON.stringify(text[i])} looking for beginning of value`;
        start = i;
        this.depth = 1;
        continue;
      }
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (c === 0x5c) this.escaped = true;
        else if (c === 0x22) this.inString = false;
        continue;
      }
      if (c === 0x22) this.inString = true;
      else if (c === 0x7b || c === 0x5b) this.depth++;
      else if (c === 0x7d || c === 0x5d) {
        this.depth--;
        if (this.depth === 0) {
          const value = this.current + text.slice(start, i + 1);
          this.current = '';
          start = -1;
          onValue(value);
        }
      }
    }
    if (this.depth > 0) {
      this.current += text.slice(Math.max(start, 0));
      if (this.current.length > this.valueCharsMax) return 'request value too large';
    }
    return undefined;
  }
}
