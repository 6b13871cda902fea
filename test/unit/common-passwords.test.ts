import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dictionary } from '@zxcvbn-ts/language-common';
import { describe, expect, it } from 'vitest';
import { commonPasswordsFrom, decodeCommonPasswords, encodeCommonPasswords } from '../../functions/core/common-passwords.js';
import { COMMON_PASSWORDS } from '../../functions/core/common-passwords.data.js';
import { isCommonPassword, PASSWORD_MIN_LENGTH } from '../../functions/core/passwords.js';

const packageWords = dictionary['passwords-common'];
const expected = new Set(commonPasswordsFrom(packageWords, PASSWORD_MIN_LENGTH));

describe('the shipped common-password list', () => {
  it('is the installed package list, current (else run `npx tsx bin/common-passwords.ts`)', () => {
    const { version } = JSON.parse(readFileSync(createRequire(import.meta.url).resolve('@zxcvbn-ts/language-common/package.json'), 'utf8')) as { version: string };
    expect(COMMON_PASSWORDS.source).toBe(`@zxcvbn-ts/language-common@${version}`);
    const shipped = decodeCommonPasswords(COMMON_PASSWORDS);
    expect(shipped.size).toBe(expected.size);
    expect([...shipped].filter((w) => !expected.has(w))).toEqual([]);
    expect([...expected].filter((w) => !shipped.has(w))).toEqual([]);
  });

  it('refuses every package entry long enough to be a password, in its own spelling and in upper case', async () => {
    const long = packageWords.filter((w) => w.length >= PASSWORD_MIN_LENGTH);
    expect(long.length).toBeGreaterThan(15_000);
    for (const word of long) {
      expect(await isCommonPassword(word)).toBe(true);
      expect(await isCommonPassword(word.toUpperCase())).toBe(true);
    }
  });

  it('is exact: near misses of every entry are refused only when the package lists them too', async () => {
    let checked = 0;
    for (const word of expected) {
      for (const candidate of [`${word}!`, `x${word}`, word.slice(0, -1) + (word.endsWith('z') ? 'y' : 'z')]) {
        expect(await isCommonPassword(candidate)).toBe(expected.has(candidate));
        checked++;
      }
    }
    expect(checked).toBe(3 * expected.size);
    expect(await isCommonPassword('correct horse battery staple')).toBe(false);
  });

  it('round-trips any list: empty, non-ASCII, surrogate pairs that share a prefix, long shared prefixes', () => {
    const lists = [
      [],
      ['only-one'],
      ['p\u00e4ssw\u00f6rter', 'p\u00e4ssw\u00f6rter2', '\u5bc6\u7801\u5bc6\u7801\u5bc6\u7801\u5bc6\u7801'],
      ['\u{1f511}\u{1f511}\u{1f511}\u{1f511}a', '\u{1f511}\u{1f511}\u{1f511}\u{1f512}b', '\u{1f511}\u{1f511}\u{1f511}\u{1f512}c'],
      ['a'.repeat(200), `${'a'.repeat(200)}b`, `${'a'.repeat(199)}c`],
    ].map((words) => [...words].sort());
    for (const words of lists) {
      const decoded = decodeCommonPasswords(encodeCommonPasswords(words, 'test'));
      expect([...decoded]).toEqual(words);
    }
  });

  it('ships in about a seventh of the space of the package list', () => {
    // The package's passwords module is 418 KB in a bundle; the base64 of the compact form is what a bundle carries.
    expect(COMMON_PASSWORDS.data.length).toBeLessThan(70 * 1024);
  });
});
