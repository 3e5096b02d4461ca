// The Headroom dashboard: reads GET /stats and GET /stats/history of the proxy that serves it, every
// POLL_MS, and draws them. Every figure comes from those two answers, as they are: nothing is added up
// here that the ledger has not added up (the splits are shown as the server sums them).
"use strict";

const POLL_MS = 5000;
const HOUR = 3600;
const state = { charts: {}, timer: null, loaded: false };

const $ = (id) => document.getElementById(id);
const figure = (name) => document.querySelector(`[data-figure="${name}"]`);
const int = new Intl.NumberFormat("en-US");
const usd = (v) => (Math.abs(v) >= 100 ? "$" + int.format(Math.round(v)) : "$" + v.toFixed(v >= 1 ? 2 : 4));
const ms = (v) => (v >= 100 ? Math.round(v) + " ms" : v.toFixed(v >= 10 ? 1 : 2) + " ms");
const pct = (v) => v.toFixed(1) + "%";

function set(name, text) {
  const el = figure(name);
  if (el) el.textContent = text;
}

function query(extra) {
  const params = new URLSearchParams();
  const since = $("since").value;
  const source = $("source").value;
  if (since) params.set("since", since);
  if (source) params.set("source", source);
  for (const [k, v] of Object.entries(extra || {})) params.set(k, v);
  return params.toString();
}

const WINDOWS = { "1h": HOUR, "24h": 24 * HOUR, "7d": 7 * 24 * HOUR, "30d": 30 * 24 * HOUR };

function bucket() {
  const since = $("since").value;
  return since === "1h" || since === "24h" ? "hour" : "day";
}

// the x axis spans the chosen window (up to now), or the data's own span for "everything"
function span(x) {
  const now = Date.now() / 1000;
  const width = bucket() === "hour" ? HOUR : 24 * HOUR;
  const window = WINDOWS[$("since").value];
  if (window) return [now - window, now];
  if (!x.length) return [now - 24 * HOUR, now];
  return [Math.min(x[0], now - width), Math.max(x[x.length - 1] + width, now)];
}

async function getJSON(path) {
  const response = await fetch(path, { cache: "no-store" });
  const body = await response.json();
  if (!response.ok) throw new Error((body.error && body.error.message) || response.statusText);
  return body;
}

function rows(table, data) {
  const body = $(table).querySelector("tbody");
  body.replaceChildren(
    ...data.map((cells) => {
      const tr = document.createElement("tr");
      for (const cell of cells) {
        const td = document.createElement("td");
        td.textContent = cell;
        tr.appendChild(td);
      }
      return tr;
    })
  );
  if (!data.length) {
    const tr = document.createElement("tr");
    const td = document.createElement("td");
    td.colSpan = $(table).querySelectorAll("th").length;
    td.className = "empty";
    td.textContent = "nothing in this window";
    tr.appendChild(td);
    body.appendChild(tr);
  }
}

function sources(list) {
  const select = $("source");
  const chosen = select.value;
  const known = new Set([...select.options].map((o) => o.value));
  for (const name of list) {
    if (!known.has(name)) select.appendChild(new Option(name, name));
  }
  select.value = chosen;
}

function headline(stats) {
  const saved = stats.tokens_before - stats.tokens_after;
  set("tokens-saved", `${int.format(saved)} (${pct(stats.saved_pct)})`);
  set("tokens-before-after", `${int.format(stats.tokens_before)} → ${int.format(stats.tokens_after)} tokens in ${int.format(stats.events)} blocks`);
  const m = stats.money;
  set("money-saved", usd(m.net_saved));
  const parts = [`${usd(m.at_cache_mix)} at the actual cache mix (${int.format(m.with_usage)} requests)`];
  if (m.without_usage) parts.push(`${usd(m.at_list_price)} at list price, no usage reported (${int.format(m.without_usage)})`);
  let basis = parts.join(" + ");
  if (m.our_busts) basis += ` − ${usd(m.our_bust_usd)} re-writing ${int.format(m.our_busts)} prefixes we changed`;
  if (m.unpriced) basis += `; ${int.format(m.unpriced)} requests of unpriced models not counted`;
  set("money-basis", basis);
  set("busts-ours", `${int.format(m.our_busts)} ours (${usd(m.our_bust_usd)})`);
  const named = stats.panels.client_busts.map((b) => `${b.named} ×${int.format(b.requests)}`).join(", ");
  set("busts-client", `${int.format(m.client_busts)} the client's (${usd(m.client_bust_usd)}, not ours)${named ? ": " + named : ""}`);
  set("provider-discount", usd(m.provider_discount));
  set("billed", `billed ${usd(m.billed)} for those prompts`);
  const r = stats.requests;
  set("overhead", r.count ? `${ms(r.p50_ms)} / ${ms(r.p95_ms)} / ${ms(r.max_ms)}` : "no requests");
  set("cold", `${int.format(r.count)} requests; ${int.format(r.cold_starts)} cold starts, max ${ms(r.cold_max_ms)}`);
  set("ttfb", r.ttfb_count ? `first byte added ${ms(r.ttfb_p50_ms)} / ${ms(r.ttfb_p95_ms)} / ${ms(r.ttfb_max_ms)}` : "first byte added: not measured");
  const t = stats.panels.retrievals;
  set("retrievals", `${int.format(t.found)} of ${int.format(t.compressed_blocks)} blocks (${pct(t.rate_pct)})`);
  set("not-found", t.total ? `${pct((100 * t.not_found) / t.total)} not found of ${int.format(t.total)} asked` : "none asked");
  set("prices-as-of", stats.panels.prices_as_of);
}

function palette(i) {
  const hues = [210, 25, 140, 280, 50, 340, 180, 100];
  return `hsl(${hues[i % hues.length]} 70% 55%)`;
}

function draw(id, x, series, labels) {
  const el = $(id);
  const width = Math.max(el.clientWidth, 280);
  const opts = {
    width,
    height: 240,
    series: [{}, ...labels.map((label, i) => ({ label, stroke: palette(i), width: 2, points: { show: x.length < 60 } }))],
    axes: [{ stroke: "currentColor" }, { stroke: "currentColor", size: 70, values: (u, v) => v.map((n) => int.format(n)) }],
    scales: { x: { time: true, range: () => span(x) }, y: { range: (u, lo, hi) => [0, hi > 0 ? hi * 1.1 : 1] } },
    legend: { live: false },
  };
  const data = [x, ...series];
  const old = state.charts[id];
  if (old && old.series.length === opts.series.length && old.series.every((s, i) => i === 0 || s.label === opts.series[i].label)) {
    old.setData(data);
  } else {
    if (old) old.destroy();
    state.charts[id] = new uPlot(opts, data, el);
  }
  el.dataset.points = String(x.length);
}

function tokensChart(series) {
  const x = series.map((r) => r.start);
  draw("chart-tokens", x, [series.map((r) => r.tokens_before), series.map((r) => r.tokens_after)], ["before", "after"]);
}

function byChart(series) {
  const starts = [...new Set(series.map((r) => r.start))].sort((a, b) => a - b);
  // the split's blocks only: a group with no block in the window (a request's API) is left out
  const groups = [...new Set(series.filter((r) => r.blocks > 0).map((r) => r.group))];
  const index = new Map(starts.map((s, i) => [s, i]));
  const lines = groups.map(() => starts.map(() => 0));
  for (const r of series) {
    if (groups.includes(r.group)) lines[groups.indexOf(r.group)][index.get(r.start)] = r.tokens_before - r.tokens_after;
  }
  draw("chart-by", starts, lines, groups);
}

function limits(list) {
  const out = [];
  for (const entry of list) {
    for (const [name, f] of Object.entries(entry.windows)) {
      const remaining = f.remaining ?? (f["used-percent"] !== undefined ? `${100 - Number(f["used-percent"])}% left` : "");
      const limit = f.limit ?? (f["window-minutes"] !== undefined ? `${f["window-minutes"]}-minute window` : "");
      const at = f["reset-at"] !== undefined ? new Date(Number(f["reset-at"]) * 1000).toLocaleString() : "";
      const reset = f.reset ?? (f["reset-after-seconds"] !== undefined ? `in ${f["reset-after-seconds"]} s` : at);
      out.push([entry.provider, entry.credential || "–", name, remaining, limit, reset]);
    }
  }
  rows("table-limits", out);
}

async function refresh() {
  const by = $("by").value;
  try {
    const [stats, history, split] = await Promise.all([
      getJSON(`/stats?${query()}`),
      getJSON(`/stats/history?${query({ bucket: bucket() })}`),
      getJSON(`/stats/history?${query({ bucket: bucket(), by })}`),
    ]);
    sources(stats.panels.sources);
    headline(stats);
    set("by-name", by);
    rows("table-by", stats.panels.by[by].map((g) => [g.group, int.format(g.blocks), int.format(g.tokens_before), int.format(g.tokens_after), int.format(g.saved)]));
    const retrievalRow = (r) => [r.group, int.format(r.retrievals), int.format(r.compressed_blocks), pct(r.rate_pct)];
    rows("table-retrievals", stats.panels.retrievals.by_kind.map(retrievalRow));
    rows("table-retrievals-tool", stats.panels.retrievals.by_tool.map(retrievalRow));
    limits(stats.rate_limits);
    tokensChart(history.series);
    byChart(split.series);
    $("status").textContent = `updated ${new Date().toLocaleTimeString()} · per ${bucket()}`;
    $("status").classList.remove("error");
    document.body.dataset.ready = "true";
  } catch (error) {
    $("status").textContent = `cannot read the proxy's figures: ${error.message}`;
    $("status").classList.add("error");
  }
}

function schedule() {
  clearTimeout(state.timer);
  state.timer = setTimeout(async () => {
    if (!document.hidden) await refresh();
    schedule();
  }, POLL_MS);
}

function theme() {
  const saved = localStorage.getItem("headroom-theme");
  if (saved) document.documentElement.dataset.theme = saved;
  $("theme").addEventListener("click", () => {
    const chosen = document.documentElement.dataset.theme;
    const dark = chosen ? chosen === "dark" : matchMedia("(prefers-color-scheme: dark)").matches;
    const next = dark ? "light" : "dark";
    document.documentElement.dataset.theme = next;
    localStorage.setItem("headroom-theme", next);
  });
}

for (const id of ["since", "source", "by"]) {
  $(id).addEventListener("change", async () => {
    await refresh();
    schedule();
  });
}
window.addEventListener("resize", () => {
  for (const [id, chart] of Object.entries(state.charts)) chart.setSize({ width: Math.max($(id).clientWidth, 280), height: 240 });
});
theme();
refresh().then(schedule);
