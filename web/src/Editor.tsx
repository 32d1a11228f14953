// The scenario editor: a transparent <textarea> over a highlighted <pre> with
// the same font metrics, scroll-synced; inline error (underlined column, the
// message under the line) and the highlighted current step line.

import { useLayoutEffect, useMemo, useRef, useState } from 'preact/hooks';
import type { ParseError } from './api.js';
import { markColumn, tokenizeLine, type Tok } from './highlight.js';

interface Props {
  text: string;
  onInput: (text: string) => void;
  error: ParseError | null;
  /** 1-based line of the step being viewed */
  activeLine: number | null;
  /** lines that raised a violation in the viewed step */
  violationLine: number | null;
}

function toks(ts: Tok[]) {
  return ts.map(([t, c], i) => (c ? <span key={i} class={'t-' + c}>{t}</span> : t));
}

/** The on-screen column of a 0-based character column (tabs are 8 wide). */
function visualCol(line: string, col: number): number {
  let v = 0;
  for (let i = 0; i < col && i < line.length; i++) v = line[i] === '\t' ? v + 8 - (v % 8) : v + 1;
  return v + Math.max(0, col - line.length);
}

export function Editor({ text, onInput, error, activeLine, violationLine }: Props) {
  const ta = useRef<HTMLTextAreaElement>(null);
  const back = useRef<HTMLDivElement>(null);
  const gutter = useRef<HTMLDivElement>(null);
  const lines = useMemo(() => text.split('\n'), [text]);
  const probe = useRef<HTMLSpanElement>(null);
  const msgRef = useRef<HTMLDivElement>(null);
  // the visible text columns [first, last), to keep the inline message on screen
  const [view, setView] = useState({ first: 0, cols: 80, ch: 8 });
  const measure = () => {
    const t = ta.current;
    const p = probe.current;
    if (!t || !p) return;
    const ch = p.getBoundingClientRect().width / 10 || 8;
    const next = { first: Math.floor(t.scrollLeft / ch), cols: Math.floor((t.clientWidth - 20) / ch), ch };
    setView((v) => (v.first === next.first && v.cols === next.cols && v.ch === next.ch ? v : next));
  };
  useLayoutEffect(() => {
    measure();
    const ro = new ResizeObserver(measure);
    if (ta.current) ro.observe(ta.current);
    return () => ro.disconnect();
  }, []);

  const sync = () => {
    const t = ta.current;
    if (!t) return;
    if (back.current) {
      back.current.scrollTop = t.scrollTop;
      back.current.scrollLeft = t.scrollLeft;
    }
    if (gutter.current) gutter.current.scrollTop = t.scrollTop;
    measure();
  };
  useLayoutEffect(sync);

  // keep the active step line in view
  useLayoutEffect(() => {
    const t = ta.current;
    if (!t || activeLine == null) return;
    const lh = parseFloat(getComputedStyle(t).lineHeight) || 18;
    const y = (activeLine - 1) * lh;
    if (y < t.scrollTop || y + lh * 2 > t.scrollTop + t.clientHeight) {
      t.scrollTop = Math.max(0, y - t.clientHeight / 3);
      sync();
    }
  }, [activeLine]);

  /** the message starts under the error column, moved left if it would run off the visible text */
  const errLeft = (vcol: number): number => {
    const w = msgRef.current?.getBoundingClientRect().width ?? 0;
    const right = (view.first + view.cols) * view.ch;
    const x = vcol * view.ch;
    return Math.max(view.first * view.ch, Math.min(x, right - w));
  };
  useLayoutEffect(() => {
    // re-place once the message's own width is known
    if (msgRef.current) setView((v) => ({ ...v }));
  }, [error?.message, error?.line, error?.column]);

  const errLine = error && error.line >= 1 && error.line <= lines.length ? error.line : error ? lines.length : null;

  return (
    <div class="editor">
      <div class="gutter" ref={gutter} aria-hidden="true">
        <div class="gutter-inner">
          {lines.map((_, i) => (
            <div
              key={i}
              class={
                'gl' +
                (i + 1 === errLine ? ' gl-err' : '') +
                (i + 1 === activeLine ? ' gl-active' : '') +
                (i + 1 === violationLine ? ' gl-viol' : '')
              }
            >
              {i + 1}
            </div>
          ))}
          <div class="gl"> </div>
        </div>
      </div>
      <div class="code">
        <div class="backdrop" ref={back} aria-hidden="true">
          <span ref={probe} class="probe" aria-hidden="true">
            0000000000
          </span>
          <pre class="hl">
            {lines.map((line, i) => {
              const n = i + 1;
              const cls =
                'line' + (n === activeLine ? ' line-active' : '') + (n === violationLine ? ' line-viol' : '') + (n === errLine ? ' line-err' : '');
              if (error && n === errLine) {
                const col = Math.max(0, error.column - 1);
                const t = tokenizeLine(line);
                const { before, at, after } = markColumn(t, col);
                return (
                  <div key={i} class={cls}>
                    {toks(before)}
                    <span class="err-mark" data-testid="editor-error-mark">
                      {at ? <span class={'t-' + at[1]}>{at[0]}</span> : ' '}
                    </span>
                    {toks(after)}
                    <div class="err-inline" data-testid="editor-error" ref={msgRef} style={{ left: `${errLeft(visualCol(line, col))}px` }}>
                      <span class="err-caret">^ </span>
                      <span class="err-pos">
                        {error.line}:{error.column}
                      </span>{' '}
                      {error.message}
                    </div>
                  </div>
                );
              }
              return (
                <div key={i} class={cls}>
                  {toks(tokenizeLine(line))}
                </div>
              );
            })}
          </pre>
        </div>
        <textarea
          ref={ta}
          class="input"
          data-testid="editor-input"
          spellcheck={false}
          autocomplete="off"
          autocapitalize="off"
          wrap="off"
          value={text}
          onInput={(e) => onInput((e.currentTarget as HTMLTextAreaElement).value)}
          onScroll={sync}
          onKeyDown={(e) => {
            if (e.key === 'Tab' && !e.ctrlKey && !e.metaKey && !e.altKey) {
              // two spaces, as in the corpus's par blocks
              e.preventDefault();
              const t = e.currentTarget as HTMLTextAreaElement;
              const s = t.selectionStart;
              const v = t.value;
              const nv = v.slice(0, s) + '  ' + v.slice(t.selectionEnd);
              onInput(nv);
              requestAnimationFrame(() => {
                t.selectionStart = t.selectionEnd = s + 2;
              });
            }
          }}
        />
      </div>
    </div>
  );
}
