/* kgrec explorer: plain modern JavaScript, no build step, same-origin API only.
 *
 * Reads: GET /health, /facets, /recommendations, /items/{id}/neighbourhood.
 * Writes: POST /items with the API key typed into the page (kept in memory only,
 * never stored). The key, when typed, is sent on reads too, so the page works when
 * the service has KGREC_API_READ_REQUIRES_KEY=true.
 * Every text from the API is put into the page with textContent (never innerHTML).
 * For tests and the curious: window.kgrecExplorer exposes the state and the graph.
 */
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const state = {
    lastRanking: null, // the last RankedOut
    lastParams: null, // URLSearchParams of the last ranking
    graphItem: null, // product id whose neighbourhood is drawn
    added: new Set(), // products added from this page
    cy: null,
    busy: 0,
    rankings: 0, // rankings answered (or failed): tests wait on it
  };

  // DOM helper: el("div", {class: "x"}, "text", child, ...)
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
      else if (name === "dataset") Object.assign(node.dataset, value);
      else node.setAttribute(name, value === true ? "" : String(value));
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  // API ----------------------------------------------------------------------
  class ApiError extends Error {
    constructor(status, detail) {
      super(detail);
      this.status = status;
    }
  }

  const STATUS_TEXT = {
    400: "Bad request", 401: "Not authorised", 403: "Forbidden", 404: "Not found",
    422: "Invalid input", 500: "Server error", 503: "Service unavailable",
  };

  async function api(method, path, { body, write = false } = {}) {
    const headers = { Accept: "application/json" };
    const key = $("api-key").value.trim();
    if (key) headers["X-API-Key"] = key;
    else if (write) {
      throw new ApiError(0, `Type the API key (top right) to ${write}: writes need it.`);
    }
    if (body !== undefined) headers["Content-Type"] = "application/json";
    let response;
    try {
      response = await fetch(path, {
        method, headers, body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (err) {
      throw new ApiError(0, `Could not reach the service (${err.message}); is kgrec serve running?`);
    }
    const text = await response.text();
    let data = null;
    try { data = text ? JSON.parse(text) : null; } catch { data = null; }
    if (!response.ok) {
      let detail = data && typeof data.detail === "string" ? data.detail
        : data && data.detail ? JSON.stringify(data.detail) : text.slice(0, 300) || response.statusText;
      if (response.status === 401 && !key) detail += " (type the API key at the top of the page)";
      const retry = response.headers.get("Retry-After");
      if (response.status === 503 && retry) detail += ` (retry in ${retry} s)`;
      throw new ApiError(response.status, detail);
    }
    return data;
  }

  function describe(err) {
    if (err instanceof ApiError) {
      const head = err.status ? `${err.status} ${STATUS_TEXT[err.status] || "Error"}: ` : "";
      return head + err.message;
    }
    return `Unexpected error in the page: ${err && err.message ? err.message : err}`;
  }

  function showMessage(text, kind = "error") {
    const box = $("message");
    box.textContent = text;
    box.className = `message ${kind}`;
    box.hidden = false;
  }

  function clearMessage() {
    $("message").hidden = true;
    $("message").textContent = "";
  }

  async function busy(button, work) {
    state.busy += 1;
    if (button) button.disabled = true;
    document.body.setAttribute("aria-busy", "true");
    try {
      return await work();
    } finally {
      state.busy -= 1;
      if (button) button.disabled = false;
      if (!state.busy) document.body.removeAttribute("aria-busy");
    }
  }

  // Health and facets ------------------------------------------------------------
  async function loadHealth() {
    const line = $("health");
    try {
      const h = await api("GET", "/health");
      line.textContent = `artifacts ${h.artifact_version} · ${h.items} products · graph ${h.graph}`
        + ` · ${h.device}${h.detail ? ` — ${h.detail}` : ""}`;
      line.classList.toggle("down", h.graph !== "up");
    } catch (err) {
      line.textContent = describe(err);
      line.classList.add("down");
    }
  }

  async function loadFacets() {
    try {
      const f = await api("GET", "/facets");
      const names = new Map(f.categories.map((c) => [c.id, c]));
      const pathOf = (c) => {
        const parts = [c.name];
        let seen = 0;
        while (c.parent_id && names.has(c.parent_id) && seen++ < 10) {
          c = names.get(c.parent_id);
          parts.unshift(c.name);
        }
        return parts.join(" › ");
      };
      $("category-list").replaceChildren(
        ...f.categories.map((c) => el("option", { value: c.id, label: pathOf(c) })),
      );
      $("brand-list").replaceChildren(
        ...f.brands.map((b) => el("option", { value: b.id, label: b.name })),
      );
      $("user-list").replaceChildren(...f.users.map((u) => el("option", { value: u })));
    } catch (err) {
      // the filters still take typed ids; say why there are no suggestions
      $("health").textContent += ` · no filter suggestions (${describe(err)})`;
    }
  }

  // Ranking ----------------------------------------------------------------------
  function rankingParams() {
    const p = new URLSearchParams();
    const put = (name, value) => { if (value !== "") p.set(name, value); };
    put("user_id", $("user").value.trim());
    put("query", $("query").value.trim());
    put("category", $("category").value.trim());
    put("brand", $("brand").value.trim());
    put("min_price", $("min-price").value.trim());
    put("max_price", $("max-price").value.trim());
    put("k", $("k").value.trim());
    if ($("in-stock").checked) p.set("in_stock_only", "true");
    if ($("explain").checked) p.set("explain", "true");
    return p;
  }

  async function rank({ keepMessage = false } = {}) {
    const params = rankingParams();
    if (!keepMessage) clearMessage();
    try {
      const ranked = await busy($("rank"), () => api("GET", `/recommendations?${params}`));
      state.lastRanking = ranked;
      state.lastParams = params;
      renderRanking(ranked);
      return ranked;
    } catch (err) {
      showMessage(describe(err));
      return null;
    } finally {
      state.rankings += 1;
    }
  }

  const STRATEGY_TEXT = {
    user: "the shopper's graph vector",
    context: "the product being viewed",
    query: "the query only (shopper unknown)",
    popularity: "popularity (nothing else known)",
  };

  function renderRanking(ranked) {
    const summary = $("summary");
    const who = $("user").value.trim();
    const line = el(
      "div", { class: "line" },
      el("span", { class: "badge", "data-field": "ranking" }, ranked.ranking),
      el("span", { class: "badge", "data-field": "strategy" }, ranked.strategy),
      " ",
      el("b", {}, `${ranked.items.length} products`),
      ` for ${who ? `shopper ${who}` : "an anonymous shopper"}, ranked by `,
      STRATEGY_TEXT[ranked.strategy] || ranked.strategy,
      ranked.ranking === "learned" ? " with the learned ranker" : " with the fused scores",
      ` · ${ranked.candidates} candidates · artifacts ${ranked.artifact_version}`,
      ranked.user_known || !who ? "" : " · shopper not known to the model",
    );
    const notes = (ranked.notes || []).map((n) => el("li", {}, n));
    summary.replaceChildren(line, ...(notes.length ? [el("ul", { class: "notes" }, notes)] : []));
    summary.hidden = false;
    const scale = scoreScale(ranked.items);
    $("cards").replaceChildren(...ranked.items.map((item, i) => card(item, i + 1, scale)));
    if (!ranked.items.length) {
      $("cards").append(el("li", { class: "card empty" }, "No product matches these filters."));
    }
  }

  function scoreScale(items) {
    let max = 1e-9;
    for (const it of items) {
      for (const part of ["graph", "text", "popularity", "ranker"]) {
        const v = it.score[part];
        if (typeof v === "number") max = Math.max(max, Math.abs(v));
      }
    }
    return max;
  }

  const fmt = (v) => (typeof v === "number" ? v.toFixed(3) : "–");
  const money = (v) => (typeof v === "number" ? v.toFixed(2) : "no price");

  function scoreRows(score, scale) {
    const parts = [["graph", "graph"], ["text", "text"], ["popularity", "popularity"]];
    if (score.ranker !== null && score.ranker !== undefined) parts.push(["ranker", "ranker"]);
    const rows = [];
    for (const [key, name] of parts) {
      const v = score[key];
      const width = typeof v === "number" ? Math.min(100, (Math.abs(v) / scale) * 100) : 0;
      rows.push(
        el("span", { class: "name" }, name),
        el("span", { class: `bar ${key}` }, el("i", { style: `width:${width.toFixed(1)}%` })),
        el("span", { class: "val", "data-score": key }, fmt(v)),
      );
    }
    rows.push(
      el("span", { class: "name total" }, "total"), el("span", {}),
      el("span", { class: "val total", "data-score": "total" }, fmt(score.total)),
    );
    return el("div", { class: "score", "aria-label": "score breakdown" }, rows);
  }

  // A reason: a sentence when the API gives one, else the graph path as hops.
  function reasonOf(item) {
    const r = item.reason;
    if (typeof r === "string" && r) return el("div", { class: "reason" }, r);
    if (r && typeof r === "object" && (r.sentence || r.text)) {
      return el("div", { class: "reason" }, r.sentence || r.text);
    }
    const path = item.explanation;
    if (!Array.isArray(path) || !path.length) return null;
    const parts = ["Path: "];
    path.forEach((step, i) => {
      if (i % 2 === 0) parts.push(el("b", {}, step.name || step.id || step.label || "?"));
      else {
        const what = step.kind || (step.relation ? step.relation.split(".").pop().replaceAll("_", " ") : null)
          || (step.type || "").toLowerCase().replaceAll("_", " ");
        parts.push(el("span", { class: "hop" }, ` —${what}— `));
      }
    });
    return el("div", { class: "reason", "data-field": "explanation" }, parts);
  }

  function card(item, position, scale) {
    const isNew = state.added.has(item.id);
    const node = el(
      "li",
      {
        class: `card${isNew ? " new" : ""}${state.graphItem === item.id ? " selected" : ""}`,
        "data-id": item.id,
        onclick: (ev) => { if (!ev.target.closest("button.chip")) openGraph(item.id); },
      },
      el(
        "div", { class: "head" },
        el("span", { class: "rank" }, `#${position}`),
        el("button", { type: "button", class: "title", title: "Show its neighbourhood" }, item.title),
        isNew ? el("span", { class: "new-badge" }, "new") : null,
        el("span", { class: "price" }, money(item.price)),
      ),
      el(
        "div", { class: "meta" },
        el("span", {}, item.id),
        el("span", { class: `stock${item.in_stock ? "" : " out"}` }, item.in_stock ? "in stock" : "out of stock"),
        item.brand_id ? chip("brand", item.brand_id) : null,
        item.category_ids.map((c) => chip("category", c)),
      ),
      scoreRows(item.score, scale),
      reasonOf(item),
    );
    return node;
  }

  function chip(kind, id) {
    return el("button", {
      type: "button", class: "chip", title: `Filter by this ${kind}`,
      onclick: () => filterBy(kind, id),
    }, id);
  }

  function filterBy(kind, id) {
    $(kind === "brand" ? "brand" : "category").value = id;
    rank();
  }

  // Neighbourhood graph --------------------------------------------------------------
  const COLOURS = { Brand: "#d9822b", Category: "#2f7d4f", Entity: "#7a3db8" };

  function graphStyle() {
    return [
      {
        selector: "node",
        style: {
          label: "data(short)", "font-size": 13, color: "#1d2330", "text-valign": "bottom",
          "text-margin-y": 3, "text-wrap": "ellipsis", "text-max-width": 140,
          width: 22, height: 22, "background-color": (n) => COLOURS[n.data("label")] || "#2457c5",
          "border-width": 1, "border-color": "#ffffff",
        },
      },
      { selector: "node[role = 'centre']", style: { "background-color": "#1d2330", width: 36, height: 36, "font-weight": "bold" } },
      { selector: "node[label = 'Category']", style: { shape: "round-rectangle" } },
      { selector: "node[label = 'Brand']", style: { shape: "diamond", width: 26, height: 26 } },
      { selector: "node[label = 'Entity']", style: { shape: "hexagon" } },
      {
        selector: "edge",
        style: {
          width: 1.2, "line-color": "#b7c0cf", "target-arrow-color": "#b7c0cf",
          "target-arrow-shape": "triangle", "arrow-scale": 0.7, "curve-style": "bezier",
        },
      },
      {
        // relation names matter for entities; brand/category edges speak through colour
        selector: "edge[type = 'HAS_ENTITY'], edge:selected, edge.hover",
        style: {
          label: "data(label)", "font-size": 10, color: "#5d6676", "text-rotation": "autorotate",
          "text-background-color": "#fbfcfe", "text-background-opacity": 1,
        },
      },
      { selector: "edge[type = 'SIMILAR']", style: { "line-style": "dashed", "line-color": "#8fa9e0", "target-arrow-color": "#8fa9e0" } },
      { selector: "node:selected", style: { "border-width": 3, "border-color": "#f2c94c" } },
    ];
  }

  async function openGraph(itemId) {
    clearMessage();
    let data;
    try {
      data = await busy(null, () =>
        api("GET", `/items/${encodeURIComponent(itemId)}/neighbourhood?similar=8&limit=40`));
    } catch (err) {
      showMessage(describe(err));
      return null;
    }
    state.graphItem = itemId;
    for (const c of document.querySelectorAll(".card")) {
      c.classList.toggle("selected", c.dataset.id === itemId);
    }
    $("graph-panel").hidden = false;
    document.querySelector(".layout").classList.add("with-graph");
    $("graph-title").textContent = `Neighbourhood of ${data.title}`;
    const notes = [...data.notes];
    if (data.truncated) notes.push("Some links are left out (the answer is bounded).");
    $("graph-notes").replaceChildren(...notes.map((n) => el("div", {}, n)));
    drawGraph(data);
    showNode(data.nodes.find((n) => n.role === "centre"));
    return data;
  }

  function drawGraph(data) {
    const elements = [
      ...data.nodes.map((n) => ({
        group: "nodes",
        data: { ...n, short: n.name.length > 32 ? `${n.name.slice(0, 30)}…` : n.name },
      })),
      ...data.edges.map((e, i) => ({
        group: "edges",
        data: { id: `e${i}`, source: e.source, target: e.target, type: e.type, label: e.label },
      })),
    ];
    // rings: the product; its brand, categories and entities; the similar products
    const ring = (n) => (n.data("role") === "centre" ? 3 : n.data("role") === "similar" ? 1 : 2);
    if (state.cy) state.cy.destroy();
    state.cy = cytoscape({
      container: $("graph-canvas"),
      elements,
      style: graphStyle(),
      layout: {
        name: "concentric", concentric: ring, levelWidth: () => 1,
        minNodeSpacing: 60, animate: false, padding: 12,
      },
      minZoom: 0.3,
      maxZoom: 3,
    });
    window.cy = state.cy;
    state.cy.on("tap", "node", (ev) => onNodeTap(ev.target.data()));
    state.cy.on("mouseover", "edge", (ev) => ev.target.addClass("hover"));
    state.cy.on("mouseout", "edge", (ev) => ev.target.removeClass("hover"));
  }

  function showNode(n) {
    if (!n) return;
    const what = n.label === "Product" ? (n.role === "similar" ? "similar product" : "product")
      : n.label.toLowerCase();
    $("node-info").replaceChildren(
      el("b", {}, n.name), ` — ${what} `, el("code", {}, n.key),
      n.kind ? ` (${n.kind})` : "",
      typeof n.score === "number" ? ` · similarity ${n.score.toFixed(3)}` : "",
    );
  }

  function onNodeTap(n) {
    showNode(n);
    if (n.label === "Product" && n.key !== state.graphItem) openGraph(n.key);
    else if (n.label === "Brand") filterBy("brand", n.key);
    else if (n.label === "Category") filterBy("category", n.key);
  }

  function closeGraph() {
    $("graph-panel").hidden = true;
    document.querySelector(".layout").classList.remove("with-graph");
    state.graphItem = null;
    if (state.cy) { state.cy.destroy(); state.cy = null; window.cy = null; }
    for (const c of document.querySelectorAll(".card.selected")) c.classList.remove("selected");
  }

  // Adding a product -------------------------------------------------------------------
  function newProduct() {
    const item = {
      id: $("new-id").value.trim(),
      title: $("new-title").value.trim(),
      in_stock: $("new-in-stock").checked,
    };
    const description = $("new-description").value.trim();
    const price = $("new-price").value.trim();
    const brand = $("new-brand").value.trim();
    const category = $("new-category").value.trim();
    if (description) item.description = description;
    if (price !== "") item.price = Number(price);
    if (brand) item.brand_id = brand;
    if (category) item.category_ids = [category];
    return item;
  }

  async function addProduct() {
    clearMessage();
    const item = newProduct();
    let answer;
    try {
      answer = await busy(
        $("add"), () => api("POST", "/items", { body: { items: [item] }, write: "add products" }),
      );
    } catch (err) {
      showMessage(describe(err));
      return;
    }
    state.added.add(item.id);
    loadHealth();
    const ranked = await rank({ keepMessage: true });
    let where = "";
    if (ranked) {
      const at = ranked.items.findIndex((it) => it.id === item.id);
      where = at >= 0
        ? ` It ranks #${at + 1} in the list below.`
        : " It is not in the top results of this ranking: search for its title to see it.";
      const cardNode = document.querySelector(`.card[data-id="${CSS.escape(item.id)}"]`);
      if (cardNode) cardNode.scrollIntoView({ block: "nearest" });
    }
    showMessage(
      `Added ${answer.added.join(", ")} (artifacts ${answer.artifact_version}, `
      + `${answer.items_served} products served).${where}`,
      "ok",
    );
  }

  // Declaring a shopper ------------------------------------------------------------
  function declaredAttributes(text) {
    // "name: value" per line; a number stays a number (PUT /users keeps its type),
    // but not one with a leading zero (a zip code "02138") or more than 15 digits
    // (an id JavaScript's numbers cannot hold exactly): those stay text
    const attributes = {};
    const lines = text.split("\n");
    for (let i = 0; i < lines.length; i += 1) {
      const line = lines[i].trim();
      if (!line) continue;
      const at = line.indexOf(":");
      if (at <= 0) throw new ApiError(0, `Attributes, line ${i + 1}: write it as name: value`);
      const name = line.slice(0, at).trim();
      const value = line.slice(at + 1).trim();
      const numeric = /^-?(0|[1-9]\d*)(\.\d+)?$/.test(value) && value.replace(/\D/g, "").length <= 15;
      attributes[name] = numeric ? Number(value) : value;
    }
    return attributes;
  }

  async function declareShopper() {
    clearMessage();
    const id = $("shopper-id").value.trim();
    let answer;
    try {
      const attributes = declaredAttributes($("shopper-attributes").value);
      answer = await busy($("declare"), () => api(
        "PUT", `/users/${encodeURIComponent(id)}`,
        { body: { attributes }, write: "declare shoppers" },
      ));
    } catch (err) {
      showMessage(describe(err));
      return;
    }
    $("user").value = id;
    const ranked = await rank({ keepMessage: true });
    if (!ranked) return;  // its error stays shown
    const peers = answer.peers
      ? `its ${answer.peers} most alike shoppers order its list until it has events`
      : "this artifact version has no peer popularity to weigh it with";
    showMessage(
      `${answer.created ? "Declared" : "Updated"} shopper ${id} (${peers}); ranked for it below.`,
      "ok",
    );
  }

  // Wiring -------------------------------------------------------------------------
  function init() {
    $("search-form").addEventListener("submit", (ev) => { ev.preventDefault(); rank(); });
    $("search-form").addEventListener("reset", () => {
      clearMessage();
      setTimeout(() => { $("k").value = "10"; }, 0);
    });
    $("add-form").addEventListener("submit", (ev) => { ev.preventDefault(); addProduct(); });
    $("shopper-form").addEventListener("submit", (ev) => { ev.preventDefault(); declareShopper(); });
    $("graph-close").addEventListener("click", closeGraph);
    window.kgrecExplorer = { state, rank, openGraph, closeGraph };
    loadHealth();
    loadFacets();
    rank();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
