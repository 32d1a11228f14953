// The state diagram of one profile at one step:
//   processes -> VMAs -> PTEs (P/W/D)  ->  folios  <-  pins (devices)  /  files (page cache, disk)
// with an SVG overlay of edges recomputed after layout.

import type { ComponentChildren } from 'preact';
import { useLayoutEffect, useRef, useState } from 'preact/hooks';
import type { Folio, Pin, Pte, Snapshot, Step, Vma } from './api.js';
import { hexPage } from './api.js';
import { diskKey, folioKey, pinKey, procKey, pteKey, slotKey, spteKey, vmaKey, type DiffMap } from './diff.js';

interface Props {
  testid: string;
  profile: string;
  snap: Snapshot;
  step: Step | null;
  /** keys that differ from the other profile, with what differs */
  diff: DiffMap | null;
  otherName: string | null;
  /** folio id -> role in the current step's violation ("device wrote") */
  marked: Map<number, string>;
  /** page number -> the scenario's name for the mapping starting there (x = mmap(...)) */
  names: Map<number, string>;
  /** processes not created yet at this step */
  unborn: Set<string>;
}

/** `x[i]` when va lies in a mapping the scenario named, else the address. */
function addrLabel(va: number, vmas: Vma[], names: Map<number, string>): string {
  const v = vmaOf(vmas, va);
  if (v) {
    // the nearest named start inside this VMA
    for (let s = va; s >= v.start; s--) {
      const n = names.get(s);
      if (n) return `${n}[${va - s}]`;
    }
  }
  return hexPage(va);
}

interface Edge {
  from: string;
  to: string;
  kind: 'pte' | 'pte-ro' | 'pin' | 'pin-off' | 'slot' | 'spte' | 'dev';
  label?: string;
  bad?: boolean;
}

interface Drawn {
  d: string;
  kind: string;
  bad: boolean;
  label?: { x: number; y: number; text: string };
}

function Diff({ k, diff, otherName }: { k: string; diff: DiffMap | null; otherName: string | null }) {
  const s = diff?.get(k);
  if (!s) return null;
  return (
    <span class="neq" title={`this ↔ ${otherName}: ${s}`} data-testid="neq">
      ≠
    </span>
  );
}

function Badge({ on, children, cls, title }: { on: boolean | undefined; children: ComponentChildren; cls?: string; title?: string }) {
  if (!on) return null;
  return (
    <span class={'badge ' + (cls ?? '')} title={title}>
      {children}
    </span>
  );
}

function vmaOf(vmas: Vma[], va: number): Vma | undefined {
  return vmas.find((v) => va >= v.start && va < v.start + v.pages);
}

const showVal = (v: string) => (v.length === 1 && v !== '0' ? `'${v}'` : v);

export function Diagram({ testid, profile, snap, step, diff, otherName, marked, names, unborn }: Props) {
  const root = useRef<HTMLDivElement>(null);
  const [drawn, setDrawn] = useState<{ w: number; h: number; paths: Drawn[] }>({ w: 0, h: 0, paths: [] });
  const dk = (k: string) => (diff?.has(k) ? ' differs' : '');

  // ---- edges
  const edges: Edge[] = [];
  const referenced = new Set<number>();
  for (const p of snap.procs)
    for (const t of p.ptes)
      if (t.folio != null && (t.present || t.pmd)) {
        referenced.add(t.folio);
        edges.push({ from: 'pte:' + p.name + ':' + t.va, to: 'folio:' + t.folio, kind: t.write ? 'pte' : 'pte-ro', bad: marked.has(t.folio) });
      }
  for (const s of snap.secondaries)
    for (const e of s.sptes) {
      referenced.add(e.folio);
      edges.push({ from: 'spte:' + s.name + ':' + e.va, to: 'folio:' + e.folio, kind: 'spte' });
    }
  for (const pin of snap.pins)
    for (const f of pin.folios) {
      referenced.add(f);
      edges.push({ from: 'pin:' + pin.id, to: 'folio:' + f, kind: pin.active ? 'pin' : 'pin-off', label: pin.name ?? `pin#${pin.id}`, bad: marked.has(f) });
    }
  for (const file of snap.files)
    file.cache.forEach((f, i) => {
      if (f == null) return;
      referenced.add(f);
      edges.push({ from: 'slot:' + file.name + ':' + i, to: 'folio:' + f, kind: 'slot' });
    });
  // the device acting in this step, to the pins it names
  const actingDev = step && snap.devices.includes(step.actor) ? step.actor : null;
  if (actingDev && step) {
    for (const pin of snap.pins) {
      if (pin.name && new RegExp(`\\b${pin.name}\\b`).test(step.text.replace(/^[^:]*:/, ''))) {
        edges.push({ from: 'dev:' + actingDev, to: 'pin:' + pin.id, kind: 'dev', label: step.text.replace(/^\s*\w+:\s*/, '').replace(/^\w+\s*=\s*/, ''), bad: step.violations.length > 0 });
      }
    }
  }
  const folios = snap.folios
    .filter((f) => f.id !== 0 || referenced.has(0) || marked.has(0))
    .filter((f) => !f.freed || referenced.has(f.id) || marked.has(f.id) || diff?.has(folioKey(f.id)))
    .sort((a, b) => a.id - b.id);

  const edgeKey = JSON.stringify(edges);
  useLayoutEffect(() => {
    const el = root.current;
    if (!el) return;
    const compute = () => {
      const base = el.getBoundingClientRect();
      const find = (a: string) => el.querySelector(`[data-a="${CSS.escape(a)}"]`) as HTMLElement | null;
      const paths: Drawn[] = [];
      // spread the ends arriving on the same side of one card
      const arriving = new Map<string, Edge[]>();
      for (const e of edges) {
        if (e.kind === 'dev') continue;
        const a = find(e.from);
        const b = find(e.to);
        if (!a || !b) continue;
        const side = a.getBoundingClientRect().left < b.getBoundingClientRect().left ? 'L' : 'R';
        const key = e.to + side;
        arriving.set(key, [...(arriving.get(key) ?? []), e]);
      }
      const endY = (e: Edge, side: string, rb: DOMRect): number => {
        const list = arriving.get(e.to + side) ?? [e];
        const k = list.indexOf(e);
        if (list.length <= 1) return rb.top + Math.min(22, rb.height / 2);
        const top = rb.top + 12;
        const span = Math.min(rb.height - 20, 16 * (list.length - 1));
        return top + (span * k) / (list.length - 1);
      };
      for (const e of edges) {
        const a = find(e.from);
        const b = find(e.to);
        if (!a || !b) continue;
        const ra = a.getBoundingClientRect();
        const rb = b.getBoundingClientRect();
        let x1: number, y1: number, x2: number, y2: number;
        if (e.kind === 'dev') {
          // device box above its pin: down the right column (the device box says what it does)
          x1 = ra.left + 24 - base.left;
          y1 = ra.bottom - base.top;
          x2 = rb.left + 24 - base.left;
          y2 = rb.top - base.top;
          const my = (y1 + y2) / 2;
          paths.push({ d: `M${x1},${y1} C${x1},${my} ${x2},${my} ${x2},${y2}`, kind: e.kind, bad: !!e.bad });
          continue;
        }
        const fromRight = ra.left < rb.left; // source left of the folio column
        x1 = (fromRight ? ra.right : ra.left) - base.left;
        y1 = ra.top + ra.height / 2 - base.top;
        x2 = (fromRight ? rb.left : rb.right) - base.left;
        y2 = endY(e, fromRight ? 'L' : 'R', rb) - base.top;
        const dx = Math.max(30, Math.abs(x2 - x1) / 2) * (fromRight ? 1 : -1);
        const label = e.label ? { x: x1 + (fromRight ? 6 : -6), y: y1 - 4, text: e.label } : undefined;
        paths.push({ d: `M${x1},${y1} C${x1 + dx},${y1} ${x2 - dx},${y2} ${x2},${y2}`, kind: e.kind, bad: !!e.bad, ...(label ? { label } : {}) });
      }
      const next = { w: el.scrollWidth, h: el.scrollHeight, paths };
      setDrawn((old) => (JSON.stringify(old) === JSON.stringify(next) ? old : next));
    };
    compute();
    const ro = new ResizeObserver(compute);
    ro.observe(el);
    return () => ro.disconnect();
  }, [edgeKey, snap, diff]);

  const folioRole = (f: Folio) => marked.get(f.id);

  return (
    <div class="diagram" data-testid={testid} data-profile={profile} ref={root}>
      <svg class="edges" width={drawn.w} height={drawn.h} aria-hidden="true">
        <defs>
          {['pte', 'pte-ro', 'pin', 'pin-off', 'slot', 'spte', 'dev', 'bad'].map((k) => (
            <marker key={k} id={`arrow-${testid}-${k}`} viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
              <path d="M0,0 L10,5 L0,10 z" class={'arrow-' + k} />
            </marker>
          ))}
        </defs>
        {drawn.paths.map((p, i) => (
          <g key={i} class={'edge edge-' + p.kind + (p.bad ? ' edge-bad' : '')}>
            <path d={p.d} marker-end={`url(#arrow-${testid}-${p.bad ? 'bad' : p.kind})`} />
            {p.label && (
              <text x={p.label.x} y={p.label.y} text-anchor={p.kind === 'dev' ? 'start' : 'end'}>
                {p.label.text}
              </text>
            )}
          </g>
        ))}
      </svg>

      <div class="dcol dcol-procs">
        <div class="dcol-title">processes · VMAs · PTEs</div>
        {snap.procs.every((p) => unborn.has(p.name)) && <div class="empty">no process yet</div>}
        {snap.procs.filter((p) => !unborn.has(p.name)).map((p) => {
          const orphan = p.ptes.filter((t) => !vmaOf(p.vmas, t.va));
          return (
            <div key={p.name} class={'proc' + (p.alive ? '' : ' dead') + dk(procKey(p.name))} data-testid={`proc-${p.name}`}>
              <div class="proc-head">
                process <b>{p.name}</b> {!p.alive && <span class="badge dead">exited</span>}
                <Diff k={procKey(p.name)} diff={diff} otherName={otherName} />
              </div>
              {p.vmas.length === 0 && <div class="empty">no mappings</div>}
              {p.vmas.map((v) => (
                <div key={v.start} class={'vma' + dk(vmaKey(p.name, v.start))}>
                  <div class="vma-head" title={`VMA ${hexPage(v.start)}..${hexPage(v.start + v.pages)}`}>
                    {names.get(v.start) && <b class="mono">{names.get(v.start)} = </b>}
                    <span class="mono">{hexPage(v.start)}</span> ×{v.pages} <span class="mono">{v.prot}</span> {v.shared ? 'shared' : 'private'}{' '}
                    {v.file ? <span class="badge file">{v.file}</span> : <span class="badge anon">anon</span>}
                    {v.flags.map((f) => (
                      <span key={f} class="badge vflag">
                        {f}
                      </span>
                    ))}
                    <Diff k={vmaKey(p.name, v.start)} diff={diff} otherName={otherName} />
                  </div>
                  {p.ptes
                    .filter((t) => vmaOf([v], t.va))
                    .map((t) => (
                      <PteRow
                        key={t.va}
                        proc={p.name}
                        t={t}
                        label={addrLabel(t.va, p.vmas, names)}
                        diff={diff}
                        otherName={otherName}
                        marked={t.folio != null && marked.has(t.folio)}
                      />
                    ))}
                  {!p.ptes.some((t) => vmaOf([v], t.va)) && <div class="empty">no PTEs (nothing faulted in)</div>}
                </div>
              ))}
              {orphan.map((t) => (
                <PteRow key={t.va} proc={p.name} t={t} label={hexPage(t.va)} diff={diff} otherName={otherName} marked={t.folio != null && marked.has(t.folio)} />
              ))}
            </div>
          );
        })}
        {snap.secondaries.map((s) => (
          <div key={s.name} class="proc secondary" data-testid={`secondary-${s.name}`}>
            <div class="proc-head">
              secondary MMU <b>{s.name}</b> of {s.of}
            </div>
            {s.sptes.length === 0 && <div class="empty">no SPTEs</div>}
            {s.sptes.map((e) => (
              <div key={e.va} class={'pte' + dk(spteKey(s.name, e.va))} data-a={'spte:' + s.name + ':' + e.va}>
                <span class="mono va" title={hexPage(e.va)}>
                  {addrLabel(e.va, snap.procs.find((p) => p.name === s.of)?.vmas ?? [], names)}
                </span>
                <span class="pbadge on">S</span>
                <span class={'pbadge ' + (e.write ? 'on' : 'off')} title="writable">
                  W
                </span>
                <span class="to">→ #{e.folio}</span>
                <Diff k={spteKey(s.name, e.va)} diff={diff} otherName={otherName} />
              </div>
            ))}
          </div>
        ))}
      </div>

      <div class="dcol dcol-folios">
        <div class="dcol-title">folios (physical pages)</div>
        {folios.length === 0 && <div class="empty">no folios</div>}
        {folios.map((f) => (
          <FolioCard key={f.id} f={f} role={folioRole(f)} diff={diff} otherName={otherName} />
        ))}
      </div>

      <div class="dcol dcol-right">
        <div class="dcol-title">devices · pins</div>
        {snap.devices.map((d) => (
          <div key={d} class={'device' + (d === actingDev ? ' acting' : '') + (d === actingDev && step?.violations.length ? ' bad' : '')} data-a={'dev:' + d}>
            device <b>{d}</b>
            {d === actingDev && step && <div class="acting-what mono">{step.text.replace(/^\s*\w+:\s*/, '')}</div>}
          </div>
        ))}
        {snap.pins.length === 0 && <div class="empty">no pins or references held</div>}
        {snap.pins.map((p) => (
          <PinBox key={p.id} p={p} label={addrLabel(p.va, snap.procs.find((q) => q.name === p.owner)?.vmas ?? [], names)} diff={diff} otherName={otherName} />
        ))}
        {snap.files.length > 0 && <div class="dcol-title">files · page cache · disk</div>}
        {snap.files.map((f) => (
          <div key={f.name} class="filebox" data-testid={`file-${f.name}`}>
            <div class="file-head">
              file <b>{f.name}</b> on {f.fs} · {f.size} page{f.size === 1 ? '' : 's'}
            </div>
            <table class="slots">
              <thead>
                <tr>
                  <th>page</th>
                  <th>cache</th>
                  <th>disk</th>
                </tr>
              </thead>
              <tbody>
                {Array.from({ length: Math.max(f.size, f.cache.length, f.disk.length) }, (_, i) => (
                  <tr key={i}>
                    <td>{i}</td>
                    <td class={'slot' + dk(slotKey(f.name, i))} data-a={'slot:' + f.name + ':' + i}>
                      {f.cache[i] != null ? `#${f.cache[i]}` : '—'}
                      <Diff k={slotKey(f.name, i)} diff={diff} otherName={otherName} />
                    </td>
                    <td class={'disk mono' + dk(diskKey(f.name, i))}>
                      {f.disk[i] !== undefined ? showVal(f.disk[i]!) : '—'}
                      <Diff k={diskKey(f.name, i)} diff={diff} otherName={otherName} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        ))}
      </div>
    </div>
  );
}

function PteRow(props: { proc: string; t: Pte; label: string; diff: DiffMap | null; otherName: string | null; marked: boolean }) {
  const { proc, t, diff, otherName, marked } = props;
  const k = pteKey(proc, t.va);
  const special = [t.pmd && 'PMD', t.special && 'special', t.swap && 'swap entry', t.migration && 'migration entry', t.hwpoison && 'hwpoison'].filter(Boolean);
  return (
    <div class={'pte' + (diff?.has(k) ? ' differs' : '') + (marked ? ' marked' : '')} data-a={k} data-testid={`pte-${proc}-${t.va}`}>
      <span class="mono va" title={`PTE for ${hexPage(t.va)}`}>
        {props.label}
      </span>
      <span class={'pbadge ' + (t.present ? 'on' : 'off')} title={t.present ? 'present' : 'not present'}>
        P
      </span>
      <span class={'pbadge ' + (t.write ? 'on' : 'off')} title={t.write ? 'writable' : 'write-protected: a write faults'}>
        W
      </span>
      <span class={'pbadge ' + (t.dirty ? 'on' : 'off')} title={t.dirty ? 'dirty' : 'clean'}>
        D
      </span>
      {special.map((s) => (
        <span key={String(s)} class="badge vflag">
          {s}
        </span>
      ))}
      <span class="to">{t.folio != null ? `→ #${t.folio}` : ''}</span>
      <Diff k={k} diff={diff} otherName={otherName} />
    </div>
  );
}

function FolioCard({ f, role, diff, otherName }: { f: Folio; role: string | undefined; diff: DiffMap | null; otherName: string | null }) {
  const k = folioKey(f.id);
  return (
    <div
      class={'folio' + (diff?.has(k) ? ' differs' : '') + (role !== undefined ? ' marked' : '') + (f.freed ? ' freed' : '') + (f.pins > 0 || f.pincount > 0 ? ' pinned' : '')}
      data-a={k}
      data-testid={`folio-${f.id}`}
      data-marked={role !== undefined ? 'true' : 'false'}
      data-differs={diff?.has(k) ? 'true' : 'false'}
    >
      <div class="folio-head">
        <span class="folio-id">{f.id === 0 || f.zero ? 'zero page' : `folio #${f.id}`}</span>
        <span class="folio-val mono" title="the page's content">
          {showVal(f.value)}
        </span>
        <Diff k={k} diff={diff} otherName={otherName} />
      </div>
      {role !== undefined && (
        <div class="folio-role" data-testid="folio-role">
          ⚠ {role || 'named by the violation'}
        </div>
      )}
      <div class="counts mono">
        <span title="folio_ref_count(): mappings, GUP references, GUP_PIN_COUNTING_BIAS (1024) per FOLL_PIN pin of a small folio, page-cache and swap-cache references">
          ref {f.refcount}
        </span>
        <span title="folio_mapcount(): page-table mappings">map {f.mapcount}</span>
        {(f.large || f.pincount > 0) && <span title="folio->_pincount (large folios count FOLL_PIN pins here)">pincount {f.pincount}</span>}
        <span title="FOLL_PIN pins held on this folio (the kernel sees them only through the refcount bias or _pincount)">pins {f.pins}</span>
      </div>
      <div class="badges">
        <Badge on={f.anon} cls="anon" title="anonymous memory">
          anon
        </Badge>
        <Badge on={f.exclusive === true} cls="excl" title="PageAnonExclusive: only one process maps it, a write fault may reuse it">
          excl
        </Badge>
        <Badge on={!!f.file} cls="file" title="page-cache page">
          {f.file}
          {f.index != null ? `[${f.index}]` : ''}
        </Badge>
        <Badge on={f.pins > 0} cls="pinned" title="held by pins">
          pinned{f.pins > 1 ? ` ×${f.pins}` : ''}
        </Badge>
        <Badge on={f.dirty} cls="dirty" title="PG_dirty">
          dirty
        </Badge>
        <Badge on={f.writeback} cls="wb" title="PG_writeback: I/O in flight">
          wb
        </Badge>
        <Badge on={f.buffers} cls="bufs" title="buffer heads attached (PG_private)">
          bufs
        </Badge>
        <Badge on={f.swapcache} title="in the swap cache">
          swapcache
        </Badge>
        <Badge on={f.large} title="a large folio (THP)">
          THP{f.head != null && f.head !== f.id ? ` tail of #${f.head}` : ''}
        </Badge>
        <Badge on={f.hugetlb}>hugetlb</Badge>
        <Badge on={f.ksm}>KSM</Badge>
        <Badge on={f.secure} cls="bad" title="belongs to a protected guest">
          secure
        </Badge>
        <Badge on={f.freed} cls="dead" title="freed: back in the allocator">
          freed
        </Badge>
      </div>
    </div>
  );
}

function PinBox({ p, label, diff, otherName }: { p: Pin; label: string; diff: DiffMap | null; otherName: string | null }) {
  const k = pinKey(p.id);
  return (
    <div class={'pin' + (p.active ? '' : ' released') + (diff?.has(k) ? ' differs' : '')} data-a={k} data-testid={`pin-${p.name ?? p.id}`}>
      <div>
        {p.kind === 'pipe' ? 'pipe ref' : p.kind === 'dio' ? 'O_DIRECT pin' : 'pin'} <b>{p.name ?? `#${p.id}`}</b> by {p.owner}
        {!p.active && <span class="badge dead">released</span>}
        <Diff k={k} diff={diff} otherName={otherName} />
      </div>
      <div class="mono small">
        <span title={hexPage(p.va)}>{label}</span> ×{p.pages} · {(p.foll || '0').replace(/\|/g, '|\u200b')}
      </div>
    </div>
  );
}
