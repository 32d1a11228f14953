// Kernel profiles: a version is the set of knobs whose [since, until) range
// contains it; a variant adds (+knob) or removes (-knob) knobs. Version sets in
// outcome clauses (`<=5.8`, `5.9..5.18`, `all`) are matched here.

import { KNOBS, KNOB_BY_NAME } from './knobs.js';

/** The kernel versions pinlab models, oldest first. */
export const VERSIONS = ['4.8', '4.9', '5.7', '5.8', '5.9', '5.18', '5.19', '6.2', '6.4', '6.5', '6.8', '6.18'] as const;

export interface Profile {
  /** canonical text, e.g. `5.9-fork_early_cow_pinned` */
  name: string;
  version: string;
  knobs: ReadonlySet<string>;
  mods: { op: '+' | '-'; knob: string }[];
}

/** Compare dotted versions numerically: -1, 0, 1. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return 0;
}

function isVersion(s: string): boolean {
  return /^\d+\.\d+$/.test(s);
}

/** The knobs a plain version has. */
export function knobsOfVersion(version: string): Set<string> {
  const set = new Set<string>();
  for (const k of KNOBS) {
    if (!isVersion(k.since)) continue; // arch features and unmerged proposals come only by +knob
    if (compareVersions(version, k.since) < 0) continue;
    if (k.until && compareVersions(version, k.until) >= 0) continue;
    set.add(k.name);
  }
  return set;
}

export class ProfileError extends Error {
  constructor(
    message: string,
    /** offset of the offending part inside the profile text */
    public readonly offset: number,
    public readonly suggestions: string[],
  ) {
    super(message);
  }
}

/** Build a profile from a version and its +/- modifications. Throws ProfileError on unknown names. */
export function makeProfile(version: string, mods: { op: '+' | '-'; knob: string }[]): Profile {
  if (!(VERSIONS as readonly string[]).includes(version)) {
    throw new ProfileError(`unknown kernel profile '${version}'`, 0, [...VERSIONS]);
  }
  const knobs = knobsOfVersion(version);
  let offset = version.length;
  for (const m of mods) {
    if (!KNOB_BY_NAME.has(m.knob)) {
      throw new ProfileError(`unknown knob '${m.knob}'`, offset + 1, KNOBS.map((k) => k.name));
    }
    if (m.op === '+') knobs.add(m.knob);
    else knobs.delete(m.knob);
    offset += 1 + m.knob.length;
  }
  const name = version + mods.map((m) => m.op + m.knob).join('');
  return { name, version, knobs, mods };
}

/** Parse profile text like `6.2+upm_v10-restricted_aops`. */
export function parseProfileText(text: string): Profile {
  const m = /^(\d+\.\d+)((?:[+-][A-Za-z_][A-Za-z0-9_]*)*)$/.exec(text);
  if (!m) throw new ProfileError(`malformed kernel profile '${text}'`, 0, [...VERSIONS]);
  const mods: { op: '+' | '-'; knob: string }[] = [];
  const re = /([+-])([A-Za-z_][A-Za-z0-9_]*)/g;
  let mm: RegExpExecArray | null;
  while ((mm = re.exec(m[2]!))) mods.push({ op: mm[1] as '+' | '-', knob: mm[2]! });
  return makeProfile(m[1]!, mods);
}

/** All plain profiles (the default set for `--kernel all`). */
export function allProfiles(): Profile[] {
  return VERSIONS.map((v) => makeProfile(v, []));
}

function sameProfile(a: Profile, b: Profile): boolean {
  if (a.version !== b.version || a.knobs.size !== b.knobs.size) return false;
  for (const k of a.knobs) if (!b.knobs.has(k)) return false;
  return true;
}

/** A resolved version-set item (see ast.ts VersionItem). */
export type VersionMatcher =
  | { kind: 'all' }
  | { kind: 'profile'; profile: Profile }
  | { kind: 'range'; lo: string; hi: string }
  | { kind: 'bound'; op: '<' | '<=' | '>' | '>='; version: string };

/** Does a profile fall in the set? A variant belongs to its version for ranges and bounds. */
export function profileMatches(ms: VersionMatcher[], p: Profile): boolean {
  return ms.some((m) => {
    switch (m.kind) {
      case 'all':
        return true;
      case 'profile':
        return sameProfile(m.profile, p);
      case 'range':
        return compareVersions(p.version, m.lo) >= 0 && compareVersions(p.version, m.hi) <= 0;
      case 'bound': {
        const c = compareVersions(p.version, m.version);
        return m.op === '<' ? c < 0 : m.op === '<=' ? c <= 0 : m.op === '>' ? c > 0 : c >= 0;
      }
    }
  });
}
