// Normalisation: every obfuscation the guard claims to see through reads back as the plain word, spans point at the
// original text, and the non-destructive parts (leet, joining, squeezing) only add candidates.
import { describe, expect, it } from 'vitest';
import { normalizeChars, normalizeText, squeeze, tokenize, wordForms } from '../../../src/safety/guard/normalize';

const forms = (prompt: string) => tokenize(prompt).words.map((t) => [...t.forms]);
const joinedTexts = (prompt: string) => tokenize(prompt).joined.map((s) => s.map((t) => t.text));

describe('normalizeText', () => {
  it.each([
    ['ＫＩＬＬ', 'kill'], // fullwidth
    ['𝐤𝐢𝐥𝐥 𝓴𝓲𝓵𝓵 𝕜𝕚𝕝𝕝', 'kill kill kill'], // math bold, script, double-struck
    ['Naïve CAFÉ Ñandú', 'naive cafe nandu'], // diacritics and case
    ['ki\u200Bl\u200Dl\uFEFF \u00ADx', 'kill x'], // zero-width space/joiner, BOM, soft hyphen
    ['кіll', 'kill'], // Cyrillic к, і
    ['ѕех', 'sex'], // Cyrillic ѕ, е, х
    ['ΚΙΛΛ'.toLowerCase().replace('λλ', 'll'), 'kill'], // Greek κ, ι
    ['straße', 'strasse'], // case folding beyond toLowerCase
    ['ﬁre', 'fire'], // ligature
    ['a\u00A0b\tc', 'a b c'], // any whitespace is a space
  ])('%j → %j', (input, out) => {
    expect(normalizeText(input)).toBe(out);
  });

  it('keeps each character’s span in the original (astral characters are two UTF-16 units)', () => {
    const prompt = 'x𝐤é\u200By';
    const chars = normalizeChars(prompt);
    expect(chars.map((c) => c.ch).join('')).toBe('xkey');
    for (const c of chars) expect(prompt.slice(c.start, c.end).length).toBeGreaterThan(0);
    expect(prompt.slice(chars[1].start, chars[1].end)).toBe('𝐤');
    expect(chars[3].start).toBe(prompt.indexOf('y'));
  });
});

describe('wordForms (leetspeak)', () => {
  it('decodes digits and symbols mixed with letters, branching on ambiguous ones', () => {
    expect(wordForms('k1ll')).toEqual(expect.arrayContaining(['k1ll', 'kill', 'klll']));
    expect(wordForms('$3x')).toContain('sex');
    expect(wordForms('n@k3d')).toContain('naked');
    expect(wordForms('7h3')).toContain('the');
    expect(wordForms('p*rn')).toContain('porn');
  });
  it('leaves words without letters alone and keeps the surface form first', () => {
    expect(wordForms('1984')).toEqual(['1984']);
    expect(wordForms('$$$')).toEqual(['$$$']);
    expect(wordForms('1st')[0]).toBe('1st');
  });
  it('caps the number of readings', () => {
    expect(wordForms('1|1|1|1|1|a').length).toBeLessThanOrEqual(33); // 16 decodings + the letters-only reading's, + itself
  });
});

describe('tokenize', () => {
  it('splits on spaces and punctuation, trims sentence punctuation, drops possessive s', () => {
    const t = tokenize("Kill!!! the guard's hat, now?").words;
    expect(t.map((x) => x.text)).toEqual(['kill', 'the', 'guard', 'hat', 'now']);
    expect(t.map((x) => "Kill!!! the guard's hat, now?".slice(x.start, x.end))).toEqual(['Kill', 'the', 'guard', 'hat', 'now']);
  });

  it('joins letters split by one repeated separator into one word, with the span of the whole run', () => {
    for (const [p, w] of [['k i l l him', 'kill'], ['k.i.l.l', 'kill'], ['s-e-x', 'sex'], ['k_i_l_l', 'kill'], ['k 1 l l', 'k1ll']] as const) {
      const streams = tokenize(p);
      const j = streams.joined[0].find((t) => t.joined)!;
      expect(j.text).toBe(w);
      expect(p.slice(j.start, j.end)).toMatch(/^k|^s/);
    }
  });

  it('does not join across a different or longer gap, and not fewer than three letters', () => {
    expect(joinedTexts('k i l l  h i m')).toEqual([['kill', 'him']]);
    expect(joinedTexts('k-i-l-l h-i-m')).toEqual([['kill', 'him']]);
    expect(tokenize('a b').joined).toEqual([]);
    expect(tokenize('plain words only').joined).toEqual([]);
  });

  it('offers joinings without a leading or trailing one-letter word ("a", "i")', () => {
    const streams = joinedTexts('a n a k e d woman');
    expect(streams).toContainEqual(['anaked', 'woman']);
    expect(streams).toContainEqual(['a', 'naked', 'woman']);
    const trail = joinedTexts('b u l l y i n g a boy');
    expect(trail).toContainEqual(['bullying', 'a', 'boy']);
  });

  it('squeezes stretched letters only when a letter repeats three or more times', () => {
    const [stretched] = tokenize('kiiiilllll').words;
    expect([...stretched.squeezed]).toContain('kil');
    const [plain] = tokenize('good').words;
    expect(plain.squeezed.size).toBe(0);
    expect(squeeze('kill')).toBe('kil');
  });

  it('records leet readings as candidates next to the surface text', () => {
    expect(forms('b4 1st')).toEqual([expect.arrayContaining(['b4', 'ba']), expect.arrayContaining(['1st', 'ist', 'lst'])]);
  });
});
