//! One trace as a single self-contained HTML page: an interactive Gantt chart (zoom with the wheel or
//! the buttons, pan by dragging, a tooltip with every attribute, colour by status, the critical path
//! outlined) and a flame graph of where the time went. No network access is needed to open it.

use serde_json::json;
use tracewire_core::waterfall;

use crate::analyze::to_waterfall;
use crate::model::Span;

/// The page for `trace` (spans of one trace).
pub fn page(trace: &[Span]) -> String {
    let t0 = trace.iter().map(|s| s.start).min().unwrap_or(0);
    let drawn: Vec<_> = trace.iter().map(to_waterfall).collect();
    let critical = waterfall::critical_path(&drawn);
    let spans: Vec<serde_json::Value> = trace
        .iter()
        .map(|s| {
            json!({
                "id": format!("{:016x}", s.span_id),
                "parent": format!("{:016x}", s.parent_id),
                "name": s.name,
                "service": s.service,
                "kind": s.kind,
                "start": (s.start - t0) as f64 / 1e6,
                "duration": s.duration() as f64 / 1e6,
                "error": s.error,
                "message": s.status_message,
                "critical": critical.contains(&s.span_id),
                "attributes": s.attributes,
            })
        })
        .collect();
    let trace_id = trace
        .first()
        .map(|s| format!("{:032x}", s.trace_id))
        .unwrap_or_default();
    // No `<` at all inside the script element: `</script` or `<!--` in a span name would change how
    // the HTML parser reads it. JSON reads `\u003c` back as `<`.
    let data = json!({ "traceId": trace_id, "spans": spans })
        .to_string()
        .replace('<', "\\u003c");
    TEMPLATE
        .replace("{{TRACE_ID}}", &trace_id)
        .replace("{{DATA}}", &data)
}

const TEMPLATE: &str = r##"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>trace {{TRACE_ID}}</title>
<style>
  body { font: 13px system-ui, sans-serif; margin: 16px; color: #222; }
  h1 { font-size: 16px; margin: 0 0 8px; }
  #toolbar button { margin-right: 4px; }
  #gantt { position: relative; border: 1px solid #ccc; overflow: hidden; user-select: none; cursor: grab; }
  .row { position: relative; height: 22px; border-bottom: 1px solid #f0f0f0; }
  .label { position: absolute; left: 0; width: 320px; padding-left: 4px; white-space: nowrap; overflow: hidden;
           text-overflow: ellipsis; line-height: 22px; background: #fff; z-index: 2; }
  .lane { position: absolute; left: 324px; right: 0; top: 0; bottom: 0; }
  .bar { position: absolute; top: 4px; height: 14px; border-radius: 2px; background: #5b8def; min-width: 1px; }
  .bar.error { background: #e5484d; }
  .bar.critical { outline: 2px solid #222; }
  #tooltip { position: fixed; display: none; background: #fff; border: 1px solid #999; padding: 6px;
             max-width: 480px; font-size: 12px; z-index: 10; box-shadow: 0 2px 6px rgba(0,0,0,.2); }
  #flame { margin-top: 16px; border: 1px solid #ccc; position: relative; }
  .frame { position: absolute; height: 18px; font-size: 11px; line-height: 18px; overflow: hidden;
           white-space: nowrap; border: 1px solid #fff; box-sizing: border-box; padding-left: 2px; background: #f5a623; }
  .frame.error { background: #e5484d; color: #fff; }
  #errors { color: #e5484d; }
</style>
</head>
<body>
<h1>trace {{TRACE_ID}}</h1>
<div id="toolbar"><button id="zoom-in">zoom in</button><button id="zoom-out">zoom out</button><button id="reset">reset</button>
<span id="window"></span></div>
<div id="gantt"></div>
<h1>flame graph (width = time)</h1>
<div id="flame"></div>
<div id="tooltip"></div>
<pre id="errors"></pre>
<script id="trace-data" type="application/json">{{DATA}}</script>
<script>
"use strict";
window.onerror = function (message) {
  document.getElementById("errors").textContent += message + "\n";
  document.body.dataset.errors = (Number(document.body.dataset.errors || 0) + 1).toString();
};
(function () {
  const data = JSON.parse(document.getElementById("trace-data").textContent);
  const spans = data.spans;
  const byId = new Map(spans.map(s => [s.id, s]));
  const children = new Map();
  const roots = [];
  for (const s of spans) {
    if (s.parent !== s.id && byId.has(s.parent)) {
      if (!children.has(s.parent)) children.set(s.parent, []);
      children.get(s.parent).push(s);
    } else {
      roots.push(s);
    }
  }
  for (const list of children.values()) list.sort((a, b) => a.start - b.start);
  roots.sort((a, b) => a.start - b.start);
  const ordered = [];
  const depth = new Map();
  function walk(starts) {
    const stack = starts.slice().reverse().map(s => [s, 0]);
    while (stack.length) {
      const [s, d] = stack.pop();
      if (depth.has(s.id)) continue;
      depth.set(s.id, d);
      ordered.push(s);
      const kids = children.get(s.id) || [];
      for (let i = kids.length - 1; i >= 0; i--) stack.push([kids[i], d + 1]);
    }
  }
  walk(roots);
  // Spans in a parent cycle have no root: draw them too.
  walk(spans.filter(s => !depth.has(s.id)));
  const total = spans.reduce((m, s) => Math.max(m, s.start + s.duration), 1e-6);
  let view = { from: 0, to: total };

  const gantt = document.getElementById("gantt");
  const tooltip = document.getElementById("tooltip");
  const bars = [];
  for (const s of ordered) {
    const row = document.createElement("div");
    row.className = "row";
    const label = document.createElement("div");
    label.className = "label";
    label.style.paddingLeft = (4 + 12 * depth.get(s.id)) + "px";
    label.textContent = s.service + ": " + s.name;
    const lane = document.createElement("div");
    lane.className = "lane";
    const bar = document.createElement("div");
    bar.className = "bar" + (s.error ? " error" : "") + (s.critical ? " critical" : "");
    bar.dataset.span = s.id;
    bar.addEventListener("mousemove", e => {
      const attrs = Object.entries(s.attributes).map(([k, v]) => k + " = " + v).join("\n");
      tooltip.textContent = s.service + ": " + s.name + " [" + s.kind + "]\n" + s.duration.toFixed(3) + " ms" +
        (s.error ? "\nERROR " + s.message : "") + (attrs ? "\n" + attrs : "");
      tooltip.style.whiteSpace = "pre-wrap";
      tooltip.style.display = "block";
      tooltip.style.left = (e.clientX + 12) + "px";
      tooltip.style.top = (e.clientY + 12) + "px";
    });
    bar.addEventListener("mouseleave", () => { tooltip.style.display = "none"; });
    lane.appendChild(bar);
    row.appendChild(label);
    row.appendChild(lane);
    gantt.appendChild(row);
    bars.push([bar, s]);
  }
  function draw() {
    const span = view.to - view.from;
    for (const [bar, s] of bars) {
      bar.style.left = ((s.start - view.from) / span * 100) + "%";
      bar.style.width = Math.max(0.1, s.duration / span * 100) + "%";
    }
    document.getElementById("window").textContent =
      " showing " + view.from.toFixed(3) + "–" + view.to.toFixed(3) + " ms of " + total.toFixed(3) + " ms";
  }
  function zoom(factor, at) {
    const span = view.to - view.from;
    const centre = view.from + span * (at === undefined ? 0.5 : at);
    const next = Math.min(total, Math.max(total / 1e4, span * factor));
    view.from = Math.max(0, centre - next * (at === undefined ? 0.5 : at));
    view.to = Math.min(total, view.from + next);
    draw();
  }
  document.getElementById("zoom-in").onclick = () => zoom(0.5);
  document.getElementById("zoom-out").onclick = () => zoom(2);
  document.getElementById("reset").onclick = () => { view = { from: 0, to: total }; draw(); };
  gantt.addEventListener("wheel", e => {
    e.preventDefault();
    const lane = gantt.querySelector(".lane").getBoundingClientRect();
    zoom(e.deltaY < 0 ? 0.8 : 1.25, Math.min(1, Math.max(0, (e.clientX - lane.left) / lane.width)));
  }, { passive: false });
  let drag = null;
  gantt.addEventListener("mousedown", e => { drag = { x: e.clientX, from: view.from, to: view.to }; });
  window.addEventListener("mouseup", () => { drag = null; });
  window.addEventListener("mousemove", e => {
    if (!drag) return;
    const lane = gantt.querySelector(".lane").getBoundingClientRect();
    const shift = (drag.x - e.clientX) / lane.width * (drag.to - drag.from);
    const width = drag.to - drag.from;
    view.from = Math.min(Math.max(0, drag.from + shift), total - width);
    view.to = view.from + width;
    draw();
  });
  draw();

  // Flame graph: stacks of service: name, width = inclusive time, merged by path.
  const flame = document.getElementById("flame");
  const root = { name: "all", time: 0, error: false, kids: new Map() };
  // Iterative walks: deep traces must not overflow the JavaScript stack.
  const addStack = roots.map(r => [root, r]);
  for (const r of roots) root.time += r.duration;
  while (addStack.length) {
    const [node, s] = addStack.pop();
    const key = s.service + ": " + s.name;
    if (!node.kids.has(key)) node.kids.set(key, { name: key, time: 0, error: false, kids: new Map() });
    const child = node.kids.get(key);
    child.time += s.duration;
    child.error = child.error || s.error;
    for (const k of children.get(s.id) || []) addStack.push([child, k]);
  }
  let frames = 0, maxDepth = 0;
  const placeStack = [[root, 0, 0]];
  while (placeStack.length) {
    const [node, left, d] = placeStack.pop();
    maxDepth = Math.max(maxDepth, d);
    let x = left;
    for (const kid of node.kids.values()) {
      const w = root.time > 0 ? kid.time / root.time * 100 : 0;
      const div = document.createElement("div");
      div.className = "frame" + (kid.error ? " error" : "");
      div.style.left = x + "%";
      div.style.width = w + "%";
      div.style.top = (d * 18) + "px";
      div.textContent = kid.name;
      div.title = kid.name + " — " + kid.time.toFixed(3) + " ms";
      flame.appendChild(div);
      frames++;
      placeStack.push([kid, x, d + 1]);
      x += w;
    }
  }
  flame.style.height = ((maxDepth + 1) * 18) + "px";
  document.body.dataset.bars = bars.length.toString();
  document.body.dataset.frames = frames.toString();
  document.body.dataset.rendered = "true";
})();
</script>
</body>
</html>
"##;
