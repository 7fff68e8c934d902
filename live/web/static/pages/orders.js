// The buyer's orders (GET /me/orders), newest first, filtered by status: pay an unpaid one on the
// provider's page (the list is read again every few seconds for a while after, so the payment shows),
// cancel it, confirm receipt of a shipped one. The server decides; refusals are shown.

import { useState } from "preact/hooks";
import { api, apiRetrying } from "../lib/api.js";
import { t, formatTime } from "../lib/i18n.js";
import { formatMoney } from "../lib/money.js";
import { html, mount, Header, RoleGate, useLoad, useAction, useInterval, ErrorLine, Status } from "../lib/ui.js";

const FILTERS = ["", "pending_payment", "paid", "shipped", "delivered", "completed", "cancelled", "closed"];
const PAGE = 20;
const WATCH_MS = 2000; // after "pay", the list is read again this often for a while: the payment lands
const WATCH_FOR_MS = 120000;

function attrs(a) {
  return Object.entries(a || {})
    .map(([k, v]) => `${k}: ${v}`)
    .join(", ");
}

function Order({ order, onChanged, onPaying }) {
  const { busy, error, run, setError } = useAction();
  const move = (path) => run(async () => onChanged(await api("POST", `/orders/${order.id}/${path}`, { body: path === "cancel" ? {} : undefined })));
  const pay = async () => {
    const win = window.open("", "_blank"); // opened while the click counts; sent to the provider's page below
    const c = await run(() => apiRetrying("POST", `/orders/${order.id}/pay`));
    if (c && c.pay_url) {
      onPaying();
      if (win) win.location.href = c.pay_url;
      else location.href = c.pay_url;
    } else {
      if (win) win.close();
      if (c) setError({ code: "no_pay_url", message: t("orders.no_pay_url") });
    }
  };
  const a = order.address || {};
  return html`<li class="panel order" data-testid="order" data-order=${order.id} data-status=${order.status}>
    <div class="row">
      <b class="grow">${order.title}</b>
      <${Status} kind="order" value=${order.status} />
    </div>
    <div class="muted small-text">
      ${t("orders.number", { id: order.id })} · ${formatTime(order.created_at)}
      ${order.room_id && html` · <a href=${"/live/" + order.room_id}>${t("orders.room")}</a>`}
    </div>
    <div class="row">
      <span class="grow">${attrs(order.sku_attributes)} × ${order.quantity}</span>
      <b data-testid="total">${formatMoney(order.total_minor, order.currency)}</b>
    </div>
    ${order.tracking_no && html`<div class="small-text">${t("orders.shipped_with", { carrier: order.carrier, no: order.tracking_no })}</div>`}
    ${a.name && html`<div class="muted small-text">${a.name} · ${a.line1}, ${a.city}</div>`}
    ${order.status === "pending_payment" && html`<div class="muted small-text">${t("orders.pay_by", { at: formatTime(order.pay_by) })}</div>`}
    <div class="row actions">
      ${order.status === "pending_payment" &&
      html`<button class="primary" data-testid="pay" disabled=${busy} onClick=${pay}>${t("orders.pay")}</button>
        <button data-testid="cancel" disabled=${busy} onClick=${() => confirm(t("orders.cancel_sure")) && move("cancel")}>${t("orders.cancel")}</button>`}
      ${(order.status === "shipped" || order.status === "delivered") &&
      html`<button class="primary" data-testid="confirm-receipt" disabled=${busy} onClick=${() => move("confirm-receipt")}>${t("orders.confirm_receipt")}</button>`}
    </div>
    <${ErrorLine} error=${error} />
  </li>`;
}

function Orders() {
  const [status, setStatus] = useState("");
  const [offset, setOffset] = useState(0);
  const [page, error, reload, setPage] = useLoad(
    () => api("GET", "/me/orders", { query: { status: status || undefined, offset, limit: PAGE } }),
    [status, offset],
  );
  const changed = (o) => setPage({ ...page, items: page.items.map((x) => (x.id === o.id ? o : x)) });
  const [watchUntil, setWatchUntil] = useState(0);
  const watching = watchUntil > Date.now() && !!page && page.items.some((o) => o.status === "pending_payment");
  useInterval(reload, watching ? WATCH_MS : null);
  return html`<${Header} />
    <main class="orders-page">
      <${RoleGate} roles=${["viewer"]}>
        <div class="row">
          <h1 class="grow">${t("orders.title")}</h1>
          <button class="small" data-testid="refresh" onClick=${reload}>${t("common.refresh")}</button>
        </div>
        <div class="tabs" role="tablist">
          ${FILTERS.map(
            (f) => html`<button class=${status === f ? "on" : ""} data-filter=${f || "all"} onClick=${() => { setStatus(f); setOffset(0); }}>
              ${f ? t("order.status." + f) : t("orders.all")}
            </button>`,
          )}
        </div>
        <${ErrorLine} error=${error} />
        ${page === undefined && !error && html`<p class="muted">${t("common.loading")}</p>`}
        ${page && !page.items.length && html`<p class="muted" data-testid="no-orders">${t("orders.none")}</p>`}
        <ul class="order-list">${page && page.items.map((o) => html`<${Order} key=${o.id} order=${o} onChanged=${changed} onPaying=${() => setWatchUntil(Date.now() + WATCH_FOR_MS)} />`)}</ul>
        ${page && page.total > PAGE &&
        html`<div class="row">
          <button class="small" disabled=${offset === 0} onClick=${() => setOffset(Math.max(0, offset - PAGE))}>${t("orders.newer")}</button>
          <span class="muted">${t("orders.range", { from: offset + 1, to: Math.min(page.total, offset + PAGE), total: page.total })}</span>
          <button class="small" disabled=${offset + PAGE >= page.total} onClick=${() => setOffset(offset + PAGE)}>${t("orders.older")}</button>
        </div>`}
      </${RoleGate}>
    </main>`;
}

mount(Orders);
