// Shareable URLs: `#s=` + base64url(UTF-8 text) restores a scenario;
// `#c=ID` opens a corpus scenario.

export function encodeText(text: string): string {
  const bytes = new TextEncoder().encode(text);
  let bin = '';
  for (let i = 0; i < bytes.length; i++) bin += String.fromCharCode(bytes[i]!);
  return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

export function decodeText(s: string): string | null {
  try {
    const b64 = s.replace(/-/g, '+').replace(/_/g, '/');
    const bin = atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4));
    const bytes = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return null;
  }
}

export type HashState = { kind: 'text'; text: string } | { kind: 'corpus'; id: string } | null;

export function readHash(hash: string): HashState {
  const h = hash.replace(/^#/, '');
  const params = new URLSearchParams(h);
  const s = params.get('s');
  if (s != null) {
    const text = decodeText(s);
    if (text != null) return { kind: 'text', text };
  }
  const c = params.get('c');
  if (c) return { kind: 'corpus', id: c };
  return null;
}

/** The URL that restores `text` (the page's own address with a `#s=` hash). */
export function shareUrl(text: string): string {
  return location.origin + location.pathname + '#s=' + encodeText(text);
}
