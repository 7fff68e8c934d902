// The shop console: the live-selling application and its state, members, products and SKUs, rooms with
// their reports (charts over time drawn by uPlot, loaded by the page shell as the global `uPlot`),
// orders (filters, shipping one by one and in bulk, history) and room admins. Operators get the
// controls; a shop's streamers read. The server refuses whatever a caller may not do.

import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { api, session } from "../lib/api.js";
import { t, formatTime, formatCount } from "../lib/i18n.js";
import { formatMoney, parseMoney, toDecimal } from "../lib/money.js";
import { html, mount, Header, RoleGate, useLoad, useAction, useInterval, ErrorLine, Status } from "../lib/ui.js";

const CURRENCIES = ["CNY", "USD", "EUR", "HKD", "JPY"];
const ORDER_STATES = ["pending_payment", "paid", "shipped", "delivered", "completed", "cancelled", "closed"];
const FINAL_ROOMS = ["ended", "force_ended", "cancelled"];
const TABS = ["shop", "members", "products", "rooms", "orders", "admins"];
const OPERATOR_TABS = ["orders"];
const LIVE_REPORT_MS = 5000;

// ---- small pieces --------------------------------------------------------------------------------

function params() {
  return Object.fromEntries(new URLSearchParams(location.search));
}

// keep the console's place (shop, tab, room) in the address, so a reload or a link comes back to it
function setParams(next) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(next)) if (v !== undefined && v !== null && v !== "") q.set(k, v);
  history.replaceState(null, "", location.pathname + (q.toString() ? "?" + q : ""));
}

function known(key, fallback) {
  const s = t(key);
  return s === key ? fallback : s;
}

function roleName(role) {
  return known("role." + role, role);
}

function Field({ label, children }) {
  return html`<label><span>${label}</span>${children}</label>`;
}

function Input({ value, set, ...rest }) {
  return html`<input value=${value} onInput=${(e) => set(e.target.value)} ...${rest} />`;
}

function RoomBadge({ state }) {
  return html`<span class=${"badge room-" + state} data-status=${state}>${t("room.state." + state)}</span>`;
}

// "colour=red, size=M" <-> {colour: "red", size: "M"}; null when a part has no "="
function parseAttributes(text) {
  const out = {};
  for (const part of text.split(/[,，;]/)) {
    const p = part.trim();
    if (!p) continue;
    const at = p.indexOf("=");
    if (at < 1 || at === p.length - 1) return null;
    out[p.slice(0, at).trim()] = p.slice(at + 1).trim();
  }
  return out;
}

function attributesText(attrs) {
  return Object.entries(attrs || {}).map(([k, v]) => `${k}=${v}`).join(", ");
}

function History({ load, states, testid }) {
  const [rows, error] = useLoad(load, []);
  return html`<div class="shop-history" data-testid=${testid}>
    <${ErrorLine} error=${error} />
    ${rows && !rows.items.length && html`<p class="muted">${t("common.none")}</p>`}
    ${rows &&
    rows.items.length > 0 &&
    html`<div class="shop-scroll"><table>
      <thead><tr><th>${t("shop.when")}</th><th>${t("shop.who")}</th><th>${t("shop.role")}</th><th>${t("shop.from")}</th><th>${t("shop.to")}</th><th>${t("common.reason")}</th></tr></thead>
      <tbody>${rows.items.map(
        (r) => html`<tr data-testid="history-row">
          <td>${formatTime(r.at)}</td><td>${r.actor_id}</td><td>${roleName(r.actor_role)}</td>
          <td>${r.from_state ? known(states + r.from_state, r.from_state) : "—"}</td>
          <td data-to=${r.to_state}>${known(states + r.to_state, r.to_state)}</td><td>${r.reason || ""}</td>
        </tr>`,
      )}</tbody>
    </table></div>`}
  </div>`;
}

// ---- the application ------------------------------------------------------------------------------

const APPLICATION_FIELDS = ["name", "category", "description", "contact_name", "contact_phone", "business_license_no"];

function ApplyForm({ shop, onDone }) {
  const [conditions, conditionsError] = useLoad(() => api("GET", "/shops/live-conditions"), []);
  const [form, setForm] = useState(() =>
    Object.fromEntries(APPLICATION_FIELDS.map((f) => [f, (shop && shop[f]) || ""])),
  );
  const [accepted, setAccepted] = useState(false);
  const act = useAction();
  const submit = (ev) => {
    ev.preventDefault();
    act.run(async () => {
      const body = { ...form, accepted_conditions_version: conditions.version };
      const got = shop
        ? await api("PUT", `/shops/${shop.id}/application`, { body })
        : await api("POST", "/shops", { body });
      onDone(got);
    });
  };
  return html`<form class="panel" data-testid="apply-form" onSubmit=${submit}>
    <h2>${shop ? t("shop.reapply_title") : t("shop.apply_title")}</h2>
    <p class="muted">${t("shop.apply_hint")}</p>
    <${ErrorLine} error=${conditionsError} />
    ${conditions &&
    html`<div class="shop-conditions" data-testid="conditions">
      <h3>${t("shop.conditions", { version: conditions.version })}</h3>
      <ol>${conditions.conditions.map((c) => html`<li data-code=${c.code}>${known("shop.condition." + c.code, c.text)}</li>`)}</ol>
    </div>`}
    <div class="shop-grid">
      ${APPLICATION_FIELDS.map(
        (f) => html`<${Field} label=${t("shop.field." + f)}>
          ${f === "description"
            ? html`<textarea name=${f} rows="3" value=${form[f]} onInput=${(e) => setForm({ ...form, [f]: e.target.value })}></textarea>`
            : html`<${Input} name=${f} value=${form[f]} set=${(v) => setForm({ ...form, [f]: v })} required=${f !== "description"} />`}
        </${Field}>`,
      )}
    </div>
    <label class="row"><input type="checkbox" name="accept" checked=${accepted} onChange=${(e) => setAccepted(e.target.checked)} />
      ${t("shop.accept")}</label>
    <${ErrorLine} error=${act.error} />
    <button class="primary" type="submit" data-testid="apply" disabled=${!accepted || !conditions || act.busy}>
      ${shop ? t("shop.reapply") : t("shop.apply")}
    </button>
  </form>`;
}

function Qualification({ shopId, operator }) {
  const [shop, error, reload] = useLoad(() => api("GET", `/shops/${shopId}`), [shopId]);
  const [round, setRound] = useState(0); // a new decision: history again
  if (!shop) return html`<${ErrorLine} error=${error} />${!error && html`<p class="muted">${t("common.loading")}</p>`}`;
  return html`<section data-testid="qualification">
    <div class="panel">
      <div class="row"><h2 class="grow">${t("shop.qualification")}</h2>
        <span data-testid="shop-status"><${Status} kind="shop" value=${shop.live_status} /></span>
        <button class="small" data-testid="refresh-shop" onClick=${() => { reload(); setRound(round + 1); }}>${t("common.refresh")}</button>
      </div>
      <p class="muted">${t("shop.status_hint." + shop.live_status)}</p>
      ${shop.status_reason && html`<p data-testid="status-reason">${t("common.reason")}: ${shop.status_reason}</p>`}
      <dl class="shop-facts">
        <dt>${t("shop.field.category")}</dt><dd>${shop.category}</dd>
        ${shop.description && html`<dt>${t("shop.field.description")}</dt><dd>${shop.description}</dd>`}
        ${shop.contact_name && html`<dt>${t("shop.field.contact_name")}</dt><dd>${shop.contact_name} · ${shop.contact_phone}</dd>`}
        ${shop.business_license_no && html`<dt>${t("shop.field.business_license_no")}</dt><dd>${shop.business_license_no}</dd>`}
        <dt>${t("shop.applied_at")}</dt><dd>${formatTime(shop.created_at)}</dd>
      </dl>
    </div>
    ${operator && shop.live_status === "rejected" &&
    html`<${ApplyForm} shop=${shop} onDone=${() => { reload(); setRound(round + 1); }} />`}
    <h3>${t("shop.history")}</h3>
    <${History} key=${round} testid="shop-history" states="shop.status." load=${() => api("GET", `/shops/${shopId}/history`)} />
  </section>`;
}

// ---- members --------------------------------------------------------------------------------------

function Members({ shopId, operator }) {
  const [members, error, reload] = useLoad(() => api("GET", `/shops/${shopId}/members`), [shopId]);
  const [userId, setUserId] = useState("");
  const [role, setRole] = useState("streamer");
  const act = useAction();
  const add = (ev) => {
    ev.preventDefault();
    act.run(async () => {
      await api("POST", `/shops/${shopId}/members`, { body: { user_id: userId.trim(), role } });
      setUserId("");
      reload();
    });
  };
  const remove = (m) =>
    act.run(async () => {
      if (!confirm(t("shop.remove_member_confirm", { user: m.user_id }))) return;
      await api("DELETE", `/shops/${shopId}/members/${encodeURIComponent(m.user_id)}`);
      reload();
    });
  return html`<section data-testid="members">
    <${ErrorLine} error=${error} />
    <ul class="shop-list">${members &&
      members.items.map(
        (m) => html`<li class="row" data-testid="member" data-user=${m.user_id}>
          <b class="grow">${m.user_id}</b>
          <span class="badge">${t("shop.member_role." + m.role)}</span>
          <span class="muted shop-note">${t("shop.added_by", { user: m.added_by, at: formatTime(m.added_at) })}</span>
          ${operator && m.user_id !== session.user.id &&
          html`<button class="small" data-testid="remove-member" onClick=${() => remove(m)}>${t("shop.remove")}</button>`}
        </li>`,
      )}</ul>
    ${operator &&
    html`<form class="panel row" data-testid="add-member" onSubmit=${add}>
      <${Field} label=${t("shop.user_id")}><${Input} name="user_id" value=${userId} set=${setUserId} required /></${Field}>
      <${Field} label=${t("shop.role")}>
        <select name="role" value=${role} onChange=${(e) => setRole(e.target.value)}>
          <option value="streamer">${t("shop.member_role.streamer")}</option>
          <option value="operator">${t("shop.member_role.operator")}</option>
        </select>
      </${Field}>
      <button class="primary" type="submit" disabled=${!userId.trim() || act.busy}>${t("shop.add_member")}</button>
    </form>`}
    <${ErrorLine} error=${act.error} />
  </section>`;
}

// ---- products and SKUs ----------------------------------------------------------------------------

function blankSku() {
  return { attributes: "", price: "", stock: "10", code: "" };
}

// a SKU's form values as the API takes them, or an error to show
function skuBody(row, currency) {
  const attributes = parseAttributes(row.attributes);
  if (attributes === null) return { error: { code: "shop_bad_attributes", message: t("shop.bad_attributes") } };
  const price = parseMoney(row.price, currency);
  if (price === null) return { error: { code: "shop_bad_price", message: t("shop.bad_price", { text: row.price }) } };
  const stock = Number.parseInt(row.stock, 10);
  if (!/^\d+$/.test(String(row.stock).trim())) return { error: { code: "shop_bad_stock", message: t("shop.bad_stock") } };
  return { body: { attributes, price_minor: price, stock, code: row.code.trim() } };
}

function SkuInputs({ row, set, currency, onRemove }) {
  return html`<div class="row shop-sku-in" data-testid="sku-input">
    <${Field} label=${t("shop.sku.attributes")}><${Input} name="attributes" placeholder="colour=red, size=M" value=${row.attributes} set=${(v) => set({ ...row, attributes: v })} /></${Field}>
    <${Field} label=${t("shop.sku.price", { currency })}><${Input} name="price" inputmode="decimal" value=${row.price} set=${(v) => set({ ...row, price: v })} required /></${Field}>
    <${Field} label=${t("shop.sku.stock")}><${Input} name="stock" inputmode="numeric" value=${row.stock} set=${(v) => set({ ...row, stock: v })} required /></${Field}>
    <${Field} label=${t("shop.sku.code")}><${Input} name="code" value=${row.code} set=${(v) => set({ ...row, code: v })} /></${Field}>
    ${onRemove && html`<button type="button" class="small" onClick=${onRemove}>${t("shop.remove")}</button>`}
  </div>`;
}

function NewProduct({ shopId, onDone }) {
  const [p, setP] = useState({ title: "", category: "", currency: "CNY", description: "", image: "" });
  const [skus, setSkus] = useState([blankSku()]);
  const act = useAction();
  const submit = (ev) => {
    ev.preventDefault();
    act.run(async () => {
      const bodies = skus.map((s) => skuBody(s, p.currency));
      const bad = bodies.find((b) => b.error);
      if (bad) throw bad.error;
      const body = {
        title: p.title.trim(),
        category: p.category.trim(),
        currency: p.currency,
        description: p.description,
        images: p.image.trim() ? [p.image.trim()] : [],
        skus: bodies.map((b) => b.body),
      };
      await api("POST", `/shops/${shopId}/products`, { body });
      onDone();
    });
  };
  return html`<form class="panel" data-testid="new-product" onSubmit=${submit}>
    <h3>${t("shop.new_product")}</h3>
    <div class="shop-grid">
      <${Field} label=${t("shop.product.title")}><${Input} name="title" value=${p.title} set=${(v) => setP({ ...p, title: v })} required /></${Field}>
      <${Field} label=${t("shop.product.category")}><${Input} name="category" value=${p.category} set=${(v) => setP({ ...p, category: v })} required /></${Field}>
      <${Field} label=${t("shop.product.currency")}>
        <select name="currency" value=${p.currency} onChange=${(e) => setP({ ...p, currency: e.target.value })}>
          ${CURRENCIES.map((c) => html`<option value=${c}>${c}</option>`)}
        </select>
      </${Field}>
      <${Field} label=${t("shop.product.image")}><${Input} name="image" type="url" placeholder="https://" value=${p.image} set=${(v) => setP({ ...p, image: v })} /></${Field}>
    </div>
    <${Field} label=${t("shop.product.description")}>
      <textarea name="description" rows="2" value=${p.description} onInput=${(e) => setP({ ...p, description: e.target.value })}></textarea>
    </${Field}>
    <h3>${t("shop.skus")}</h3>
    ${skus.map(
      (s, i) => html`<${SkuInputs} key=${i} row=${s} currency=${p.currency}
        set=${(v) => setSkus(skus.map((x, j) => (j === i ? v : x)))}
        onRemove=${skus.length > 1 ? () => setSkus(skus.filter((_, j) => j !== i)) : null} />`,
    )}
    <div class="row">
      <button type="button" data-testid="add-sku-row" onClick=${() => setSkus([...skus, blankSku()])}>${t("shop.add_sku")}</button>
      <span class="grow"></span>
      <button class="primary" type="submit" data-testid="create-product" disabled=${act.busy}>${t("shop.create_product")}</button>
    </div>
    <${ErrorLine} error=${act.error} />
  </form>`;
}

function SkuRow({ product, sku, operator, onSaved }) {
  const [price, setPrice] = useState(toDecimal(sku.price_minor, product.currency));
  const [stock, setStock] = useState(String(sku.stock));
  const act = useAction();
  const save = () =>
    act.run(async () => {
      const minor = parseMoney(price, product.currency);
      if (minor === null) throw { code: "shop_bad_price", message: t("shop.bad_price", { text: price }) };
      if (!/^\d+$/.test(stock.trim())) throw { code: "shop_bad_stock", message: t("shop.bad_stock") };
      const body = {};
      if (minor !== sku.price_minor) body.price_minor = minor;
      if (Number(stock) !== sku.stock) body.stock = Number(stock);
      if (Object.keys(body).length) await api("PATCH", `/products/${product.id}/skus/${sku.id}`, { body });
      onSaved();
    });
  return html`<tr data-testid="sku" data-sku=${sku.id}>
    <td>${attributesText(sku.attributes) || "—"}</td>
    <td class="muted">${sku.code}</td>
    ${operator
      ? html`<td><input class="shop-num" name="price" inputmode="decimal" value=${price} onInput=${(e) => setPrice(e.target.value)} /></td>
          <td><input class="shop-num" name="stock" inputmode="numeric" value=${stock} onInput=${(e) => setStock(e.target.value)} /></td>
          <td><button class="small" data-testid="save-sku" disabled=${act.busy} onClick=${save}>${t("common.save")}</button>
            <${ErrorLine} error=${act.error} /></td>`
      : html`<td data-testid="sku-price">${formatMoney(sku.price_minor, product.currency)}</td><td>${sku.stock}</td><td></td>`}
  </tr>`;
}

function ProductCard({ product, operator, onChanged }) {
  const [editing, setEditing] = useState(false);
  const [form, setForm] = useState({ title: product.title, category: product.category, description: product.description });
  const [newSku, setNewSku] = useState(null);
  const act = useAction();
  const prices = product.skus.map((s) => s.price_minor);
  const low = Math.min(...prices);
  const high = Math.max(...prices);
  const saveProduct = (ev) => {
    ev.preventDefault();
    act.run(async () => {
      await api("PATCH", `/products/${product.id}`, { body: form });
      setEditing(false);
      onChanged();
    });
  };
  const addSku = () =>
    act.run(async () => {
      const b = skuBody(newSku, product.currency);
      if (b.error) throw b.error;
      await api("POST", `/products/${product.id}/skus`, { body: b.body });
      setNewSku(null);
      onChanged();
    });
  const setStatus = (status) =>
    act.run(async () => {
      await api("POST", `/products/${product.id}/status`, { body: { status } });
      onChanged();
    });
  return html`<article class="panel shop-product" data-testid="product" data-product=${product.id}>
    <div class="row">
      ${product.images[0] && html`<img class="shop-thumb" src=${product.images[0]} alt="" />`}
      <div class="grow">
        <b data-testid="product-title">${product.title}</b>
        <div class="muted shop-note">${product.category} · <span data-testid="product-price">${formatMoney(low, product.currency)}${high !== low ? " – " + formatMoney(high, product.currency) : ""}</span>
          ${product.status === "archived" && html` · <span class="badge">${t("shop.archived")}</span>`}</div>
      </div>
      ${operator &&
      html`<button class="small" data-testid="edit-product" onClick=${() => setEditing(!editing)}>${editing ? t("common.close") : t("shop.edit")}</button>
        ${product.status === "active"
          ? html`<button class="small" data-testid="archive" onClick=${() => setStatus("archived")}>${t("shop.archive")}</button>`
          : html`<button class="small" data-testid="restore" onClick=${() => setStatus("active")}>${t("shop.restore")}</button>`}`}
    </div>
    ${editing &&
    html`<form class="shop-grid" onSubmit=${saveProduct}>
      <${Field} label=${t("shop.product.title")}><${Input} name="title" value=${form.title} set=${(v) => setForm({ ...form, title: v })} /></${Field}>
      <${Field} label=${t("shop.product.category")}><${Input} name="category" value=${form.category} set=${(v) => setForm({ ...form, category: v })} /></${Field}>
      <${Field} label=${t("shop.product.description")}><${Input} name="description" value=${form.description} set=${(v) => setForm({ ...form, description: v })} /></${Field}>
      <div><button class="primary" type="submit" data-testid="save-product" disabled=${act.busy}>${t("common.save")}</button></div>
    </form>`}
    <div class="shop-scroll"><table class="shop-skus">
      <thead><tr><th>${t("shop.sku.attributes")}</th><th>${t("shop.sku.code")}</th><th>${t("shop.sku.price", { currency: product.currency })}</th><th>${t("shop.sku.stock")}</th><th></th></tr></thead>
      <tbody>${product.skus.map(
        (s) => html`<${SkuRow} key=${s.id + ":" + s.price_minor + ":" + s.stock} product=${product} sku=${s} operator=${operator} onSaved=${onChanged} />`,
      )}</tbody>
    </table></div>
    ${operator && editing && !newSku && html`<button class="small" data-testid="new-sku" onClick=${() => setNewSku(blankSku())}>${t("shop.add_sku")}</button>`}
    ${newSku &&
    html`<div><${SkuInputs} row=${newSku} set=${setNewSku} currency=${product.currency} onRemove=${() => setNewSku(null)} />
      <button class="primary small" data-testid="save-new-sku" disabled=${act.busy} onClick=${addSku}>${t("common.save")}</button></div>`}
    <${ErrorLine} error=${act.error} />
  </article>`;
}

function Products({ shopId, operator }) {
  const [archived, setArchived] = useState(false);
  const [adding, setAdding] = useState(false);
  const [page, error, reload] = useLoad(
    () => api("GET", `/shops/${shopId}/products`, { query: { include_archived: archived, limit: 100 } }),
    [shopId, archived],
  );
  return html`<section data-testid="products">
    <div class="row">
      <label class="row grow"><input type="checkbox" checked=${archived} onChange=${(e) => setArchived(e.target.checked)} /> ${t("shop.show_archived")}</label>
      ${operator && html`<button class="primary" data-testid="add-product" onClick=${() => setAdding(!adding)}>${adding ? t("common.cancel") : t("shop.new_product")}</button>`}
    </div>
    ${adding && html`<${NewProduct} shopId=${shopId} onDone=${() => { setAdding(false); reload(); }} />`}
    <${ErrorLine} error=${error} />
    ${page && !page.items.length && html`<p class="muted">${t("shop.no_products")}</p>`}
    ${page && page.items.map((p) => html`<${ProductCard} key=${p.id + p.updated_at + p.skus.length} product=${p} operator=${operator} onChanged=${reload} />`)}
  </section>`;
}

// ---- rooms and reports ----------------------------------------------------------------------------

function useRooms(shopId) {
  return useLoad(
    () => (shopId ? api("GET", "/rooms", { query: { shop_id: shopId, limit: 100 } }) : Promise.resolve(null)),
    [shopId],
  );
}

function Rooms({ shopId, openRoom }) {
  const [rooms, error] = useRooms(shopId);
  return html`<section data-testid="rooms">
    <${ErrorLine} error=${error} />
    ${rooms && !rooms.items.length && html`<p class="muted">${t("shop.no_rooms")}</p>`}
    <ul class="shop-list">${rooms &&
      rooms.items.map(
        (r) => html`<li class="row" data-testid="room" data-room=${r.id}>
          <${RoomBadge} state=${r.state} />
          <b class="grow">${r.title}</b>
          <span class="muted shop-note">${formatTime(r.started_at || r.scheduled_at)}</span>
          <a class="button small" href=${"/live/" + r.id}>${t("shop.watch")}</a>
          <button class="small primary" data-testid="open-report" onClick=${() => openRoom(r.id)}>${t("shop.report")}</button>
        </li>`,
      )}</ul>
  </section>`;
}

const MINUTE_STEPS = [60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400];
const CLOCK = { hour: "2-digit", minute: "2-digit" };

// one series over time, drawn by uPlot; the minutes with nothing read as zero
function Chart({ testid, title, xs, ys, color, currency }) {
  const box = useRef(null);
  useEffect(() => {
    const el = box.current;
    if (!el || typeof uPlot === "undefined") return undefined;
    const label = currency
      ? (v) => formatMoney(Math.round(v), currency)
      : (v) => (Number.isInteger(v) ? formatCount(v) : "");
    const opts = {
      width: Math.max(240, el.clientWidth),
      height: 170,
      legend: { show: false },
      // one minute alone still gets a minute either side, not uPlot's guess of a range
      // and the counts and money rise from zero
      scales: {
        x: { time: true, auto: false, range: xs.length > 1 ? [xs[0], xs[xs.length - 1]] : [xs[0] - 60, xs[0] + 60] },
        y: { range: (u, lo, hi) => [0, hi > 0 ? hi * 1.15 : 1] },
      },
      series: [{}, { label: title, stroke: color, fill: color + "30", width: 2, points: { show: xs.length < 30 } }],
      axes: [
        { stroke: "#6b6b70", incrs: MINUTE_STEPS, values: (u, ticks) => ticks.map((v) => formatTime(v * 1000, CLOCK)) },
        { stroke: "#6b6b70", size: currency ? 70 : 40, values: (u, ticks) => ticks.map(label) },
      ],
    };
    const plot = new uPlot(opts, [xs, ys], el);
    const resize = new ResizeObserver(() => plot.setSize({ width: Math.max(240, el.clientWidth), height: 170 }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      plot.destroy();
    };
  }, [xs, ys, title, currency]);
  return html`<div class="panel shop-chart" data-testid=${testid}><h3>${title}</h3><div ref=${box}></div></div>`;
}

// the per-minute series with the quiet minutes filled in, as uPlot's columns (x in seconds)
function columns(series) {
  const at = new Map(series.map((p) => [Math.floor(Date.parse(p.minute) / 1000), p]));
  const keys = [...at.keys()].sort((a, b) => a - b);
  const xs = [];
  const cols = { viewers: [], orders: [], gmv: [] };
  if (!keys.length) return { xs, ...cols };
  for (let x = keys[0]; x <= keys[keys.length - 1]; x += 60) {
    const p = at.get(x);
    xs.push(x);
    cols.viewers.push(p ? p.viewers : 0);
    cols.orders.push(p ? p.orders : 0);
    cols.gmv.push(p ? p.gmv_minor : 0);
  }
  return { xs, ...cols };
}

function Figure({ id, label, value }) {
  return html`<div class="figure" data-testid=${"fig-" + id}><b>${value}</b><span>${label}</span></div>`;
}

function duration(seconds) {
  if (seconds === null || seconds === undefined) return "—";
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  return h ? t("shop.hm", { h, m }) : m ? t("shop.ms", { m, s }) : t("shop.s", { s });
}

function Report({ roomId, back }) {
  const [report, error, reload] = useLoad(() => api("GET", `/rooms/${roomId}/report`), [roomId]);
  useInterval(reload, report && report.state === "live" ? LIVE_REPORT_MS : 0);
  const seriesKey = report ? JSON.stringify(report.series) : "";
  const cols = useMemo(() => (report ? columns(report.series) : null), [seriesKey]);
  if (!report) return html`<button class="link" onClick=${back}>← ${t("common.back")}</button><${ErrorLine} error=${error} />`;
  const cur = report.currency || "CNY";
  const a = report.audience || { online: 0, peak: 0, unique_viewers: 0, likes: 0 };
  return html`<section data-testid="report" data-room=${report.room_id}>
    <button class="link" data-testid="back" onClick=${back}>← ${t("shop.rooms")}</button>
    <div class="row"><h2 class="grow">${report.title}</h2><${RoomBadge} state=${report.state} />
      <span class="muted shop-note">${report.final ? t("shop.final") : t("shop.provisional")}</span></div>
    <p class="muted shop-note">${formatTime(report.started_at || report.scheduled_at)}${report.ended_at ? " – " + formatTime(report.ended_at) : ""}
      ${" · "}${t("shop.duration")}: ${duration(report.duration_seconds)}</p>
    <${ErrorLine} error=${error} />
    <div class="figures">
      <${Figure} id="orders" label=${t("shop.fig.orders")} value=${formatCount(report.orders)} />
      <${Figure} id="gmv" label=${t("shop.fig.gmv")} value=${formatMoney(report.gmv_minor, cur)} />
      <${Figure} id="units" label=${t("shop.fig.units")} value=${formatCount(report.units)} />
      <${Figure} id="buyers" label=${t("shop.fig.buyers")} value=${formatCount(report.buyers)} />
      <${Figure} id="placed" label=${t("shop.fig.orders_placed")} value=${formatCount(report.orders_placed)} />
      <${Figure} id="conversion" label=${t("shop.fig.conversion")} value=${(report.conversion * 100).toFixed(1) + "%"} />
      <${Figure} id="online" label=${t("shop.fig.online")} value=${formatCount(a.online)} />
      <${Figure} id="peak" label=${t("shop.fig.peak")} value=${formatCount(a.peak)} />
      <${Figure} id="unique" label=${t("shop.fig.unique")} value=${formatCount(a.unique_viewers)} />
      <${Figure} id="likes" label=${t("shop.fig.likes")} value=${formatCount(a.likes)} />
      <${Figure} id="danmaku" label=${t("shop.fig.danmaku")} value=${formatCount(report.danmaku)} />
      <${Figure} id="followers" label=${t("shop.fig.followers")} value=${formatCount(report.new_followers)} />
      <${Figure} id="watch" label=${t("shop.fig.avg_watch")} value=${duration(report.average_watch_seconds)} />
      <${Figure} id="subscribers" label=${t("shop.fig.subscribers")} value=${formatCount(report.subscriber_count)} />
    </div>
    <h3>${t("shop.per_minute")}</h3>
    ${cols && !cols.xs.length && html`<p class="muted" data-testid="no-series">${t("shop.no_series")}</p>`}
    ${cols && cols.xs.length > 0 &&
    html`<div class="shop-charts">
      <${Chart} testid="chart-viewers" title=${t("shop.chart.viewers")} xs=${cols.xs} ys=${cols.viewers} color="#2f6fed" />
      <${Chart} testid="chart-orders" title=${t("shop.chart.orders")} xs=${cols.xs} ys=${cols.orders} color="#12a150" />
      <${Chart} testid="chart-gmv" title=${t("shop.chart.gmv")} xs=${cols.xs} ys=${cols.gmv} color="#e5322d" currency=${cur} />
    </div>`}
    <h3>${t("shop.listings")}</h3>
    <div class="shop-scroll"><table data-testid="report-listings">
      <thead><tr><th>${t("shop.product.title")}</th><th>${t("shop.status")}</th><th>${t("shop.live_price")}</th><th>${t("shop.times_on_sale")}</th>
        <th>${t("shop.fig.orders")}</th><th>${t("shop.fig.orders_placed")}</th><th>${t("shop.fig.units")}</th><th>${t("shop.fig.gmv")}</th><th>${t("shop.fig.buyers")}</th></tr></thead>
      <tbody>${report.listings.map(
        (l) => html`<tr data-testid="report-listing" data-listing=${l.listing_id}>
          <td>${l.title}</td><td><${Status} kind="listing" value=${l.status} /></td>
          <td>${l.live_price_minor === null ? "—" : formatMoney(l.live_price_minor, l.currency)}</td>
          <td>${l.times_on_sale}</td><td>${l.orders}</td><td>${l.orders_placed}</td><td>${l.units}</td>
          <td>${formatMoney(l.gmv_minor, l.currency)}</td><td>${l.buyers}</td>
        </tr>`,
      )}</tbody>
    </table></div>
  </section>`;
}

// ---- orders ---------------------------------------------------------------------------------------

const PAGE = 20;

// a datetime-local value ("2026-12-02T10:00", the browser's zone) as the API's time with its zone
function isoTime(local) {
  if (!local) return undefined;
  const d = new Date(local);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}

function ShipForm({ order, onDone }) {
  const [carrier, setCarrier] = useState("");
  const [tracking, setTracking] = useState("");
  const act = useAction();
  const submit = (ev) => {
    ev.preventDefault();
    act.run(async () => {
      await api("POST", `/orders/${order.id}/ship`, { body: { carrier: carrier.trim(), tracking_no: tracking.trim() } });
      onDone();
    });
  };
  return html`<form class="row shop-ship" data-testid="ship-form" onSubmit=${submit}>
    <${Field} label=${t("shop.carrier")}><${Input} name="carrier" value=${carrier} set=${setCarrier} required /></${Field}>
    <${Field} label=${t("shop.tracking_no")}><${Input} name="tracking_no" value=${tracking} set=${setTracking} required /></${Field}>
    <button class="primary" type="submit" data-testid="confirm-ship" disabled=${act.busy}>${t("shop.ship")}</button>
    <${ErrorLine} error=${act.error} />
  </form>`;
}

function OrderRow({ order, picked, onPick, onChanged }) {
  const [open, setOpen] = useState(null); // "ship" | "history"
  const a = order.address || {};
  return html`<li class="shop-order" data-testid="order" data-order=${order.id} data-status=${order.status}>
    <div class="row">
      ${order.status === "paid" && html`<input type="checkbox" data-testid="pick" checked=${picked} onChange=${(e) => onPick(e.target.checked)} />`}
      <b>#${order.id}</b>
      <span data-testid="order-status"><${Status} kind="order" value=${order.status} /></span>
      <span class="grow">${order.title} ${attributesText(order.sku_attributes) && html`<span class="muted">(${attributesText(order.sku_attributes)})</span>`} × ${order.quantity}</span>
      <b>${formatMoney(order.total_minor, order.currency)}</b>
    </div>
    <div class="muted shop-note">${[
      `${t("shop.buyer")}: ${order.buyer_id}`,
      formatTime(order.created_at),
      order.room_id && t("shop.room_n", { id: order.room_id }),
      `${a.name} ${a.phone}, ${[a.line1, a.line2, a.city, a.region, a.country].filter(Boolean).join(", ")}`,
    ].filter(Boolean).join(" · ")}</div>
    ${order.tracking_no && html`<div class="shop-note" data-testid="tracking">${t("shop.shipped_with", { carrier: order.carrier, no: order.tracking_no })}</div>`}
    <div class="row">
      ${order.status === "paid" && html`<button class="small primary" data-testid="ship" onClick=${() => setOpen(open === "ship" ? null : "ship")}>${t("shop.ship")}</button>`}
      <button class="small" data-testid="order-history" onClick=${() => setOpen(open === "history" ? null : "history")}>${t("shop.history")}</button>
    </div>
    ${open === "ship" && html`<${ShipForm} order=${order} onDone=${() => { setOpen(null); onChanged(); }} />`}
    ${open === "history" && html`<${History} testid="order-history-list" states="order.status." load=${() => api("GET", `/orders/${order.id}/history`)} />`}
  </li>`;
}

function BulkShip({ shopId, ids, onDone }) {
  const [carrier, setCarrier] = useState("");
  const [tracking, setTracking] = useState({});
  const act = useAction();
  const submit = (ev) => {
    ev.preventDefault();
    act.run(async () => {
      const items = ids.map((id) => ({ order_id: id, carrier: carrier.trim(), tracking_no: (tracking[id] || "").trim() }));
      const got = await api("POST", `/shops/${shopId}/orders/ship`, { body: { items } });
      onDone(got.results);
    });
  };
  return html`<form class="panel" data-testid="bulk-ship" onSubmit=${submit}>
    <h3>${t("shop.bulk_ship", { n: ids.length })}</h3>
    <${Field} label=${t("shop.carrier")}><${Input} name="carrier" value=${carrier} set=${setCarrier} required /></${Field}>
    ${ids.map(
      (id) => html`<${Field} label=${t("shop.tracking_for", { id })}>
        <${Input} name=${"tracking_" + id} value=${tracking[id] || ""} set=${(v) => setTracking({ ...tracking, [id]: v })} required />
      </${Field}>`,
    )}
    <button class="primary" type="submit" data-testid="confirm-bulk-ship" disabled=${!ids.length || act.busy}>${t("shop.ship_all")}</button>
    <${ErrorLine} error=${act.error} />
  </form>`;
}

// what bulk shipping did to each order: shipped, or the server's refusal of that one
function BulkResults({ results }) {
  return html`<ul class="shop-list" data-testid="bulk-results">${results.map(
    (r) => html`<li data-order=${r.order_id} data-ok=${String(r.ok)}>#${r.order_id}: ${r.ok ? html`<span class="ok">${t("shop.shipped_ok")}</span>` : html`<${ErrorLine} error=${r.error} />`}</li>`,
  )}</ul>`;
}

function Orders({ shopId, rooms }) {
  const [status, setStatus] = useState(params().status || "");
  const [room, setRoom] = useState(params().room_id || "");
  const [from, setFrom] = useState(""); // datetime-local values, in the browser's zone
  const [to, setTo] = useState("");
  const [offset, setOffset] = useState(0);
  const [picked, setPicked] = useState([]);
  const [bulk, setBulk] = useState(false);
  const [results, setResults] = useState(null);
  const [page, error, reload] = useLoad(
    () =>
      api("GET", `/shops/${shopId}/orders`, {
        query: { status, room_id: room, created_from: isoTime(from), created_to: isoTime(to), offset, limit: PAGE },
      }),
    [shopId, status, room, from, to, offset],
  );
  const filter = (set) => (e) => {
    set(e.target.value);
    setOffset(0);
    setPicked([]);
  };
  return html`<section data-testid="orders">
    <div class="row shop-filters">
      <${Field} label=${t("shop.status")}>
        <select data-testid="filter-status" value=${status} onChange=${filter(setStatus)}>
          <option value="">${t("shop.all")}</option>
          ${ORDER_STATES.map((s) => html`<option value=${s}>${t("order.status." + s)}</option>`)}
        </select>
      </${Field}>
      <${Field} label=${t("shop.room")}>
        <select data-testid="filter-room" value=${room} onChange=${filter(setRoom)}>
          <option value="">${t("shop.all")}</option>
          ${(rooms || []).map((r) => html`<option value=${String(r.id)}>#${r.id} ${r.title}</option>`)}
        </select>
      </${Field}>
      <${Field} label=${t("shop.placed_from")}>
        <input type="datetime-local" data-testid="filter-from" value=${from} onChange=${filter(setFrom)} />
      </${Field}>
      <${Field} label=${t("shop.placed_to")}>
        <input type="datetime-local" data-testid="filter-to" value=${to} onChange=${filter(setTo)} />
      </${Field}>
      <span class="grow"></span>
      <button class="small" onClick=${reload}>${t("common.refresh")}</button>
      <button class="primary" data-testid="open-bulk-ship" disabled=${!picked.length} onClick=${() => setBulk(!bulk)}>${t("shop.bulk_ship", { n: picked.length })}</button>
    </div>
    ${bulk && picked.length > 0 &&
    html`<${BulkShip} key=${picked.join(",")} shopId=${shopId} ids=${picked} onDone=${(got) => {
      setResults(got);
      setPicked(picked.filter((id) => !got.some((r) => r.ok && r.order_id === id)));
      setBulk(false);
      reload();
    }} />`}
    ${results && html`<${BulkResults} results=${results} />`}
    <${ErrorLine} error=${error} />
    ${page && !page.items.length && html`<p class="muted">${t("shop.no_orders")}</p>`}
    <ul class="shop-list">${page &&
      page.items.map(
        (o) => html`<${OrderRow} key=${o.id + o.status} order=${o} picked=${picked.includes(o.id)} onChanged=${reload}
          onPick=${(on) => setPicked(on ? [...picked, o.id] : picked.filter((x) => x !== o.id))} />`,
      )}</ul>
    ${page &&
    page.total > PAGE &&
    html`<div class="row">
      <button class="small" disabled=${offset === 0} onClick=${() => setOffset(Math.max(0, offset - PAGE))}>${t("shop.prev")}</button>
      <span class="muted">${t("shop.page_of", { from: offset + 1, to: Math.min(offset + PAGE, page.total), total: page.total })}</span>
      <button class="small" disabled=${offset + PAGE >= page.total} onClick=${() => setOffset(offset + PAGE)}>${t("shop.next")}</button>
    </div>`}
  </section>`;
}

// ---- room admins ----------------------------------------------------------------------------------

function Admins({ rooms }) {
  const open = (rooms || []).filter((r) => !FINAL_ROOMS.includes(r.state));
  const first = open[0] || (rooms || [])[0];
  const [roomId, setRoomId] = useState(first ? String(first.id) : "");
  const [userId, setUserId] = useState("");
  const [admins, error, reload] = useLoad(
    () => (roomId ? api("GET", `/rooms/${roomId}/admins`) : Promise.resolve({ items: [] })),
    [roomId],
  );
  const act = useAction();
  const add = (ev) => {
    ev.preventDefault();
    act.run(async () => {
      await api("POST", `/rooms/${roomId}/admins`, { body: { user_id: userId.trim() } });
      setUserId("");
      reload();
    });
  };
  const remove = (a) =>
    act.run(async () => {
      await api("DELETE", `/rooms/${roomId}/admins/${encodeURIComponent(a.user_id)}`);
      reload();
    });
  return html`<section data-testid="admins">
    <p class="muted">${t("shop.admins_hint")}</p>
    <${Field} label=${t("shop.room")}>
      <select data-testid="admin-room" value=${roomId} onChange=${(e) => setRoomId(e.target.value)}>
        ${(rooms || []).map((r) => html`<option value=${String(r.id)}>#${r.id} ${r.title} (${t("room.state." + r.state)})</option>`)}
      </select>
    </${Field}>
    <${ErrorLine} error=${error} />
    ${admins && !admins.items.length && html`<p class="muted">${t("shop.no_admins")}</p>`}
    <ul class="shop-list">${admins &&
      admins.items.map(
        (a) => html`<li class="row" data-testid="admin" data-user=${a.user_id}>
          <b class="grow">${a.user_id}</b>
          <span class="muted shop-note">${t("shop.added_by", { user: a.named_by, at: formatTime(a.created_at) })}</span>
          <button class="small" data-testid="remove-admin" onClick=${() => remove(a)}>${t("shop.remove")}</button>
        </li>`,
      )}</ul>
    ${roomId &&
    html`<form class="panel row" data-testid="add-admin" onSubmit=${add}>
      <${Field} label=${t("shop.user_id")}><${Input} name="user_id" value=${userId} set=${setUserId} required /></${Field}>
      <button class="primary" type="submit" disabled=${!userId.trim() || act.busy}>${t("shop.add_admin")}</button>
    </form>`}
    <${ErrorLine} error=${act.error} />
  </section>`;
}

// ---- the console ----------------------------------------------------------------------------------

function Console() {
  const [me, meError, reloadMe] = useLoad(() => api("GET", "/me"), []);
  const [place, setPlace] = useState(params);
  const go = (next) => {
    const p = { shop: place.shop, ...next };
    setParams(p);
    setPlace(p);
  };
  const shops = me ? me.shops : [];
  const mine = shops.find((s) => String(s.shop_id) === place.shop) || shops[0];
  const shopId = mine ? mine.shop_id : null;
  const [rooms] = useRooms(shopId);
  if (!me) return html`<${ErrorLine} error=${meError} />${!meError && html`<p class="muted">${t("common.loading")}</p>`}`;
  if (!mine) {
    if (!session.has("shop_operator"))
      return html`<h1>${t("shop.title")}</h1><div class="panel" data-testid="no-shop"><p>${t("shop.no_shop_streamer")}</p></div>`;
    return html`<h1>${t("shop.title")}</h1><p class="muted" data-testid="no-shop">${t("shop.no_shop")}</p><${ApplyForm} onDone=${reloadMe} />`;
  }
  const operator = mine.role === "operator" && session.has("shop_operator");
  const tabs = TABS.filter((x) => operator || !OPERATOR_TABS.includes(x));
  const tab = tabs.includes(place.tab) ? place.tab : "shop";
  const roomId = tab === "rooms" && place.room ? Number(place.room) : null;
  return html`<div class="row shop-head">
      ${shops.length > 1
        ? html`<select data-testid="shop-pick" value=${String(shopId)} onChange=${(e) => go({ shop: e.target.value, tab })}>
            ${shops.map((s) => html`<option value=${String(s.shop_id)}>${s.name}</option>`)}
          </select>`
        : html`<h1 data-testid="shop-name">${mine.name}</h1>`}
      <span class="grow"></span>
      <${Status} kind="shop" value=${mine.live_status} />
      <span class="badge" data-testid="my-role">${t("shop.member_role." + mine.role)}</span>
    </div>
    <nav class="tabs" data-testid="tabs">
      ${tabs.map(
        (x) => html`<button class=${x === tab ? "on" : ""} data-tab=${x} onClick=${() => go({ shop: String(shopId), tab: x })}>${t("shop.tab." + x)}</button>`,
      )}
    </nav>
    ${tab === "shop" && html`<${Qualification} key=${shopId} shopId=${shopId} operator=${operator} />`}
    ${tab === "members" && html`<${Members} key=${shopId} shopId=${shopId} operator=${operator} />`}
    ${tab === "products" && html`<${Products} key=${shopId} shopId=${shopId} operator=${operator} />`}
    ${tab === "rooms" && !roomId && html`<${Rooms} key=${shopId} shopId=${shopId} openRoom=${(id) => go({ shop: String(shopId), tab, room: String(id) })} />`}
    ${tab === "rooms" && roomId && html`<${Report} key=${roomId} roomId=${roomId} back=${() => go({ shop: String(shopId), tab })} />`}
    ${tab === "orders" && html`<${Orders} key=${shopId} shopId=${shopId} rooms=${rooms && rooms.items} />`}
    ${tab === "admins" && rooms && html`<${Admins} key=${shopId} rooms=${rooms.items} />`}`;
}

function ShopPage() {
  return html`<${Header} />
    <main class="shop-console">
      <${RoleGate} roles=${["shop_operator", "streamer"]}><${Console} /></${RoleGate}>
    </main>`;
}

mount(ShopPage);
