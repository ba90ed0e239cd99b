/* coevolve viewer: a static single-page app over data/*.js files (see coevolve/evaluation/viewer/site.py).
 * No network and no server: data files are scripts calling COEVOLVE.put(key, data), loaded with <script src>
 * on demand (fetch() of file:// is blocked in Chromium). The route lives in location.hash, so every view,
 * filters included, is a link. */
(function () {
  "use strict";

  // ------------------------------------------------------------------ data loading and error capture
  const C = (window.COEVOLVE = window.COEVOLVE || {});
  const store = {};
  const waiting = {};
  const errors = [];

  function reportError(text) {
    errors.push(String(text));
    const box = document.getElementById("errors");
    if (box) {
      box.hidden = false;
      box.textContent = errors.join("\n");
    }
    document.body && document.body.setAttribute("data-errors", String(errors.length));
  }
  window.addEventListener("error", (e) => reportError("error: " + (e.message || e)));
  window.addEventListener("unhandledrejection", (e) => reportError("rejection: " + (e.reason && e.reason.message || e.reason)));
  const consoleError = console.error.bind(console);
  console.error = function () {
    reportError("console.error: " + Array.from(arguments).join(" "));
    consoleError.apply(null, arguments);
  };

  C.put = function (key, data) {
    store[key] = data;
    (waiting[key] || []).forEach((w) => w.resolve(data));
    delete waiting[key];
    if (key === "site") route();
  };

  function load(key) {
    if (key in store) return Promise.resolve(store[key]);
    return new Promise((resolve, reject) => {
      const list = (waiting[key] = waiting[key] || []);
      list.push({ resolve, reject });
      if (list.length > 1) return;
      const s = document.createElement("script");
      s.src = "data/" + key + ".js";
      s.onerror = () => {
        (waiting[key] || []).forEach((w) => w.reject(new Error("cannot load data/" + key + ".js")));
        delete waiting[key];
      };
      document.head.appendChild(s);
    });
  }

  // ------------------------------------------------------------------ helpers
  const $main = () => document.getElementById("main");
  const esc = (s) => String(s == null ? "" : s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
  const num = (x, d = 2) => (x == null || Number.isNaN(x) ? "–" : Number(x).toFixed(d));
  const pct = (x) => (x == null ? "–" : (100 * x).toFixed(1) + " %");
  const secs = (s) => (s == null ? "–" : s < 90 ? s.toFixed(1) + " s" : s < 5400 ? (s / 60).toFixed(1) + " min" : (s / 3600).toFixed(2) + " h");
  const BANDS = { success: "success (r = 1)", hard_negative: "hard negative (0.6 ≤ r < 1)", failure: "failure (r < 0.6)", unscored: "unscored" };
  const AGENT_LABEL = { expert: "Expert", failure: "Failure agent", target: "Target", positive: "Positive agent" };
  const COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#7f7f7f", "#bcbd22"];

  function parseHash() {
    const h = location.hash.replace(/^#\/?/, "");
    const [view, query] = h.split("?");
    const params = {};
    new URLSearchParams(query || "").forEach((v, k) => (params[k] = v));
    return { view: view || "overview", params };
  }
  function link(view, params) {
    const q = new URLSearchParams();
    Object.keys(params || {}).forEach((k) => params[k] !== "" && params[k] != null && q.set(k, params[k]));
    const s = q.toString();
    return "#/" + view + (s ? "?" + s : "");
  }
  function site() { return store.site; }
  function runBySlug(slug) {
    const runs = site().runs;
    return runs.find((r) => r.slug === slug) || runs[0];
  }
  function rowsOf(index) {
    const f = index.fields;
    return index.rows.map((r) => { const o = {}; f.forEach((name, i) => (o[name] = r[i])); return o; });
  }
  function bandBadge(b) { return `<span class="band ${esc(b)}">${esc((BANDS[b] || b).split(" (")[0])}</span>`; }
  function agentLabel(a) { return AGENT_LABEL[a] || a; }
  function options(values, selected, all) {
    return (all ? `<option value="">${esc(all)}</option>` : "") +
      values.map((v) => `<option value="${esc(v)}"${String(v) === String(selected) ? " selected" : ""}>${esc(v)}</option>`).join("");
  }
  const uniq = (xs) => Array.from(new Set(xs.filter((x) => x !== null && x !== undefined))).sort((a, b) => (typeof a === "number" && typeof b === "number" ? a - b : String(a).localeCompare(String(b), undefined, { numeric: true })));
  function done(view) { document.body.setAttribute("data-ready", view); }

  // ------------------------------------------------------------------ SVG charts
  function lineChart(series, opts) {
    const W = opts.width || 420, H = opts.height || 220, L = 46, R = 10, T = 22, B = 34;
    const pts = series.flatMap((s) => s.points);
    if (!pts.length) return "";
    const xs = pts.map((p) => p[0]), ys = pts.map((p) => p[1]);
    let x0 = Math.min(...xs), x1 = Math.max(...xs);
    if (x0 === x1) { x0 -= 1; x1 += 1; }
    let y0 = opts.ymin != null ? opts.ymin : Math.min(...ys), y1 = opts.ymax != null ? opts.ymax : Math.max(...ys);
    if (y0 === y1) { y0 -= 1; y1 += 1; }
    const sx = (x) => L + ((x - x0) / (x1 - x0)) * (W - L - R);
    const sy = (y) => T + (1 - (y - y0) / (y1 - y0)) * (H - T - B);
    let svg = `<svg class="chart" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img"><title>${esc(opts.title || "")}</title>`;
    svg += `<text x="${L}" y="14" class="ct">${esc(opts.title || "")}</text>`;
    const digits = Math.max(0, Math.min(6, 2 - Math.floor(Math.log10(y1 - y0))));
    for (let i = 0; i <= 4; i++) {
      const y = y0 + ((y1 - y0) * i) / 4;
      svg += `<line x1="${L}" x2="${W - R}" y1="${sy(y)}" y2="${sy(y)}" class="grid"/><text x="${L - 4}" y="${sy(y) + 4}" class="yl">${esc(+y.toFixed(digits))}</text>`;
    }
    const xticks = uniq(xs);
    (xticks.length <= 12 ? xticks : xticks.filter((_, i) => i % Math.ceil(xticks.length / 10) === 0)).forEach((x) => {
      svg += `<text x="${sx(x)}" y="${H - B + 14}" class="xl">${esc(x)}</text>`;
    });
    svg += `<text x="${(L + W - R) / 2}" y="${H - 4}" class="xl">${esc(opts.xlabel || "")}</text>`;
    series.forEach((s, i) => {
      const c = COLORS[i % COLORS.length];
      const p = s.points.slice().sort((a, b) => a[0] - b[0]);
      svg += `<polyline fill="none" stroke="${c}" stroke-width="2" points="${p.map((q) => sx(q[0]) + "," + sy(q[1])).join(" ")}"/>`;
      p.forEach((q) => (svg += `<circle cx="${sx(q[0])}" cy="${sy(q[1])}" r="3" fill="${c}"><title>${esc(s.name)}: ${esc(q[0])}, ${esc(+q[1].toFixed(4))}</title></circle>`));
    });
    svg += "</svg>";
    const legend = series.map((s, i) => `<span><i style="background:${COLORS[i % COLORS.length]}"></i>${esc(s.name)}</span>`).join("");
    return `<figure class="fig">${svg}<figcaption class="legend">${legend}</figcaption></figure>`;
  }

  // ------------------------------------------------------------------ overview
  function resultsTable(runs) {
    const cols = uniq(runs.flatMap((r) => Object.keys(r.results.columns)));
    if (!cols.length) return `<p class="muted">No evaluation yet.</p>`;
    let h = `<table class="data"><thead><tr><th>Run</th><th>Method</th><th>Iter</th>${cols.map((c) => `<th>${esc(c)}</th>`).join("")}</tr></thead><tbody>`;
    runs.forEach((r) => {
      h += `<tr><td>${esc(r.slug)}</td><td>${esc(r.method)}</td><td>${esc(r.results.iteration)}</td>`;
      cols.forEach((c) => {
        const cell = r.results.columns[c];
        if (!cell) return (h += "<td>–</td>");
        const ci = cell.ci ? `<span class="ci">[${num(cell.ci[0])}, ${num(cell.ci[1])}]</span>` : "";
        h += `<td><b>${num(cell.avg_reward)}</b>${cell.data === "generated" ? "*" : ""} ${ci}<span class="muted small"> n=${esc(cell.episodes)}</span></td>`;
      });
      h += "</tr>";
    });
    return h + `</tbody></table><p class="small muted">Average reward ×100 of the last evaluated iteration (0 = SFT model); 95 % percentile-bootstrap CI over episodes. * generated data, not the benchmark.</p>`;
  }

  function runSection(r) {
    let h = `<section class="run"><h2>${esc(r.method)} <span class="muted small">${esc(r.path)}</span></h2>`;
    h += `<p class="small">${r.episodes} episodes · ${r.pair_groups} pair groups · <a href="${link("episodes", { run: r.slug })}">browse episodes</a> · <a href="${link("pairs", { run: r.slug })}">browse pairs</a> · config: ${esc(JSON.stringify(r.config))}</p>`;
    const charts = [];
    const evalSeries = {};
    Object.keys(r.evals).forEach((k) => Object.keys(r.evals[k]).forEach((col) => (evalSeries[col] = evalSeries[col] || []).push([+k, r.evals[k][col].avg_reward])));
    const es = Object.keys(evalSeries).map((n) => ({ name: n, points: evalSeries[n] }));
    if (es.length) charts.push(lineChart(es, { title: "Evaluation: avg reward ×100 per iteration", xlabel: "iteration", ymin: 0 }));
    const bySeries = (field) => {
      const m = {};
      r.rollouts.forEach((x) => x[field] != null && (m[x.env + " " + x.agent] = m[x.env + " " + x.agent] || []).push([x.iter, 100 * x[field]]));
      return Object.keys(m).map((n) => ({ name: n, points: m[n] }));
    };
    if (r.rollouts.length) {
      charts.push(lineChart(bySeries("success"), { title: "Exploration: % success (failure agent = collapse check)", xlabel: "iteration", ymin: 0, ymax: 100 }));
      charts.push(lineChart(bySeries("hard_negative"), { title: "Exploration: % hard negatives (0.6 ≤ r < 1)", xlabel: "iteration", ymin: 0 }));
    }
    if (r.pairs.length) {
      const m = {};
      r.pairs.forEach((p) => (m[p.set] = m[p.set] || []).push([p.iter, p.pairs]));
      charts.push(lineChart(Object.keys(m).map((n) => ({ name: n + " pairs", points: m[n] })), { title: "Preference pairs per iteration", xlabel: "iteration", ymin: 0 }));
    }
    r.training.forEach((t) => {
      const pts = t.history.filter((e) => e.loss != null && e.step != null).map((e) => [e.step, e.loss]);
      if (pts.length) charts.push(lineChart([{ name: t.stage + " loss", points: pts }], { title: `Training ${t.stage} (${t.algorithm || ""}): loss`, xlabel: "step", width: 300, height: 180 }));
    });
    h += `<div class="charts">${charts.join("")}</div>`;
    if (r.pairs.length) {
      h += `<h3>Pairs</h3><table class="data"><thead><tr><th>Iter</th><th>Set</th><th>Pairs</th><th>By kind</th><th>Hard-negative rejects</th></tr></thead><tbody>`;
      r.pairs.forEach((p) => (h += `<tr><td>${p.iter}</td><td>${esc(p.set)}</td><td>${p.pairs}</td><td>${esc(Object.entries(p.kinds).map((e) => e.join(" ")).join(", ") || "–")}</td><td>${pct(p.hard_negative)}</td></tr>`));
      h += "</tbody></table>";
    }
    h += `<div class="cols2"><div>${costsTable(r.costs)}</div><div>${manifestTable(r.manifest)}</div></div></section>`;
    return h;
  }

  function costsTable(costs) {
    if (!costs || !costs.length) return "";
    const max = Math.max(...costs.map((c) => c.seconds), 1e-9);
    let h = `<h3>Stage costs</h3><table class="data"><thead><tr><th>Stage</th><th>Wall</th><th></th><th>Tokens</th><th>Device</th></tr></thead><tbody>`;
    costs.forEach((c) => (h += `<tr><td>${esc(c.stage)}</td><td>${secs(c.seconds)}</td><td><span class="bar" style="width:${(100 * c.seconds) / max}px"></span></td><td>${esc(c.tokens || 0)}</td><td>${esc(c.device || "")}${c.gpus ? " ×" + c.gpus : ""}</td></tr>`));
    const total = costs.reduce((a, c) => a + c.seconds, 0);
    return h + `<tr><td><b>total</b></td><td><b>${secs(total)}</b></td><td></td><td></td><td></td></tr></tbody></table>`;
  }

  function manifestTable(stages) {
    if (!stages || !stages.length) return "";
    let h = `<h3>Manifest</h3><table class="data"><thead><tr><th>Stage</th><th>Status</th><th>Attempts</th><th>Seconds</th><th>Outputs</th></tr></thead><tbody>`;
    stages.forEach((s) => (h += `<tr><td>${esc(s.stage)}</td><td><span class="status ${esc(s.status)}">${esc(s.status)}</span></td><td>${esc(s.attempts)}</td><td>${num(s.seconds, 1)}</td><td class="small">${esc(JSON.stringify(s.outputs || {}))}</td></tr>`));
    return h + "</tbody></table>";
  }

  function viewOverview() {
    const runs = site().runs;
    $main().innerHTML = `<h1>Runs</h1>${resultsTable(runs)}${runs.map(runSection).join("")}`;
    done("overview");
  }

  // ------------------------------------------------------------------ episode browser
  const FILTERS = [["env", "benchmark"], ["split", "split"], ["iter", "iteration"], ["agent", "agent"], ["source", "source"], ["band", "reward band"]];
  const PAGE = 100;

  function filterRows(rows, p) {
    return rows.filter((r) =>
      FILTERS.every(([f]) => p[f] == null || p[f] === "" || String(r[f]) === String(p[f])) &&
      (!p.task || String(r.task) === p.task || String(r.task).includes(p.task)));
  }

  function runSelect(view, p) {
    return `<label>run <select data-param="run">${site().runs.map((r) => `<option value="${esc(r.slug)}"${r.slug === p.run ? " selected" : ""}>${esc(r.slug)} (${esc(r.method)})</option>`).join("")}</select></label>`;
  }

  async function viewEpisodes(p) {
    const run = runBySlug(p.run);
    p.run = run.slug;
    const index = await load(run.slug + "/episodes");
    const rows = rowsOf(index);
    const hits = filterRows(rows, p);
    const page = Math.max(0, +(p.page || 0));
    let h = `<h1>Episodes</h1><form class="filters" id="filters">${runSelect("episodes", p)}`;
    FILTERS.forEach(([f, label]) => {
      const values = uniq(rows.map((r) => r[f]));
      h += `<label>${esc(label)} <select data-param="${f}">${options(values, p[f], "all")}</select></label>`;
    });
    h += `<label>task <input data-param="task" value="${esc(p.task || "")}" placeholder="id" size="8"></label></form>`;
    h += `<p id="count"><b data-count="${hits.length}">${hits.length}</b> of ${rows.length} episodes match.</p>`;
    h += `<table class="data episodes"><thead><tr><th>#</th><th>Benchmark</th><th>Split</th><th>Iter</th><th>Agent</th><th>Source</th><th>Task</th><th>Sample</th><th>Reward</th><th>Band</th><th>Steps</th><th>End</th></tr></thead><tbody>`;
    hits.slice(page * PAGE, (page + 1) * PAGE).forEach((r) => {
      h += `<tr class="ep" data-band="${esc(r.band)}" data-env="${esc(r.env)}" data-agent="${esc(r.agent)}"><td><a href="${link("episode", { run: run.slug, id: r.id })}">${r.id}</a></td><td>${esc(r.env)}</td><td>${esc(r.split)}</td><td>${esc(r.iter == null ? "–" : r.iter)}</td><td>${esc(r.agent)}</td><td>${esc(r.source)}</td><td>${esc(r.task)}</td><td>${esc(r.sample)}</td><td>${num(r.reward, 3)}</td><td>${bandBadge(r.band)}</td><td>${esc(r.steps)}</td><td>${esc(r.end)}</td></tr>`;
    });
    h += "</tbody></table>";
    const pages = Math.ceil(hits.length / PAGE);
    if (pages > 1) {
      h += `<p class="pager">${Array.from({ length: pages }, (_, i) => (i === page ? `<b>${i + 1}</b>` : `<a href="${link("episodes", Object.assign({}, p, { page: i }))}">${i + 1}</a>`)).join(" ")}</p>`;
    }
    $main().innerHTML = h;
    bindFilters("episodes", p);
    done("episodes");
  }

  function bindFilters(view, p) {
    document.querySelectorAll("#filters [data-param]").forEach((el) => {
      el.addEventListener("change", () => {
        const next = Object.assign({}, p, { [el.dataset.param]: el.value, page: "" });
        if (el.dataset.param === "run") Object.keys(next).forEach((k) => k !== "run" && (next[k] = ""));
        location.hash = link(view, next);
      });
    });
  }

  function splitTurn(text) {
    const m = /^([\s\S]*?)\n?\s*Action:\s?([\s\S]*)$/.exec(text);
    if (!m) return `<div class="raw">${esc(text)}</div>`;
    const thought = m[1].replace(/^\s*Thought:\s?/, "");
    return `${thought.trim() ? `<div class="thought"><span class="lbl">Thought</span>${esc(thought)}</div>` : ""}<div class="action"><span class="lbl">Action</span>${esc(m[2])}</div>`;
  }

  function infoHtml(info) {
    if (!info) return "";
    let h = "";
    const bd = info.reward_breakdown;
    if (bd && typeof bd === "object") {
      h += `<table class="breakdown"><caption>reward breakdown</caption>${Object.entries(bd).map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(typeof v === "number" ? +v.toFixed(4) : JSON.stringify(v))}</td></tr>`).join("")}</table>`;
    }
    const rest = Object.entries(info).filter(([k]) => k !== "reward_breakdown");
    if (rest.length) h += `<span class="info">${rest.map(([k, v]) => `${esc(k)}=${esc(typeof v === "object" ? JSON.stringify(v) : v)}`).join(" · ")}</span>`;
    return h;
  }

  // Steps of an episode: [{assistant text, observation text, step record}], after the task turn.
  function episodeSteps(ep) {
    const out = [];
    let s = 0;
    const msgs = ep.messages;
    for (let i = 1; i < msgs.length; i++) {
      if (msgs[i][0] !== "assistant") continue;
      const obs = i + 1 < msgs.length && msgs[i + 1][0] === "user" ? msgs[i + 1][1] : null;
      const step = ep.steps[s] || null;
      out.push({ text: msgs[i][1], obs: obs != null ? obs : step ? step.observation : null, step });
      s++;
    }
    return out;
  }

  function stepHtml(st, i) {
    let h = `<div class="turn assistant"><span class="who">step ${i + 1}</span>${splitTurn(st.text)}</div>`;
    if (st.step) h += `<div class="stepinfo">reward <b>${num(st.step.reward, 3)}</b>${st.step.done ? " · done" : ""} ${infoHtml(st.step.info)}</div>`;
    if (st.obs != null) h += `<div class="turn user obs">${esc(st.obs)}</div>`;
    return h;
  }

  async function viewEpisode(p) {
    const run = runBySlug(p.run);
    const rows = rowsOf(await load(run.slug + "/episodes"));
    const row = rows[+p.id];
    if (!row) throw new Error("no episode " + p.id + " in run " + run.slug);
    const ep = (await load(run.slug + "/ep" + row.chunk))[row.id - row.chunk * rows.filter((r) => r.chunk === row.chunk)[0].id];
    const pairsIndex = rowsOf(await load(run.slug + "/pairs"));
    const group = pairsIndex.find((g) => g.env === row.env && String(g.task) === String(row.task) && (row.iter == null || g.iter === row.iter));
    let h = `<h1>Episode ${row.id} <span class="muted small">${esc(run.slug)}</span></h1>`;
    h += `<p>${esc(row.env)} / ${esc(row.split)} / task <b>${esc(row.task)}</b> · ${esc(agentLabel(row.agent))} (${esc(row.source)}${row.iter != null ? ", iteration " + row.iter : ""}, sample ${row.sample}) · reward <b>${num(ep.reward, 3)}</b> ${bandBadge(row.band)} · ended: ${esc(ep.end)} · model ${esc(ep.model || "–")}</p>`;
    h += `<p class="small">${group ? `<a href="${link("pair", { run: run.slug, g: group.id })}">pairs of this task (iteration ${group.iter})</a> · ` : ""}<a href="${link("compare", { env: row.env, task: row.task, source: row.source, agent: row.agent })}">compare across runs</a></p>`;
    h += `<details><summary>instruction</summary><pre class="instr">${esc(ep.instruction)}</pre></details>`;
    h += `<div class="chat"><div class="turn user task"><span class="who">task</span>${esc(ep.messages.length ? ep.messages[0][1] : "")}</div>`;
    h += episodeSteps(ep).map(stepHtml).join("") + "</div>";
    $main().innerHTML = h;
    done("episode");
  }

  // ------------------------------------------------------------------ pairs
  async function viewPairs(p) {
    const run = runBySlug(p.run);
    p.run = run.slug;
    const index = await load(run.slug + "/pairs");
    const rows = rowsOf(index);
    const hits = rows.filter((r) => (!p.iter || String(r.iter) === p.iter) && (!p.env || r.env === p.env) && (!p.three || r.agents.length >= 3));
    let h = `<h1>Preference pairs</h1><form class="filters" id="filters">${runSelect("pairs", p)}`;
    h += `<label>iteration <select data-param="iter">${options(uniq(rows.map((r) => r.iter)), p.iter, "all")}</select></label>`;
    h += `<label>benchmark <select data-param="env">${options(uniq(rows.map((r) => r.env)), p.env, "all")}</select></label>`;
    h += `<label>columns <select data-param="three"><option value="">any</option><option value="1"${p.three ? " selected" : ""}>expert + both failures</option></select></label></form>`;
    h += `<p>${hits.length} of ${rows.length} task groups · scored tokens: ${index.mode === "tokens" ? `tokenizer assistant mask (${esc(index.tokenizer)}), DPO max_length ${esc(index.max_length)}` : "assistant/observation turn split (no tokenizer)"}</p>`;
    h += `<table class="data"><thead><tr><th>Iter</th><th>Benchmark</th><th>Task</th><th>Pairs</th><th>Kinds</th><th>Trajectories</th></tr></thead><tbody>`;
    hits.forEach((r) => (h += `<tr><td>${r.iter}</td><td>${esc(r.env)}</td><td><a href="${link("pair", { run: run.slug, g: r.id })}">${esc(r.task)}</a></td><td>${r.pairs}</td><td>${esc(r.kinds.join(", "))}</td><td>${esc(r.agents.map(agentLabel).join(", "))}</td></tr>`));
    $main().innerHTML = h + "</tbody></table>";
    bindFilters("pairs", p);
    done("pairs");
  }

  // Split a side's pieces into steps: a step starts where scored text starts after masked text.
  function pieceSteps(col) {
    const starts = [];
    for (let i = 0; i < col.mask.length; i++) if (col.mask[i] !== "0" && (i === 0 || col.mask[i - 1] === "0")) starts.push(i);
    const bounds = [0].concat(starts.slice(1), [col.mask.length]);
    const steps = [];
    for (let j = 0; j + 1 < bounds.length; j++) steps.push([bounds[j], bounds[j + 1]]);
    return steps;
  }

  function piecesHtml(col, a, b) {
    let h = "", alt = 0;
    for (let i = a; i < b; i++) {
      const m = col.mask[i];
      if (m === "1") h += `<span class="tok s ${alt++ % 2 ? "b" : "a"}">${esc(col.pieces[i])}</span>`;
      else if (m === "2") h += `<span class="tok cut" title="assistant token cut by max_length: not scored">${esc(col.pieces[i])}</span>`;
      else h += `<span class="tok m" title="masked: not scored">${esc(col.pieces[i])}</span>`;
    }
    return h;
  }

  function colTitle(col, i, group) {
    const kind = col.agent === "expert" ? "expert" : agentLabel(col.agent) + " failure";
    const band = col.reward >= 1 ? "success" : col.reward >= 0.6 ? "hard_negative" : "failure";
    return `<div class="colhead ${esc(col.agent)}"><b>${esc(kind)}</b> #${col.sample} · r = ${num(col.reward, 3)} ${bandBadge(band)}<div class="small muted">${col.scored != null ? `${col.scored} scored tokens${col.cut ? `, ${col.cut} cut` : ""} · ` : ""}as ${esc(col.side)} in ${esc(col.pair)}</div></div>`;
  }

  async function viewPair(p) {
    const run = runBySlug(p.run);
    const index = await load(run.slug + "/pairs");
    const rows = rowsOf(index);
    const row = rows[+p.g] || rows[0];
    if (!row) { $main().innerHTML = `<p>No pairs in run ${esc(run.slug)}.</p>`; return done("pair"); }
    const chunk = await load(run.slug + "/pg" + row.chunk);
    const group = chunk[row.id - rows.find((r) => r.chunk === row.chunk).id];
    const cols = group.columns;
    const steps = cols.map(pieceSteps);
    const n = Math.max(...steps.map((s) => s.length));
    let h = `<h1>Pair view: ${esc(group.env)} task ${esc(group.task)} <span class="muted small">${esc(run.slug)}, iteration ${group.iter}</span></h1>`;
    h += `<p class="legend-toks"><span class="tok s a">scored by DPO</span> <span class="tok m">masked (observation / template, not scored)</span> <span class="tok cut">cut by max_length</span> · ${index.mode === "tokens" ? `tokens of ${esc(index.tokenizer)}` : "whole turns (no tokenizer)"} · <a href="${link("compare", { env: group.env, task: group.task, source: "rollout", agent: "target" })}">compare runs</a></p>`;
    h += `<details><summary>shared prompt (${group.prompt.length} turns, not scored)</summary>${group.prompt.map((m) => `<pre class="instr">${esc(m[0])}: ${esc(m[1])}</pre>`).join("")}</details>`;
    h += `<table class="pairgrid" data-columns="${cols.length}"><thead><tr><th class="stepno">step</th>${cols.map((c, i) => `<th>${colTitle(c, i, group)}</th>`).join("")}</tr></thead><tbody>`;
    for (let s = 0; s < n; s++) {
      h += `<tr><th class="stepno">${s + 1}</th>${cols.map((c, i) => `<td>${steps[i][s] ? `<div class="toks">${piecesHtml(c, steps[i][s][0], steps[i][s][1])}</div>` : ""}</td>`).join("")}</tr>`;
    }
    h += "</tbody></table><h3>Pairs of this task</h3><table class='data'><thead><tr><th>Pair</th><th>Set</th><th>Kind</th><th>Chosen</th><th>Rejected</th><th>Rewards</th><th>SFT weight</th><th>Notes</th></tr></thead><tbody>";
    const name = (i) => `${agentLabel(cols[i].agent)} #${cols[i].sample}`;
    group.pairs.forEach((q) => (h += `<tr><td class="small">${esc(q.id)}</td><td>${esc(q.set)}</td><td>${esc(q.kind)}</td><td>${esc(name(q.chosen))}</td><td>${esc(name(q.rejected))}</td><td>${num(q.chosen_reward, 3)} > ${num(q.rejected_reward, 3)}</td><td>${q.sft_weight}</td><td>${q.reversed ? "reversed " : ""}${q.truncated ? "reject truncated" : ""}</td></tr>`));
    $main().innerHTML = h + "</tbody></table>";
    done("pair");
  }

  // ------------------------------------------------------------------ comparison across runs
  async function viewCompare(p) {
    const runs = site().runs;
    const indices = await Promise.all(runs.map((r) => load(r.slug + "/episodes").then(rowsOf)));
    const source = p.source || "eval", agent = p.agent || "target";
    const tasks = {};
    indices.forEach((rows, i) => rows.forEach((r) => r.source === source && r.agent === agent && ((tasks[r.env + "\u0000" + r.task] = tasks[r.env + "\u0000" + r.task] || new Set()).add(i))));
    const keys = Object.keys(tasks).sort((a, b) => tasks[b].size - tasks[a].size || a.localeCompare(b, undefined, { numeric: true }));
    if (!p.env && keys.length) [p.env, p.task] = keys[0].split("\u0000");
    let h = `<h1>Compare runs on one task</h1><form class="filters" id="filters">`;
    h += `<label>source <select data-param="source">${options(["eval", "rollout", "rollout_new", "expert"], source)}</select></label>`;
    h += `<label>agent <select data-param="agent">${options(uniq(indices.flat().map((r) => r.agent)), agent)}</select></label>`;
    h += `<label>task <select data-param="key">${keys.map((k) => { const [e, t] = k.split("\u0000"); return `<option value="${esc(k)}"${e === p.env && String(t) === String(p.task) ? " selected" : ""}>${esc(e)} ${esc(t)} (${tasks[k].size} runs)</option>`; }).join("")}</select></label></form>`;
    const picked = [];
    for (let i = 0; i < runs.length; i++) {
      const cand = indices[i].filter((r) => r.source === source && r.agent === agent && r.env === p.env && String(r.task) === String(p.task));
      if (!cand.length) continue;
      const it = p.iter != null && p.iter !== "" ? +p.iter : Math.max(...cand.map((r) => (r.iter == null ? -1 : r.iter)));
      const row = cand.find((r) => (r.iter == null ? -1 : r.iter) === it) || cand[0];
      const chunk = await load(runs[i].slug + "/ep" + row.chunk);
      const first = indices[i].find((r) => r.chunk === row.chunk).id;
      picked.push({ run: runs[i], row, ep: chunk[row.id - first] });
    }
    if (!picked.length) h += `<p class="muted">No run has a ${esc(source)} episode of the ${esc(agent)} agent on this task.</p>`;
    else {
      const steps = picked.map((x) => episodeSteps(x.ep));
      const n = Math.max(...steps.map((s) => s.length));
      h += `<p class="small">task turn: ${esc(picked[0].ep.messages.length ? picked[0].ep.messages[0][1] : "")}</p>`;
      h += `<table class="pairgrid" data-columns="${picked.length}"><thead><tr><th class="stepno">step</th>${picked.map((x) => `<th><div class="colhead"><b>${esc(x.run.method)}</b> <span class="muted">${esc(x.run.slug)}</span> · iter ${esc(x.row.iter)} · r = ${num(x.row.reward, 3)} ${bandBadge(x.row.band)} <a class="small" href="${link("episode", { run: x.run.slug, id: x.row.id })}">episode</a></div></th>`).join("")}</tr></thead><tbody>`;
      for (let s = 0; s < n; s++) h += `<tr><th class="stepno">${s + 1}</th>${steps.map((st) => `<td>${st[s] ? stepHtml(st[s], s) : ""}</td>`).join("")}</tr>`;
      h += "</tbody></table>";
    }
    $main().innerHTML = h;
    document.querySelectorAll("#filters [data-param]").forEach((el) => el.addEventListener("change", () => {
      const next = Object.assign({}, p, { source, agent });
      if (el.dataset.param === "key") [next.env, next.task] = el.value.split("\u0000");
      else next[el.dataset.param] = el.value;
      location.hash = link("compare", next);
    }));
    done("compare");
  }

  // ------------------------------------------------------------------ router
  const VIEWS = { overview: viewOverview, episodes: viewEpisodes, episode: viewEpisode, pairs: viewPairs, pair: viewPair, compare: viewCompare };

  async function route() {
    if (!site()) return;
    document.getElementById("built").textContent = "built " + site().built;
    const { view, params } = parseHash();
    document.body.removeAttribute("data-ready");
    document.querySelectorAll("nav a").forEach((a) => a.classList.toggle("active", a.dataset.nav === view.replace(/^(episode|pair)$/, "$1s")));
    try {
      await (VIEWS[view] || viewOverview)(params);
    } catch (err) {
      $main().innerHTML = `<p class="err">${esc(err.message || err)}</p>`;
      reportError(err.message || err);
    }
  }
  window.addEventListener("hashchange", route);
})();
