// The backward-pass explorer (tinygrad_sm.viz.explore). Every text was computed in Python
// from the engine's real backward pass; this script only replays the steps onto the SVG.
"use strict";
(function () {
  const data = JSON.parse(document.getElementById("explorer-data").textContent);
  const steps = data.steps, nodes = data.nodes, last = steps.length - 1;
  const $ = (id) => document.getElementById(id);
  const slider = $("slider"), panel = $("panel"), graph = $("graph");
  let step = 0, selected = null, timer = null;

  // The SVG's node and edge groups, by their Graphviz titles ("n3", "n3->n5").
  const unitEl = {}, edgeEls = {};
  for (const g of graph.querySelectorAll("g.node")) unitEl[title(g)] = g;
  for (const g of graph.querySelectorAll("g.edge")) (edgeEls[title(g)] ||= []).push(g);
  function title(g) { return g.querySelector("title").textContent; }

  const esc = (s) => String(s).replace(/[&<>"]/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);
  const name = (i) => nodes[i].label;
  const grad = (s) => `<span class="grad">${esc(s)}</span>`;
  const shape = (s) => `<span class="shape">${esc(s)}</span>`;

  // Gradients known after step k: the seed, then each partial sum as it grows.
  function known(k) {
    const g = {};
    g[steps[0].in[0]] = steps[0].in[1];
    for (let s = 1; s <= k; s++) for (const [i, , , , sum] of steps[s].sent) g[i] = sum;
    return g;
  }

  function show(k) {
    step = Math.max(0, Math.min(last, k));
    slider.value = step;
    $("step-text").textContent = `step ${step} of ${last}`;
    const g = known(step), s = steps[step];
    nodes.forEach((n, i) => {
      if (!n.grad) return;
      const el = $("gv-" + i);
      el.textContent = i in g ? g[i] : "?";
      el.classList.toggle("unknown", !(i in g));
    });
    for (const el of graph.querySelectorAll(".current, .fresh, .flow"))
      el.classList.remove("current", "fresh", "flow");
    if (s.op !== null) mark(nodes[s.op].unit, "current");
    for (const [i] of s.sent) if (s.op === null || nodes[i].unit !== nodes[s.op].unit)
      mark(nodes[i].unit, "fresh");
    for (const e of s.edges) for (const el of edgeEls[e] || []) el.classList.add("flow");
    reveal(unitEl[nodes[s.op === null ? s.in[0] : s.op].unit]);
    panel.innerHTML = stepPanel(s, g) + (selected === null ? LEGEND : unitPanel(selected, g));
  }

  const LEGEND = `<p class="hint"><span class="acc">magenta</span>: the op being processed and
    the edges its gradients flow along; <b style="color: #ef6c00">orange</b> outline: a tensor
    that just received gradient; ?: a gradient not yet known. Node colours are those of
    draw_graph, for the finished backward. Click a node for its value and gradient.</p>`;

  function mark(unit, cls) { if (unitEl[unit]) unitEl[unit].classList.add(cls); }

  // Scroll the graph (not the page around an embedding iframe) to show the current op.
  function reveal(el) {
    if (!el) return;
    const r = el.getBoundingClientRect(), box = graph.getBoundingClientRect();
    if (r.left < box.left || r.right > box.right)
      graph.scrollLeft += r.left - box.left - (box.width - r.width) / 2;
    if (r.top < box.top || r.bottom > box.bottom)
      graph.scrollTop += r.top - box.top - (box.height - r.height) / 2;
  }

  function stepPanel(s, g) {
    if (s.op === null) {
      return `<h2 id="panel-title">step 0: the seed</h2>
        <p>Backward starts at the output, <b>${esc(name(s.in[0]))}</b> ${shape(s.in[2])},
        with dL/dL = ${grad(s.in[1])}. Every other gradient is still unknown (?).</p>
        <p class="hint">Next (Right arrow) runs the first op's backward.</p>`;
    }
    const op = nodes[s.op];
    const rows = s.sent.map(([i, text, shp, prev, sum]) => `<tr><td>${esc(name(i))}
      ${shape(shp)}</td><td>${prev === null ? `gets ${grad(text)}`
      : `had ${grad(prev)}<br><span class="acc">+=</span> ${grad(text)}<br>= ${grad(sum)}`}
      </td></tr>`).join("");
    return `<h2 id="panel-title">step ${step} of ${last}: ${esc(op.op)} backward</h2>
      <h3>local derivative rule</h3><pre class="rule">${esc(op.rule)}</pre>
      <h3>incoming gradient</h3>
      <p>dL/d(${esc(name(s.in[0]))}) ${shape(s.in[2])} = ${grad(s.in[1])}</p>
      <h3>outgoing gradients</h3>
      ${rows ? `<table id="sent">${rows}</table>` : "<p>none: no input needs one</p>"}`;
  }

  // A clicked node: the op's rule, or each tensor's value, gradient and what added up to it.
  function unitPanel(unit, g) {
    const members = data.units[unit] || [];
    const parts = members.slice(0, 30).map((i) => {
      const n = nodes[i];
      if (n.op !== undefined) {
        return `<p><b>op ${n.order === null ? "" : "#" + n.order + " "}${esc(n.op)}</b></p>
          <pre class="rule">${esc(n.rule)}</pre>`;
      }
      const history = [];
      for (let s = 1; s <= step; s++) for (const [j, text] of steps[s].sent)
        if (j === i) history.push(`<li>step ${s} (${esc(nodes[steps[s].op].op)}):
          <span class="acc">+=</span> ${grad(text)}</li>`);
      const gtext = !n.requires_grad ? "needs none" : i in g ? grad(g[i]) : "? (not yet known)";
      return `<p><b>${esc(n.label)}</b> ${shape(n.shape)} ${esc(n.dtype)}</p>
        <table><tr><td>value</td><td>${grad(n.value)}</td></tr>
        <tr><td>gradient</td><td>${gtext}</td></tr></table>
        ${history.length > 1 ? `<ul>${history.join("")}</ul>` : ""}`;
    });
    if (members.length > 30) parts.push(`<p>… and ${members.length - 30} more nodes</p>`);
    return `<div id="selected"><h3>selected node</h3>${parts.join("")}</div>`;
  }

  function play() {
    if (timer !== null) { stop(); return; }
    if (step === last) show(0);
    $("play").textContent = "|| pause";
    timer = setInterval(() => (step < last ? show(step + 1) : stop()), 900);
  }
  function stop() {
    clearInterval(timer);
    timer = null;
    $("play").textContent = "\u25B6 play";
  }

  const actions = { first: () => show(0), prev: () => show(step - 1),
    next: () => show(step + 1), last: () => show(last), play };
  // A clicked button gives up the focus, so that Space means play, not "click me again";
  // the page (an iframe, in a notebook) keeps it, so that the keys work next.
  const button = (id, act) => $(id).addEventListener("click", () => { act(); $(id).blur(); });
  for (const [id, act] of Object.entries(actions)) button(id, act);
  slider.addEventListener("input", () => show(Number(slider.value)));
  function zoom(fit) {
    graph.classList.toggle("fit", fit);
    $("zoom").textContent = fit ? "full size" : "fit";
  }
  button("zoom", () => zoom(!graph.classList.contains("fit")));
  // Start fitted when that keeps the text readable (at least half size), else at full size.
  const svg = graph.querySelector("svg"), box = graph.getBoundingClientRect();
  zoom(Math.min(box.width / svg.width.baseVal.value, box.height / svg.height.baseVal.value)
    >= 0.5);
  const keys = { ArrowLeft: actions.prev, ArrowRight: actions.next, Home: actions.first,
    End: actions.last, " ": play };
  document.addEventListener("keydown", (e) => {
    const act = keys[e.key];
    if (!act || e.altKey || e.ctrlKey || e.metaKey) return;
    e.preventDefault();  // no page scroll, no second step from a focused slider
    act();
  });
  graph.addEventListener("click", (e) => {
    const g = e.target.closest("g.node");
    if (!g || !data.units[title(g)]) return;
    if (selected !== null && unitEl[selected]) unitEl[selected].classList.remove("selected");
    selected = title(g);
    g.classList.add("selected");
    show(step);
  });
  show(0);
})();
