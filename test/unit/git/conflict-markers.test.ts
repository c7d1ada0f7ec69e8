import test from 'ava';
import { hasConflictMarkers } from '../../../src/git/conflict.js';

test('sees start, separator and end markers at line starts', (t) => {
  t.true(hasConflictMarkers('a: 1\n<<<<<<< HEAD\nb: 1\n=======\nb: 2\n>>>>>>> feature\n'));
  t.true(hasConflictMarkers(new TextEncoder().encode('<<<<<<< ours\r\nx\r\n=======\r\ny\r\n>>>>>>> theirs\r\n')));
  t.true(hasConflictMarkers('<<<<<<< HEAD\nx\n||||||| base\nw\n=======\ny\n>>>>>>> b\n'));
});

test('ignores marker-like text that is not a conflict', (t) => {
  t.false(hasConflictMarkers('title: x\n=======\n'));
  t.false(hasConflictMarkers('  <<<<<<< HEAD\n=======\n>>>>>>> b\n'));
  t.false(hasConflictMarkers('>>>>>>> b\n=======\n<<<<<<< HEAD\n'));
  t.false(hasConflictMarkers('<<<<<<<< HEAD\n=======\n>>>>>>> b\n'));
  t.false(hasConflictMarkers('value: ENC[AES256_GCM,data:PD09PT09PQ==]\n'));
});
