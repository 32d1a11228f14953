// Kernel profiles: a version is the set of knobs whose [since, until) range
// contains it; a variant adds (+knob) or removes (-knob) knobs. Version sets in
// outcome clauses (`<=5.8`, `5.9..5.18`, `all`) are matched here.

import { KNOBS, KNOB_BY_NAME, type Knob } from './knobs.js';
import type { VersionItem, VersionSet } from '../lang/ast.js';

/** The kernel versions pinlab models, oldest first. */
export const VERSIONS = ['4.8', '4.9', '5.7', '5.8', '5.9', '5.10', '5.15', '5.18', '5.19', '6.1', '6.2', '6.4', '6.5', '6.6', '6.8', '6.12', '6.18'] as const;

/**
 * The long-term stable branches. Such a profile models the branch as shipped
 * today: its mainline base plus every change recorded as backported to it
 * (`Knob.backports`), including backported removals.
 */
export const LTS: readonly string[] = ['5.10', '5.15', '6.1', '6.6', '6.12'];

export interface Profile {
  /** canonical text, e.g. `5.9-fork_early_cow_pinned` */
  name: string;
  version: string;
  knobs: ReadonlySet<string>;
  mods: { op: '+' | '-'; knob: string }[];
}

const compared = new Map<string, number>();
/** Compare dotted versions numerically: -1, 0, 1. (Memoised: every profile run asks about the same few versions.) */
export function compareVersions(a: string, b: string): number {
  const key = `${a} ${b}`;
  let r = compared.get(key);
  if (r === undefined) compared.set(key, (r = compareUncached(a, b)));
  return r;
}

function compareUncached(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return 0;
}

export function isVersion(s: string): boolean {
  return /^\d+\.\d+$/.test(s);
}

/** Is a knob on in a plain version? Mainline: since <= v < until; an LTS branch also by its backports. */
export function knobInVersion(k: Knob, version: string): boolean {
  if (!isVersion(k.since)) return false; // arch features and unmerged proposals come only by +knob
  const bp = LTS.includes(version) ? k.backports?.[version] : undefined;
  if (bp) return !bp.removes;
  if (compareVersions(version, k.since) < 0) return false;
  if (k.until && compareVersions(version, k.until) >= 0) return false;
  return true;
}

const versionKnobs = new Map<string, ReadonlySet<string>>();
/** The knobs a plain version has (a fresh set the caller may change). */
export function knobsOfVersion(version: string): Set<string> {
  let known = versionKnobs.get(version);
  if (!known) {
    const set = new Set<string>();
    for (const k of KNOBS) if (knobInVersion(k, version)) set.add(k.name);
    versionKnobs.set(version, (known = set));
  }
  return new Set(known);
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

const made = new Map<string, Profile>();
/**
 * Build a profile from a version and its +/- modifications. Throws ProfileError on unknown names.
 * Memoised by its text: every scenario names the same few profiles, and the knob set is a copy of
 * a hundred names (a profile is never changed: its knobs are a ReadonlySet).
 */
export function makeProfile(version: string, mods: { op: '+' | '-'; knob: string }[]): Profile {
  const key = version + mods.map((m) => m.op + m.knob).join('');
  let p = made.get(key);
  if (!p) {
    p = makeUncached(version, mods.map((m) => ({ op: m.op, knob: m.knob })));
    if (made.size >= 4096) made.clear(); // bounded: `pinlab serve` takes profiles from its clients
    made.set(key, p);
  }
  return p;
}

function makeUncached(version: string, mods: { op: '+' | '-'; knob: string }[]): Profile {
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
  if (a === b) return true;
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

/**
 * A profile that records what a run asks of it (interp/runner.ts shares a run between profiles that
 * answer every question alike): profileMatches hands it the question whole, as a function of a
 * plain profile, instead of reading its version and knobs one by one.
 */
export const PROFILE_ASKED: unique symbol = Symbol('pinlab.profileAsked');
export interface AskingProfile extends Profile {
  [PROFILE_ASKED](key: object, ask: (p: Profile) => boolean): boolean;
}

/** Does a profile fall in the set? A variant belongs to its version for ranges and bounds. */
export function profileMatches(ms: VersionMatcher[], p: Profile): boolean {
  const asking = (p as Partial<AskingProfile>)[PROFILE_ASKED];
  if (asking) return asking.call(p, ms, (q) => profileMatches(ms, q));
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

/**
 * The profiles a version set selects, in the order written: a profile itself;
 * a range or a bound, the plain profiles pinlab knows inside it (ascending);
 * `all`, every plain profile. Duplicates are dropped.
 */
export function profilesOf(ms: VersionMatcher[]): Profile[] {
  const out: Profile[] = [];
  const seen = new Set<string>();
  const add = (p: Profile) => {
    if (!seen.has(p.name)) {
      seen.add(p.name);
      out.push(p);
    }
  };
  for (const m of ms) {
    if (m.kind === 'profile') add(m.profile);
    else for (const p of allProfiles()) if (profileMatches([m], p)) add(p);
  }
  return out;
}

/** One item of a --kernel list: `all`, `5.9`, `5.9-knob`, `5.9..6.1`, `>=5.11`. Throws ProfileError. */
export function parseVersionItem(text: string): VersionMatcher {
  if (text === 'all') return { kind: 'all' };
  const b = /^(<=|>=|<|>)(.*)$/.exec(text);
  if (b) {
    if (!isVersion(b[2]!)) throw new ProfileError(`a bound takes a version like 5.11, not '${b[2]}'`, b[1]!.length, [...VERSIONS]);
    return { kind: 'bound', op: b[1] as '<' | '<=' | '>' | '>=', version: b[2]! };
  }
  const r = /^(.*?)\.\.(.*)$/.exec(text);
  if (r) {
    for (const [v, off] of [[r[1]!, 0], [r[2]!, r[1]!.length + 2]] as const)
      if (!isVersion(v)) throw new ProfileError(`a range takes versions like 5.9..6.1, not '${v}'`, off, [...VERSIONS]);
    if (compareVersions(r[1]!, r[2]!) > 0) throw new ProfileError(`empty range '${text}': the lower end comes first`, 0, []);
    return { kind: 'range', lo: r[1]!, hi: r[2]! };
  }
  return { kind: 'profile', profile: parseProfileText(text) };
}

/** A parsed version set (a `kernels` line, a clause's `on ...`) as matchers. */
export function matchersOfSet(v: VersionSet): VersionMatcher[] {
  if (v.kind === 'all') return [{ kind: 'all' }];
  return v.items.map((it: VersionItem): VersionMatcher => {
    switch (it.kind) {
      case 'profile':
        return { kind: 'profile', profile: makeProfile(it.ref.version, it.ref.mods) };
      case 'range':
        return { kind: 'range', lo: it.lo.version, hi: it.hi.version };
      case 'bound':
        return { kind: 'bound', op: it.op, version: it.ref.version };
    }
  });
}

/** The profiles a scenario runs on by default: its kernels line, or every plain profile. */
export function kernelsOf(kernels: VersionSet | null): Profile[] {
  return kernels ? profilesOf(matchersOfSet(kernels)) : allProfiles();
}
