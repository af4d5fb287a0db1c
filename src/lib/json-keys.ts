/**
 * Counting the keys of JSON text without building anything: how the decision learns, before it walks
 * two objects, that they hold more map keys than it may read in one request. Reading N keys costs V8
 * O(N log N) whatever the walk does (listing the keys of a map with 380,000 of them takes ~90 ms on its
 * own), so the bound has to be known before the first key is listed.
 */

const BACKSLASH = 0x5c;
const COLON = 0x3a;

/** True when the quote at `at` is escaped: an odd run of backslashes right before it. */
function escaped(text: string, at: number): boolean {
  let b = at - 1;
  while (text.charCodeAt(b) === BACKSLASH) b -= 1;
  return ((at - 1 - b) & 1) === 1;
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

/**
 * True when `text`, valid JSON (it has been parsed), holds more than `limit` object keys, duplicates
 * counted each time. One pass from string to string, each quote looked at once (a run of backslashes
 * is read only by the quote it ends at), stopping as soon as the count passes `limit`; text shorter
 * than 4 × (limit + 1) characters is answered without reading it (a key takes at least its two quotes,
 * a colon and a value).
 */
export function moreJsonKeysThan(text: string, limit: number): boolean {
  if (text.length < 4 * (limit + 1)) return false;
  let keys = 0;
  let open = text.indexOf('"');
  while (open !== -1) {
    let close = text.indexOf('"', open + 1);
    while (close !== -1 && escaped(text, close)) close = text.indexOf('"', close + 1);
    if (close === -1) return false; // not JSON: the parser has already refused it
    let next = close + 1;
    while (isSpace(text.charCodeAt(next))) next += 1;
    // Outside strings, a string followed by a colon is a key; a colon inside a string is never reached.
    if (text.charCodeAt(next) === COLON) {
      keys += 1;
      if (keys > limit) return true;
    }
    open = text.indexOf('"', next);
  }
  return false;
}
