/**
 * The common-password list in the compact form the functions ship: exact
 * membership, no false positives, about 60 KB of bundle instead of the 418 KB
 * of the `@zxcvbn-ts/language-common` package it is built from.
 *
 * Form: the entries sorted, each written as one character for how many leading
 * characters it shares with the entry before it ('0' + n) followed by the rest
 * of it, one per line; that text brotli-compressed and base64-encoded into
 * common-passwords.data.ts, which bin/common-passwords.ts regenerates from the
 * package (and a test checks it still matches the installed package). Nothing
 * is decoded at import: the first password check decodes it once per process.
 */
import { brotliCompressSync, brotliDecompressSync, constants } from 'node:zlib';

/** What the artefact holds: the list's source, its size, and the encoded entries. */
export interface CommonPasswordList {
  /** The npm package and version the entries were taken from. */
  source: string;
  count: number;
  /** Brotli-compressed front-coded entries, base64. */
  data: string;
}

/** Longest shared prefix written; keeps the prefix character printable ASCII ('0' to 'z'). */
const MAX_SHARED = 74;

/**
 * The policy's view of the package's list: entries that could be a valid
 * password at all (`minLength` UTF-16 units or more) in lower case, since the
 * check is case-insensitive; sorted and distinct. The same selection the policy
 * made from the package at runtime before the list was compacted.
 */
export function commonPasswordsFrom(words: readonly string[], minLength: number): string[] {
  return [...new Set(words.filter((w) => w.length >= minLength).map((w) => w.toLowerCase()))].sort();
}

function sharedPrefix(previous: string, word: string): number {
  let n = 0;
  while (n < MAX_SHARED && n < previous.length && n < word.length && previous[n] === word[n]) n++;
  // Never split a surrogate pair: the rest of the entry must be valid UTF-16 to survive UTF-8.
  if (n > 0 && n < word.length && /[\ud800-\udbff]/.test(word[n - 1]!)) n--;
  return n;
}

/** Encodes sorted, distinct entries (build time only: bin/common-passwords.ts). */
export function encodeCommonPasswords(words: readonly string[], source: string): CommonPasswordList {
  let previous = '';
  const lines = words.map((word) => {
    if (word.includes('\n')) throw new Error('a common password contains a newline; the encoding cannot hold it');
    const n = sharedPrefix(previous, word);
    previous = word;
    return String.fromCharCode(48 + n) + word.slice(n);
  });
  const text = Buffer.from(lines.join('\n'), 'utf8');
  const compressed = brotliCompressSync(text, {
    params: {
      [constants.BROTLI_PARAM_MODE]: constants.BROTLI_MODE_TEXT,
      [constants.BROTLI_PARAM_QUALITY]: constants.BROTLI_MAX_QUALITY,
      [constants.BROTLI_PARAM_LGWIN]: constants.BROTLI_MAX_WINDOW_BITS,
      [constants.BROTLI_PARAM_SIZE_HINT]: text.length,
    },
  });
  return { source, count: words.length, data: compressed.toString('base64') };
}

/** The entries of an encoded list, as a set (a few milliseconds for ~18k entries). */
export function decodeCommonPasswords(list: CommonPasswordList): Set<string> {
  const text = brotliDecompressSync(Buffer.from(list.data, 'base64')).toString('utf8');
  const words = new Set<string>();
  if (text === '') return words;
  let previous = '';
  for (const line of text.split('\n')) {
    previous = previous.slice(0, line.charCodeAt(0) - 48) + line.slice(1);
    words.add(previous);
  }
  if (words.size !== list.count) throw new Error(`common-password list: decoded ${words.size} entries, expected ${list.count}`);
  return words;
}
