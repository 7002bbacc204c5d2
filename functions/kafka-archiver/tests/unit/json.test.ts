import { describe, expect, it } from 'vitest';
import { duplicateKey } from '../../src/json.ts';

describe('duplicateKey', () => {
  it('finds a key twice in one object, at any depth, however its name is escaped', () => {
    expect(duplicateKey('{"id":"","id":"dup"}')).toBe('id');
    expect(duplicateKey('{"a":1,"b":{"c":[1,{"d":1,"d":2}]}}')).toBe('d');
    expect(duplicateKey('{"id":1,"\\u0069d":2}')).toBe('id');
    expect(duplicateKey('{"":1,"":2}')).toBe('');
    expect(duplicateKey('{"__proto__":1,"__proto__":2}')).toBe('__proto__');
    // After a nested object or array closes, the next string in the outer object is a key again.
    expect(duplicateKey('{"a":{},"b":[{"a":1}],"a":2}')).toBe('a');
    expect(duplicateKey('[{}, {"x":1, "x":2}]')).toBe('x');
    expect(duplicateKey(' {\n  "k" : 1 ,\n  "k" : 2\n}\n')).toBe('k');
  });

  it('tells keys from strings: values, array items and quotes or backslashes inside strings', () => {
    expect(duplicateKey('{"a":"a","b":"a"}')).toBeUndefined();
    expect(duplicateKey('{"a":["a","a",{"a":1}]}')).toBeUndefined();
    expect(duplicateKey('[{"a":1},{"a":2}]')).toBeUndefined();
    expect(duplicateKey('{"a":{"a":{"a":1}}}')).toBeUndefined();
    expect(duplicateKey('{"a":"x\\",\\"a\\":\\"y","b":1}')).toBeUndefined();
    expect(duplicateKey('{"a\\\\":1,"a":2}')).toBeUndefined();
    expect(duplicateKey('{"a\\\\":1,"a\\\\":2}')).toBe('a\\');
    expect(duplicateKey('{"a":"\\\\","a\\"":1}')).toBeUndefined();
    expect(duplicateKey('"a"')).toBeUndefined();
    expect(duplicateKey('{}')).toBeUndefined();
    expect(duplicateKey('[1,2,null,true,"x"]')).toBeUndefined();
  });

  it('agrees with JSON.parse on what a duplicate is: the parsed object has fewer keys than the text', () => {
    const samples = ['{"a":1,"b":2}', '{"a":1,"a":2}', '{"é":1,"\\u00e9":2}', '{"e\\u0301":1,"é":2}', '{"\\ud83d\\ude00":1,"😀":2}'];
    for (const s of samples) {
      const keysInText = (s.match(/"(?:[^"\\]|\\.)*"\s*:/g) ?? []).length;
      expect([s, duplicateKey(s) !== undefined]).toEqual([s, Object.keys(JSON.parse(s)).length < keysInText]);
    }
  });

  it('scans nesting deeper than a recursive parser could, and ends on text that is not JSON', () => {
    const deep = `${'{"a":['.repeat(100_000)}1${']}'.repeat(100_000)}`;
    expect(duplicateKey(deep)).toBeUndefined();
    expect(duplicateKey(`${'['.repeat(100_000)}{"a":1,"a":2}${']'.repeat(100_000)}`)).toBe('a');
    expect(duplicateKey('{"a":"unterminated')).toBeUndefined();
    expect(duplicateKey('{"a":"x\\')).toBeUndefined();
  });
});
