import { test } from 'node:test';
import assert from 'node:assert/strict';
import { check } from './check.js';
import { kv, kvModel } from './kv-model.js';
import { done, lost } from './test-support.js';
import { escapeHtml, renderTimelineHtml } from './timeline-html.js';

test('renderTimelineHtml draws the offending key with the blocking operation marked', () => {
  const history = [
    done(1, 0, 10, kv.put('x', '<1>'), {}),
    done(1, 20, 30, kv.put('x', '2'), {}),
    lost(3, 22, kv.put('x', '3')),
    done(2, 40, 50, kv.get('x'), { value: '<1>' }),
    done(4, 0, 5, kv.put('other', 'o'), {}),
  ];
  const result = check(history, kvModel);
  assert.equal(result.verdict, 'illegal');
  const html = renderTimelineHtml(result);
  assert.match(html, /^<!DOCTYPE html>/);
  assert.match(html, /<svg [^>]*>/);
  assert.match(html, /not linearizable on key &quot;x&quot;/);
  for (const client of [1, 2, 3]) assert.match(html, new RegExp(`>client ${client}<`));
  assert.doesNotMatch(html, />client 4</, 'another key’s operations are not drawn');
  assert.match(html, /get\(\) → &quot;&lt;1&gt;&quot;/, 'values are escaped');
  assert.doesNotMatch(html, /<1>/);
  assert.match(html, /fill="#f4a3a3" stroke="#c00"/, 'the blocking read is drawn in red');
  assert.match(html, /stroke-dasharray/, 'the unknown-outcome put is dashed');
  assert.doesNotMatch(html, /<script|https?:\/\/(?!www\.w3\.org)/, 'self-contained');
});

test('renderTimelineHtml without a counterexample states the verdict only', () => {
  const html = renderTimelineHtml(check([done(1, 0, 1, kv.put('x', 'a'), {})], kvModel));
  assert.match(html, /Verdict <b>ok<\/b>/);
  assert.doesNotMatch(html, /<svg/);
});

test('escapeHtml escapes markup and quotes', () => {
  assert.equal(escapeHtml(`<a href="x">'&'</a>`), '&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
});
