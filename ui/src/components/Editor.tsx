// The PromQL editor: the Prometheus project's CodeMirror PromQL mode, with
// completion of metric names, label names and values from argus's API and
// syntax errors marked inline. Enter runs the query; Shift-Enter adds a line.
import { useEffect, useRef } from 'preact/hooks';
import { EditorView, keymap, placeholder } from '@codemirror/view';
import { EditorState, Prec } from '@codemirror/state';
import { defaultKeymap, history, historyKeymap } from '@codemirror/commands';
import { autocompletion, closeBrackets, closeBracketsKeymap, completionKeymap, completionStatus } from '@codemirror/autocomplete';
import { bracketMatching, syntaxHighlighting, defaultHighlightStyle } from '@codemirror/language';
import { lintKeymap } from '@codemirror/lint';
import { PromQLExtension } from '@prometheus-io/codemirror-promql';

interface Props {
  value: string;
  // version changes when value was set from outside the editor (a link,
  // the history); only then is the editor's text replaced. Comparing the
  // texts instead races fast typing against the page's re-render.
  version: number;
  onChange: (v: string) => void;
  onRun: () => void;
}

export function Editor({ value, version, onChange, onRun }: Props) {
  const host = useRef<HTMLDivElement>(null);
  const view = useRef<EditorView | null>(null);
  // The callbacks change on every render; the editor keeps the latest.
  const cb = useRef({ onChange, onRun });
  cb.current = { onChange, onRun };

  useEffect(() => {
    const promql = new PromQLExtension()
      .setComplete({ remote: { url: '', httpMethod: 'GET', cache: { initialMetricList: [] } } })
      .activateCompletion(true)
      .activateLinter(true);
    const v = new EditorView({
      parent: host.current!,
      state: EditorState.create({
        doc: value,
        extensions: [
          history(),
          closeBrackets(),
          bracketMatching(),
          autocompletion(),
          syntaxHighlighting(defaultHighlightStyle, { fallback: true }),
          placeholder('Expression (press Enter to run, Shift+Enter for a new line)'),
          EditorView.lineWrapping,
          Prec.highest(
            keymap.of([
              // Enter picks a completion while the list is open, else runs.
              { key: 'Enter', run: (ev) => completionStatus(ev.state) === 'active' ? false : (cb.current.onRun(), true) },
              { key: 'Shift-Enter', run: () => false },
            ]),
          ),
          keymap.of([...closeBracketsKeymap, ...defaultKeymap, ...historyKeymap, ...completionKeymap, ...lintKeymap]),
          promql.asExtension(),
          EditorView.contentAttributes.of({ 'aria-label': 'PromQL expression', 'data-testid': 'expr' }),
          EditorView.updateListener.of((u) => {
            if (u.docChanged) cb.current.onChange(u.state.doc.toString());
          }),
        ],
      }),
    });
    view.current = v;
    return () => {
      v.destroy();
      promql.destroy();
    };
  }, []);

  // A value set from outside (history, a link) replaces the text.
  useEffect(() => {
    const v = view.current;
    if (v && v.state.doc.toString() !== value) {
      v.dispatch({ changes: { from: 0, to: v.state.doc.length, insert: value } });
    }
  }, [version]);

  return <div class="editor grow" ref={host} />;
}
