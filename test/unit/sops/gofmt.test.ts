import test from 'ava';
import { formatGoFloat, parseGoBool, parseGoFloat, parseGoInt } from '../../../src/sops/gofmt.js';

test('formats floats like Go strconv.FormatFloat with f and -1', (t) => {
  t.is(formatGoFloat(1234568000), '1234568000');
  t.is(formatGoFloat(0.2), '0.2');
  t.is(formatGoFloat(1e21), '1000000000000000000000');
  t.is(formatGoFloat(1.5e-7), '0.00000015');
  t.is(formatGoFloat(-2.5e22), '-25000000000000000000000');
  t.is(formatGoFloat(-0), '-0');
  t.is(formatGoFloat(Infinity), '+Inf');
  t.is(formatGoFloat(NaN), 'NaN');
});

test('parses numbers and booleans the way Go strconv does', (t) => {
  t.is(parseGoFloat('3.14'), 3.14);
  t.is(parseGoFloat('1e3'), 1000);
  t.is(parseGoFloat('+Inf'), Infinity);
  t.is(parseGoFloat('abc'), null);
  t.deepEqual(parseGoInt('+007'), { value: 7, text: '7' });
  t.is(parseGoInt('9223372036854775808'), null);
  t.is(parseGoInt('1.0'), null);
  t.true(parseGoBool('True'));
  t.false(parseGoBool('0'));
  t.is(parseGoBool('yes'), null);
});
