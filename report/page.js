"use strict";
// The report's data: see Data in the report package. Rows of the call
// trees are made only when their parent is expanded, a chunk at a time.
const T0 = performance.now();
const D = JSON.parse(document.getElementById("kcovdf-data").textContent);
const T1 = performance.now();
const CHUNK = 200;       // rows made per "show more"
const MAX_RESULTS = 500; // search results listed
const SHOWN_TEXT = 160;  // characters of a value shown in a row
const EXPAND_ALL = 3000; // rows a shift-click may make
const ERRNO = 8;         // calls.Errno

const $ = (id) => document.getElementById(id);
function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}
const fmt = (n) => n.toLocaleString("en-US");
const plural = (n, what) => fmt(n) + " " + what + (n === 1 ? "" : "s");

// Per task: where each call's arguments start in args, and (on demand)
// each call's parent.
for (const t of D.tasks) {
  const n = t.fn.length, off = new Int32Array(n + 1);
  for (let i = 0; i < n; i++) off[i + 1] = off[i] + D.sigs[t.sig[i]].args.length;
  t.off = off;
  t.parent = null;
  t.rows = new Map(); // call → its .call element, once made
}
function parents(t) {
  if (t.parent) return t.parent;
  const n = t.fn.length, p = new Int32Array(n), stack = [];
  for (let i = 0; i < n; i++) {
    while (stack.length && stack[stack.length - 1] + t.size[stack[stack.length - 1]] < i) stack.pop();
    p[i] = stack.length ? stack[stack.length - 1] : -1;
    stack.push(i);
  }
  return (t.parent = p);
}
// The direct children of call i (-1: the task's top-level calls).
function children(t, i) {
  const out = [];
  const end = i < 0 ? t.fn.length : i + 1 + t.size[i];
  for (let j = i + 1; j < end; j += t.size[j] + 1) out.push(j);
  return out;
}
const short = (s) => (s.length > SHOWN_TEXT ? s.slice(0, SHOWN_TEXT) + "…" : s);
const fname = (t, i) => D.funcs[t.fn[i]].name;

// ---- header
let totalCalls = 0, totalErrs = 0;
for (const s of D.stats) { totalCalls += s.calls; totalErrs += s.errors; }
$("title").textContent = D.title;
document.title = D.title;
{
  const sum = $("summary");
  const part = (n, what) => { sum.append(el("b", "", fmt(n)), " " + what + "  ·  "); };
  part(D.tasks.length, D.tasks.length === 1 ? "task" : "tasks");
  part(totalCalls, "calls");
  part(D.funcs.length, "functions");
  sum.append(el("b", totalErrs ? "err" : "", fmt(totalErrs)), " calls returned an errno");
}
for (const b of document.querySelectorAll("#tabs button")) b.onclick = () => showTab(b.dataset.tab);
function showTab(name) {
  for (const b of document.querySelectorAll("#tabs button")) b.classList.toggle("on", b.dataset.tab === name);
  for (const s of document.querySelectorAll(".tab")) s.classList.toggle("on", s.id === "tab-" + name);
  if (name === "funcs") drawFuncs();
}

// ---- call trees
function callLine(t, i, full) {
  const line = el("div", "line");
  const sig = D.sigs[t.sig[i]];
  const tog = el("span", "tog", t.size[i] ? "▸" : "");
  line.append(tog);
  const f = t.flag[i];
  if (f & 2) line.append(el("span", "warn", "?"));
  line.append(el("span", "fn", fname(t, i)), "(");
  for (let k = 0; k < sig.args.length; k++) {
    if (k) line.append(", ");
    const text = D.strs[t.args[t.off[i] + k]];
    line.append(el("span", "an", sig.args[k][0] + "="), full ? text : short(text));
  }
  line.append(")");
  if (f & 1) line.append(el("span", "warn", " /* no return */"));
  else if (t.ret[i] >= 0) {
    line.append(" = ");
    const r = D.strs[t.ret[i]];
    line.append(f & ERRNO ? el("span", "err", r) : full ? r : short(r));
  }
  if (f & 4) line.append(el("span", "warn", " /* unsure nesting */"));
  if (t.size[i]) line.append(el("span", "nk", "  " + plural(children(t, i).length, "callee") + ", " + plural(t.size[i], "call") + " below"));
  return line;
}

function makeRow(ti, i) {
  const t = D.tasks[ti];
  const row = el("div", "call");
  const line = callLine(t, i, false);
  row.append(line);
  row.line = line;
  row.ti = ti;
  row.i = i;
  line.onclick = (ev) => {
    if (ev.target.classList.contains("tog") || ev.detail === 2) toggle(row, ev.shiftKey);
    else { select(ti, i); if (ev.shiftKey) toggle(row, true); }
  };
  line.ondblclick = (ev) => ev.preventDefault();
  t.rows.set(i, row);
  return row;
}

// fill makes the children rows of call i of task ti into box: the next
// chunk, or (until >= 0) the rows around the child until. Rows not made
// between made ones stay behind a "gap" button, so that revealing a call
// far down a long list makes a chunk, not every row before it.
function fill(box, ti, i, until) {
  if (!box.kidList) { box.kidList = children(D.tasks[ti], i); box.made = 0; }
  const kids = box.kidList;
  if (box.moreBtn) { box.moreBtn.remove(); box.moreBtn = null; }
  const pos = until >= 0 ? kids.indexOf(until) : -1;
  if (pos >= 0 && pos < box.made) {
    // Inside a gap: split it around the call.
    for (const g of box.querySelectorAll(":scope > .gap")) {
      if (pos < g.a || pos >= g.b) continue;
      const lo = Math.max(g.a, pos - CHUNK / 2), hi = Math.min(g.b, pos + CHUNK / 2 + 1);
      if (lo > g.a) box.insertBefore(gap(box, ti, g.a, lo), g);
      box.insertBefore(rows(ti, kids, lo, hi), g);
      g.a = hi;
      gapText(g);
      break;
    }
  } else {
    let lo = box.made, hi = Math.min(kids.length, box.made + CHUNK);
    if (pos >= hi) {
      lo = pos - CHUNK / 2;
      hi = Math.min(kids.length, pos + CHUNK / 2 + 1);
      box.append(gap(box, ti, box.made, lo));
    }
    box.append(rows(ti, kids, lo, hi));
    box.made = hi;
  }
  if (box.made < kids.length) {
    const left = kids.length - box.made;
    const b = el("button", "more", "show " + fmt(Math.min(CHUNK, left)) + " more of " + fmt(left) + " remaining calls");
    b.type = "button";
    b.onclick = () => fill(box, ti, i, -1);
    box.append(b);
    box.moreBtn = b;
  }
}
function rows(ti, kids, lo, hi) {
  const frag = document.createDocumentFragment();
  for (let k = lo; k < hi; k++) frag.append(makeRow(ti, kids[k]));
  return frag;
}
// gap stands for the rows kids[a:b] not made yet; its button makes them
// a chunk at a time.
function gap(box, ti, a, b) {
  const g = el("button", "more gap");
  g.type = "button";
  g.a = a;
  g.b = b;
  g.onclick = () => {
    const hi = Math.min(g.b, g.a + CHUNK);
    box.insertBefore(rows(ti, box.kidList, g.a, hi), g);
    g.a = hi;
    gapText(g);
  };
  gapText(g);
  return g;
}
function gapText(g) {
  if (g.a >= g.b) { g.remove(); return; }
  const n = g.b - g.a;
  g.textContent = "show " + fmt(Math.min(CHUNK, n)) + " of " + fmt(n) + " calls not shown here";
}

function expand(row) {
  const t = D.tasks[row.ti];
  if (!t.size[row.i]) return;
  if (!row.kids) {
    row.kids = el("div", "kids");
    row.append(row.kids);
    fill(row.kids, row.ti, row.i, -1);
  }
  row.kids.hidden = false;
  row.line.firstChild.textContent = "▾";
}
function collapse(row) {
  if (row.kids) row.kids.hidden = true;
  if (D.tasks[row.ti].size[row.i]) row.line.firstChild.textContent = "▸";
}
function toggle(row, deep) {
  const open = row.kids && !row.kids.hidden;
  if (open && !deep) return collapse(row);
  if (!deep) return expand(row);
  // Shift: the whole subtree, up to EXPAND_ALL rows.
  let budget = EXPAND_ALL;
  const walk = (r) => {
    if (budget <= 0) return;
    expand(r);
    if (!r.kids) return;
    budget -= r.kids.childElementCount;
    for (const c of r.kids.children) if (c.line) walk(c);
  };
  walk(row);
}

const trees = $("trees");
D.tasks.forEach((t, ti) => {
  const sec = el("div", "task");
  const h = el("h2", "", t.name || "task " + (ti + 1));
  const nerr = t.flag.reduce((a, f) => a + (f & ERRNO ? 1 : 0), 0);
  h.append(el("span", "", "  " + fmt(t.fn.length) + " calls, " + fmt(nerr) + " errors" + (t.exact ? "" : ", nesting inferred (no markers)")));
  sec.append(h);
  const box = el("div", "kids");
  sec.append(box);
  t.top = box;
  t.sec = sec;
  fill(box, ti, -1, -1);
  trees.append(sec);
});

// The tasks of a follow-mode trace: a selector shows one task's calls
// and keeps searches to them.
let taskSel = -1;
if (D.tasks.some((t) => t.thread)) {
  const sel = el("select");
  sel.id = "task";
  sel.setAttribute("aria-label", "task");
  sel.append(new Option("all tasks", "-1"));
  D.tasks.forEach((t, ti) => {
    const th = t.thread;
    sel.append(new Option(th ? th.tid + " " + th.comm + (th.exec ? " (after execve " + th.exec + ")" : "") + ", process " + th.pid : t.name || "task " + (ti + 1), String(ti)));
  });
  sel.onchange = () => {
    taskSel = +sel.value;
    D.tasks.forEach((t, ti) => { t.sec.hidden = taskSel >= 0 && ti !== taskSel; });
    if (!$("results").hidden) runSearch(qIn.value, mode.value);
  };
  $("search").insertBefore(sel, $("search").firstChild);
}
$("collapse").onclick = () => {
  for (const t of D.tasks) for (const r of t.rows.values()) collapse(r);
};

// reveal expands the callers of call i and scrolls to it.
function reveal(ti, i) {
  const t = D.tasks[ti], p = parents(t);
  const chain = [];
  for (let j = p[i]; j >= 0; j = p[j]) chain.push(j);
  chain.reverse();
  let box = t.top, parent = -1;
  for (const a of chain) {
    if (!t.rows.has(a)) fill(box, ti, parent, a);
    const r = t.rows.get(a);
    expand(r);
    box = r.kids;
    parent = a;
  }
  if (!t.rows.has(i)) fill(box, ti, parent, i);
  const row = t.rows.get(i);
  row.line.classList.add("hit");
  row.line.scrollIntoView({ block: "center" });
  select(ti, i);
}

let selected = null;
function select(ti, i) {
  const t = D.tasks[ti];
  if (selected) selected.classList.remove("sel");
  const row = t.rows.get(i);
  if (row) { row.line.classList.add("sel"); selected = row.line; }
  const d = $("detail");
  d.textContent = "";
  const f = D.funcs[t.fn[i]];
  d.append(el("h3", "", f.name));
  const where = [f.pc];
  if (f.file) where.push(f.file + (f.line ? ":" + f.line : ""));
  where.push("seq " + t.seq[i], "call #" + i + " of " + (t.name || "task " + (ti + 1)));
  d.append(el("div", "path", where.join("  ·  ")));
  const path = el("div", "path", "path: ");
  const p = parents(t), chain = [];
  for (let j = p[i]; j >= 0; j = p[j]) chain.push(j);
  chain.reverse().forEach((j) => {
    const a = el("a", "", fname(t, j));
    a.onclick = () => reveal(ti, j);
    path.append(a, " → ");
  });
  path.append(f.name);
  d.append(path);
  const tab = el("table");
  const sig = D.sigs[t.sig[i]];
  const addValue = (name, type, text, isErr) => {
    const tr = el("tr");
    tr.append(el("td", "k", name + (type ? " (" + type + ")" : "")));
    tr.append(el("td", isErr ? "err" : "", text));
    tab.append(tr);
    // A struct: one row per field.
    if (text.startsWith("{") && text.endsWith("}")) {
      for (const part of text.slice(1, -1).split(", ")) {
        const eq = part.indexOf("=");
        const fr = el("tr");
        fr.append(el("td", "k f", eq > 0 ? part.slice(0, eq) : ""), el("td", "", eq > 0 ? part.slice(eq + 1) : part));
        tab.append(fr);
      }
    }
  };
  for (let k = 0; k < sig.args.length; k++) addValue(sig.args[k][0], sig.args[k][1], D.strs[t.args[t.off[i] + k]], false);
  const fl = t.flag[i];
  if (fl & 1) addValue("return", sig.ret, "no return record", false);
  else if (t.ret[i] >= 0) addValue("return", sig.ret, D.strs[t.ret[i]], fl & ERRNO);
  d.append(tab);
  const notes = [];
  if (fl & 1) notes.push("no return record closed this call (noreturn, lost records, or the trace ended inside it)");
  if (fl & 2) notes.push("seen by its return only: where it started is a guess");
  if (fl & 4) notes.push("nesting inferred without the markers that make it exact");
  if (t.size[i]) notes.push(plural(children(t, i).length, "direct callee") + ", " + plural(t.size[i], "call") + " below");
  for (const n of notes) d.append(el("p", "hint", n));
}

// ---- search
const qIn = $("q"), mode = $("mode");
const placeholders = {
  func: "function name or regular expression",
  value: "a value: 4096, 0x8000, -ENOENT, NULL, a field's text",
  errno: "an errno (ENOENT), or empty for every failed call",
};
mode.onchange = () => { qIn.placeholder = placeholders[mode.value]; };

// number reads a decimal, hex or (C) octal integer, with a sign, as a
// BigInt.
function number(s) {
  const m = /^(-?)(0x[0-9a-f]+|0[0-7]+|[0-9]+)$/i.exec(s.trim());
  if (!m) return null;
  const d = m[2];
  const v = /^0[0-7]+$/.test(d) ? BigInt("0o" + d.slice(1)) : BigInt(d);
  return m[1] ? -v : v;
}
// valueMatcher says, per string of D.strs, whether it holds the value:
// a number equals one of the text's numbers (a field's, say), whatever
// its base; anything else is a case-blind substring.
function valueMatcher(q) {
  const n = number(q), ql = q.toLowerCase(), ok = new Uint8Array(D.strs.length);
  if (n === null) {
    D.strs.forEach((s, k) => { ok[k] = s.toLowerCase().includes(ql) ? 1 : 0; });
    return ok;
  }
  // Only texts that hold the number's digits in some base are read.
  const a = n < 0n ? -n : n, digits = [a.toString(10), a.toString(16), a.toString(8)];
  D.strs.forEach((s, k) => {
    if (s === q) { ok[k] = 1; return; }
    const sl = s.toLowerCase();
    if (!digits.some((d) => sl.includes(d))) return;
    const toks = s.match(/-?(0x[0-9a-f]+|\d+)/gi);
    if (toks) for (const tok of toks) if (number(tok) === n) { ok[k] = 1; break; }
  });
  return ok;
}
function funcMatcher(q) {
  let re;
  try { re = new RegExp(q, "i"); } catch (e) { re = { test: (s) => s.toLowerCase().includes(q.toLowerCase()) }; }
  return Uint8Array.from(D.funcs, (f) => (re.test(f.name) ? 1 : 0));
}

function search(q, how) {
  const hits = [];
  let total = 0;
  const add = (ti, i) => {
    if (taskSel >= 0 && ti !== taskSel) return;
    total++;
    if (hits.length < MAX_RESULTS) hits.push([ti, i]);
  };
  if (how === "func") {
    const fm = funcMatcher(q);
    D.tasks.forEach((t, ti) => { for (let i = 0; i < t.fn.length; i++) if (fm[t.fn[i]]) add(ti, i); });
  } else if (how === "value") {
    const vm = valueMatcher(q);
    D.tasks.forEach((t, ti) => {
      for (let i = 0; i < t.fn.length; i++) {
        let hit = t.ret[i] >= 0 && vm[t.ret[i]];
        for (let k = t.off[i]; !hit && k < t.off[i + 1]; k++) hit = vm[t.args[k]];
        if (hit) add(ti, i);
      }
    });
  } else {
    const e = q.trim().replace(/^-/, "").toUpperCase();
    D.tasks.forEach((t, ti) => {
      for (let i = 0; i < t.fn.length; i++) {
        if (!(t.flag[i] & ERRNO)) continue;
        if (!e || D.strs[t.ret[i]].toUpperCase().includes(e)) add(ti, i);
      }
    });
  }
  return { hits, total };
}

function runSearch(q, how) {
  mode.value = how;
  qIn.value = q;
  const res = $("results");
  res.textContent = "";
  if (!q.trim() && how !== "errno") { res.hidden = true; $("hits").textContent = ""; return; }
  const t0 = performance.now();
  const { hits, total } = search(q, how);
  $("hits").textContent = fmt(total) + (total === 1 ? " call" : " calls") + " · " + Math.round(performance.now() - t0) + " ms";
  res.hidden = false;
  res.append(el("div", "head", total > hits.length ? "first " + fmt(hits.length) + " of " + fmt(total) + " matches" : fmt(total) + (total === 1 ? " match" : " matches")));
  for (const [ti, i] of hits) {
    const t = D.tasks[ti];
    const r = el("div", "r");
    r.append(callLine(t, i, false));
    r.firstChild.firstChild.remove(); // no toggle in the list
    r.title = (t.name || "task " + (ti + 1)) + ", seq " + t.seq[i];
    r.onclick = () => {
      for (const o of res.querySelectorAll(".r.on")) o.classList.remove("on");
      r.classList.add("on");
      reveal(ti, i);
    };
    res.append(r);
  }
  if (hits.length) res.children[1].click();
}
$("search").onsubmit = (ev) => { ev.preventDefault(); runSearch(qIn.value, mode.value); };

// ---- functions
const fstats = D.stats.map((s) => ({ s, name: D.funcs[s.func].name, calls: s.calls, errors: s.errors }));
let fsort = "calls", fdesc = true, fdrawn = false;
function drawFuncs() {
  const q = $("fq").value.toLowerCase();
  const rows = fstats.filter((r) => !q || r.name.toLowerCase().includes(q));
  rows.sort((a, b) => {
    const x = a[fsort], y = b[fsort];
    const c = x < y ? -1 : x > y ? 1 : 0;
    return (fdesc ? -c : c) || (a.name < b.name ? -1 : 1);
  });
  const body = document.querySelector("#ftable tbody");
  body.textContent = "";
  const shown = rows.slice(0, 1000);
  for (const r of shown) {
    const tr = el("tr");
    const args = r.s.values.filter((v) => !v.name.includes(".")).map((v) => v.name + " " + fmt(v.distinct) + (v.more ? "+" : ""));
    tr.append(el("td", "", r.name), el("td", "num", fmt(r.calls)), el("td", "num" + (r.errors ? " err" : ""), fmt(r.errors)), el("td", "d", args.join("  ·  ")));
    tr.onclick = () => {
      for (const o of body.querySelectorAll("tr.on")) o.classList.remove("on");
      tr.classList.add("on");
      drawHists(r.s);
    };
    body.append(tr);
  }
  $("fcount").textContent = fmt(rows.length) + " of " + fmt(fstats.length) + " functions" + (rows.length > shown.length ? " (first 1,000 listed: filter to see others)" : "");
  if (!fdrawn && shown.length) { fdrawn = true; body.firstChild.click(); }
}
$("fq").oninput = drawFuncs;
for (const th of document.querySelectorAll("#ftable th[data-sort]")) {
  th.onclick = () => {
    if (fsort === th.dataset.sort) fdesc = !fdesc;
    else { fsort = th.dataset.sort; fdesc = fsort !== "name"; }
    drawFuncs();
  };
}

// log2Label names a bucket: b > 0 holds [2^(b-1), 2^b), -b their
// negatives; wide ones by their powers of two, the hex range as a title.
function log2Label(b) {
  if (b === 0) return ["0", "0"];
  const k = Math.abs(b), lo = 1n << BigInt(k - 1), hi = (1n << BigInt(k)) - 1n;
  const sign = b < 0 ? "−" : "";
  const hex = sign + "0x" + lo.toString(16) + " … " + sign + "0x" + hi.toString(16);
  if (k <= 16) return [lo === hi ? sign + lo : sign + lo + " … " + sign + hi, hex];
  return [sign + "2^" + (k - 1) + " … " + sign + "2^" + k, hex];
}
function bars(items, cls) {
  const g = el("div", "bars" + (cls ? " " + cls : ""));
  const max = Math.max(1, ...items.map((x) => x[1]));
  for (const [label, n, title] of items) {
    const v = el("div", "v", label);
    v.title = title || label;
    const b = el("div", "b");
    b.style.width = ((100 * n) / max).toFixed(1) + "%";
    g.append(v, b, el("div", "c", fmt(n)));
  }
  return g;
}
function drawHists(s) {
  const h = $("hists");
  h.textContent = "";
  const f = D.funcs[s.func];
  h.append(el("h3", "", f.name));
  h.append(el("div", "sub", fmt(s.calls) + " calls, " + fmt(s.errors) + " returned an errno" + (f.file ? "  ·  " + f.file + (f.line ? ":" + f.line : "") : "")));
  const find = el("button", "more", "find its calls");
  find.type = "button";
  find.onclick = () => { showTab("calls"); runSearch("^" + f.name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&") + "$", "func"); };
  h.append(find);
  for (const v of s.values) {
    const box = el("div", "hist");
    const t = el("h4", "", v.name + " ");
    t.append(el("span", "", fmt(v.n) + " values, " + fmt(v.distinct) + (v.more ? "+" : "") + " distinct"));
    box.append(t);
    box.append(el("div", "sub", v.distinct > v.top.length ? "most frequent" : "all values"));
    box.append(bars(v.top.map((x) => [x.text, x.count])));
    if (v.log2 && v.log2.length) {
      box.append(el("div", "sub", "log2 buckets"));
      box.append(bars(v.log2.map((x) => { const [l, h] = log2Label(x.bucket); return [l, x.count, h]; }), "log"));
    }
    h.append(box);
  }
}

// ---- errnos
{
  const sec = $("tab-errnos");
  if (!D.errnos.length) sec.append(el("p", "hint", "No call returned an errno."));
  else {
    const byErr = new Map();
    for (const e of D.errnos) byErr.set(e.errno, (byErr.get(e.errno) || 0) + e.count);
    sec.append(el("h2", "sec", "Errnos returned"));
    const tot = [...byErr].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
    const g = bars(tot.map(([e, n]) => ["-" + e, n]));
    g.classList.add("errbars");
    sec.append(g);
    sec.append(el("h2", "sec", "Which functions returned which errno"));
    const tab = el("table", "plain");
    const hd = el("tr");
    hd.append(el("th", "", "errno"), el("th", "", "function"), el("th", "num", "calls"), el("th", "num", "of its calls"));
    tab.append(hd);
    const callsOf = new Map(D.stats.map((s) => [s.func, s.calls]));
    for (const e of D.errnos) {
      const tr = el("tr");
      const a = el("a", "", D.funcs[e.func].name);
      a.onclick = () => { showTab("calls"); runSearch("^" + D.funcs[e.func].name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&") + "$", "func"); };
      const fn = el("td", "mono");
      fn.append(a);
      const pct = (100 * e.count) / (callsOf.get(e.func) || 1);
      tr.append(el("td", "mono err", "-" + e.errno), fn, el("td", "num", fmt(e.count)), el("td", "num", pct.toFixed(pct < 10 ? 1 : 0) + "%"));
      tab.append(tr);
    }
    sec.append(tab);
  }
}

// ---- capture metadata
{
  const sec = $("tab-capture");
  D.tasks.forEach((t, ti) => {
    sec.append(el("h2", "sec", t.name || "task " + (ti + 1)));
    const tab = el("table", "plain");
    const row = (k, v) => { const tr = el("tr"); tr.append(el("th", "", k), el("td", "mono", String(v))); tab.append(tr); };
    const m = t.meta, th = t.thread;
    if (th) row("task", th.tid + " " + th.comm + ", process " + th.pid + ", created by " + th.ppid + (th.exec ? ", after execve " + th.exec : ""));
    if (!m) row("source", "raw area dump (no metadata)");
    else {
      if (m.command) row("command", m.command.join(" "));
      if (m.kernel_release) row("kernel", m.kernel_release);
      if (m.build_id) row("build id", m.build_id);
      row("format", m.format);
      if (m.captured) row("captured", m.captured);
      if (m.source) row("source", m.source);
      if (m.buffer_words) row("buffer", fmt(m.buffer_words) + " words, " + fmt(m.fill) + " used (" + ((100 * m.fill) / Math.max(1, m.buffer_words - 1)).toFixed(1) + "%)");
      row("overflowed", m.overflowed ? "yes: records were dropped" : "no");
      if (m.dropped !== undefined) row("dropped", fmt(m.dropped) + " records (kernel counter)");
      if (m.kaslr_offset !== undefined) row("KASLR offset", m.kaslr_offset);
      if (m.modules) row("modules", m.modules.map((x) => x.name).join(", "));
    }
    row("calls", fmt(t.fn.length));
    row("nesting", t.exact ? "exact (entry and return markers)" : "inferred: calls marked unsure may be misplaced");
    if (t.open) row("open calls", fmt(t.open) + " calls no return closed");
    for (const n of t.notes || []) row("note", n);
    sec.append(tab);
  });
}

// #func=NAME, #value=V or #errno=E in the address runs that search;
// #call=TASK:INDEX opens the tree down to a call (both from 0; the
// last one given is selected);
// #task=TASK (from 0) keeps to one task of a follow-mode trace;
// #tab=functions opens a tab.
{
  const h = new URLSearchParams(location.hash.slice(1));
  const sel = $("task");
  if (sel && h.has("task") && +h.get("task") < D.tasks.length) { sel.value = h.get("task"); sel.onchange(); }
  for (const how of ["func", "value", "errno"]) if (h.has(how)) runSearch(h.get(how), how);
  for (const c of h.getAll("call")) {
    const m = /^(\d+):(\d+)$/.exec(c);
    if (m && +m[1] < D.tasks.length && +m[2] < D.tasks[+m[1]].fn.length) reveal(+m[1], +m[2]);
  }
  const tab = h.get("tab");
  if (tab) showTab(tab === "functions" ? "funcs" : tab);
}
// When the page was ready (ms since navigation): the data parsed, the
// first rows made.
document.body.dataset.ready = "1";
document.body.dataset.timing = [T0, T1, performance.now()].map(Math.round).join(" ");
