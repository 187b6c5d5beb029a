// Text panels: a small Markdown renderer and an HTML sanitizer, both
// building DOM nodes (never innerHTML of the input), so a dashboard's text
// cannot run scripts or load anything but links and images over http(s).

const allowedTags = new Set(['a', 'b', 'strong', 'i', 'em', 'u', 'p', 'br', 'hr', 'ul', 'ol', 'li', 'code', 'pre', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'span', 'div', 'table', 'thead', 'tbody', 'tr', 'th', 'td', 'blockquote', 'small', 'sub', 'sup', 'img', 'center']);

function safeURL(u: string | null): string | null {
  if (!u) return null;
  try {
    const url = new URL(u, location.href);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : null;
  } catch {
    return null;
  }
}

// sanitize copies the allowed elements of an HTML document into a fragment:
// no attributes but href (http/https), src on img (http/https), title, alt.
export function sanitize(html: string): DocumentFragment {
  const doc = new DOMParser().parseFromString(html, 'text/html');
  const out = document.createDocumentFragment();
  const copy = (from: Node, to: Node) => {
    for (const n of Array.from(from.childNodes)) {
      if (n.nodeType === Node.TEXT_NODE) {
        to.appendChild(document.createTextNode(n.textContent ?? ''));
      } else if (n.nodeType === Node.ELEMENT_NODE) {
        const el = n as Element;
        const tag = el.tagName.toLowerCase();
        if (!allowedTags.has(tag)) {
          if (tag !== 'script' && tag !== 'style' && tag !== 'iframe' && tag !== 'object') copy(el, to);
          continue;
        }
        if (tag === 'img') {
          // Images are not loaded: a relative one is one of Grafana's own
          // files (public/img/...), which argus does not have, and the
          // Content-Security-Policy allows no other site's. The alt text
          // stands in for it.
          const alt = el.getAttribute('alt');
          if (alt) to.appendChild(document.createTextNode(alt));
          continue;
        }
        const e = document.createElement(tag);
        const href = tag === 'a' ? safeURL(el.getAttribute('href')) : null;
        if (href) {
          e.setAttribute('href', href);
          e.setAttribute('rel', 'noopener noreferrer');
          e.setAttribute('target', '_blank');
        }
        const src = tag === 'img' ? safeURL(el.getAttribute('src')) : null;
        if (src) e.setAttribute('src', src);
        for (const a of ['title', 'alt']) if (el.hasAttribute(a)) e.setAttribute(a, el.getAttribute(a)!);
        copy(el, e);
        to.appendChild(e);
      }
    }
  };
  copy(doc.body, out);
  return out;
}

function escapeHTML(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function inline(s: string): string {
  let t = escapeHTML(s);
  t = t.replace(/`([^`]+)`/g, '<code>$1</code>');
  t = t.replace(/\*\*([^*]+)\*\*/g, '<strong>$1</strong>').replace(/__([^_]+)__/g, '<strong>$1</strong>');
  t = t.replace(/\*([^*]+)\*/g, '<em>$1</em>').replace(/(^|\W)_([^_]+)_(?=\W|$)/g, '$1<em>$2</em>');
  t = t.replace(/\[([^\]]+)\]\(([^)\s]+)\)/g, '<a href="$2">$1</a>');
  return t;
}

// markdownToHTML covers what dashboards' text panels use: headings,
// paragraphs, lists, code blocks, emphasis, code and links. Raw HTML in
// the Markdown is escaped; the result still goes through sanitize.
export function markdownToHTML(md: string): string {
  const lines = md.replace(/\r\n/g, '\n').split('\n');
  const out: string[] = [];
  let para: string[] = [];
  let list: 'ul' | 'ol' | null = null;
  const flush = () => {
    if (para.length) out.push(`<p>${inline(para.join(' '))}</p>`);
    para = [];
  };
  const endList = () => {
    if (list) out.push(`</${list}>`);
    list = null;
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (/^```/.test(line)) {
      flush();
      endList();
      const code: string[] = [];
      for (i++; i < lines.length && !/^```/.test(lines[i]); i++) code.push(lines[i]);
      out.push(`<pre><code>${escapeHTML(code.join('\n'))}</code></pre>`);
      continue;
    }
    const h = /^(#{1,6})\s+(.*)$/.exec(line);
    if (h) {
      flush();
      endList();
      out.push(`<h${h[1].length}>${inline(h[2])}</h${h[1].length}>`);
      continue;
    }
    const li = /^\s*([-*+]|\d+\.)\s+(.*)$/.exec(line);
    if (li) {
      flush();
      const kind = /\d/.test(li[1]) ? 'ol' : 'ul';
      if (list !== kind) {
        endList();
        out.push(`<${kind}>`);
        list = kind;
      }
      out.push(`<li>${inline(li[2])}</li>`);
      continue;
    }
    if (/^\s*(---|\*\*\*)\s*$/.test(line)) {
      flush();
      endList();
      out.push('<hr>');
      continue;
    }
    if (line.trim() === '') {
      flush();
      endList();
      continue;
    }
    endList();
    para.push(line.trim());
  }
  flush();
  endList();
  return out.join('\n');
}
